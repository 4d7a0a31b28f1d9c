import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LMDB_MAGIC, LMDB_V1_MAGIC_OFFSET, LMDB_V2_MAGIC_OFFSET } from '@imgstore/core';

/** What the first meta page of an LMDB data file says about it. */
export type LmdbDataFormat = 'v1' | 'v2' | 'not-lmdb' | 'unreadable';

/** A data file inspected in plain JS: its format and, for v1, whether its meta pages fit the file. */
export interface LmdbDataFileCheck {
  format: LmdbDataFormat;
  /** Why a v1 file must not be handed to native code (truncated, inconsistent meta pages), or null. */
  damage: string | null;
}

// Data format v1 meta page (liblmdb 0.9, 64-bit): a 16-byte page header, then MDB_meta. Offsets from the
// page start: page size in the free-list DB's md_pad, last used page number, transaction id.
const META_PAGE_SIZE_OFFSET = 40;
const META_LAST_PAGE_OFFSET = 136;
const META_TXNID_OFFSET = 144;
const META_BYTES = 152;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;

/**
 * Reads the two meta pages of `data.mdb` in plain JS. The native binding is only ever given a v1 file
 * whose newest meta page points inside the file: liblmdb maps the file and reads pages without bounds
 * checks, so a truncated file would kill the process with SIGBUS, and the prebuilt lmdb-js v2 binary
 * crashes on a v1 file (the v1 binary refuses a v2 one); we want a typed error instead.
 */
export function checkLmdbDataFile(dataFile: string): LmdbDataFileCheck {
  const head = Buffer.alloc(META_BYTES);
  let fd: number;
  try {
    fd = openSync(dataFile, 'r');
  } catch {
    return { format: 'unreadable', damage: null };
  }
  try {
    if (readSync(fd, head, 0, head.length, 0) < head.length) return { format: 'not-lmdb', damage: null };
    if (head.readUInt32LE(LMDB_V2_MAGIC_OFFSET) === LMDB_MAGIC && head.readUInt32LE(LMDB_V2_MAGIC_OFFSET + 4) === 2) {
      return { format: 'v2', damage: null };
    }
    if (!isV1Meta(head)) return { format: 'not-lmdb', damage: null };
    const pageSize = head.readUInt32LE(META_PAGE_SIZE_OFFSET);
    if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
      return { format: 'v1', damage: `its meta page gives an impossible page size (${pageSize})` };
    }
    const second = Buffer.alloc(META_BYTES);
    const secondRead = readSync(fd, second, 0, second.length, pageSize);
    // The size is taken after the meta pages: a writer in another process only ever grows the file, and
    // writes the pages a commit needs before its meta page, so this order never sees a false truncation.
    const fileSize = fstatSync(fd).size;
    if (secondRead < second.length || !isV1Meta(second)) {
      return { format: 'v1', damage: `its second meta page is missing or not LMDB (file of ${fileSize} bytes)` };
    }
    // LMDB uses whichever meta page has the newer transaction; that one says how many pages must exist.
    const newest = second.readBigUInt64LE(META_TXNID_OFFSET) > head.readBigUInt64LE(META_TXNID_OFFSET) ? second : head;
    const needed = (newest.readBigUInt64LE(META_LAST_PAGE_OFFSET) + 1n) * BigInt(pageSize);
    if (needed > BigInt(fileSize)) {
      return { format: 'v1', damage: `it is truncated: its meta page needs ${needed} bytes but the file has ${fileSize}` };
    }
    return { format: 'v1', damage: null };
  } catch {
    return { format: 'unreadable', damage: null };
  } finally {
    closeSync(fd);
  }
}

/** The format of an LMDB data file, from its first meta page. */
export function detectLmdbDataFormat(dataFile: string): LmdbDataFormat {
  return checkLmdbDataFile(dataFile).format;
}

function isV1Meta(page: Buffer): boolean {
  return page.readUInt32LE(LMDB_V1_MAGIC_OFFSET) === LMDB_MAGIC && page.readUInt32LE(LMDB_V1_MAGIC_OFFSET + 4) === 1;
}
