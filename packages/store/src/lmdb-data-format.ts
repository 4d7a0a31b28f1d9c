import { closeSync, openSync, readSync } from 'node:fs';
import { LMDB_MAGIC, LMDB_V1_MAGIC_OFFSET, LMDB_V2_MAGIC_OFFSET } from '@imgstore/core';

/** What the first meta page of an LMDB data file says about it. */
export type LmdbDataFormat = 'v1' | 'v2' | 'not-lmdb' | 'unreadable';

/**
 * Reads the first bytes of `data.mdb` in plain JS. The native binding is only ever given a v1 file:
 * the prebuilt lmdb-js v2 binary has been seen to crash the process on a v1 file, and the v1 binary
 * refuses a v2 one; either way we want a typed error instead.
 */
export function detectLmdbDataFormat(dataFile: string): LmdbDataFormat {
  const head = Buffer.alloc(32);
  let fd: number;
  try {
    fd = openSync(dataFile, 'r');
  } catch {
    return 'unreadable';
  }
  try {
    const read = readSync(fd, head, 0, head.length, 0);
    if (read < head.length) return 'not-lmdb';
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
  if (head.readUInt32LE(LMDB_V1_MAGIC_OFFSET) === LMDB_MAGIC && head.readUInt32LE(LMDB_V1_MAGIC_OFFSET + 4) === 1) {
    return 'v1';
  }
  if (head.readUInt32LE(LMDB_V2_MAGIC_OFFSET) === LMDB_MAGIC && head.readUInt32LE(LMDB_V2_MAGIC_OFFSET + 4) === 2) {
    return 'v2';
  }
  return 'not-lmdb';
}
