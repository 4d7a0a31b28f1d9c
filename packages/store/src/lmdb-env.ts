import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { loadLmdbForWriting, tryLoadLmdb } from './load-lmdb.js';
import { DB_META, DB_RECORDS, DB_REJECTS, MAX_DBS } from '@imgstore/core';

/** lmdb-js reads with an explicit read transaction (its code takes `options`; its 2.6.8 typings omit it). */
export interface ReadOptions {
  transaction: unknown;
}

type BinaryDatabase = Database<Buffer, Buffer> & {
  getBinaryFast(key: Buffer, options?: ReadOptions): Uint8Array | undefined;
  getBinary(key: Buffer, options?: ReadOptions): Buffer | undefined;
};

/** The three named databases of a store, all with binary keys and values. */
export interface StoreDatabases {
  env: RootDatabase;
  meta: BinaryDatabase;
  records: BinaryDatabase;
  rejects: BinaryDatabase;
}

const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;

/**
 * Opens a store folder for writing with lmdb-js (data format v1 build). Throws lmdb's own errors.
 * `mapSize` caps how large the data file may grow while open.
 */
export function openWriterDatabases(path: string, mapSize: number): StoreDatabases {
  return openFolder(path, false, mapSize);
}

/**
 * Read-only environments of this thread, one per data file (device, inode). lmdb-js 2.6.8-v1 cannot have
 * two environments on one file in a thread: large values are views into memory-map buffers that lmdb-js
 * tracks by id process-wide, and reading through a second environment detaches the first one's buffer
 * (its next read throws "detached ArrayBuffer"). It also never really closes an environment (its close
 * skips mdb_env_close, leaving two file descriptors and the map), so reopening would leak. Every reader of
 * a file in this thread shares its environment, each with its own read transaction (snapshot).
 */
const readerEnvs = new Map<string, StoreDatabases>();

/**
 * Address space a reader maps: a store being written by another process grows into it without a new
 * environment. Address space only on Linux and macOS; Windows maps read-only files at their size.
 */
const READER_MAP_SIZE = process.platform === 'win32' ? undefined : 2 ** 40;

function fileKey(path: string): string {
  const { dev, ino } = statSync(join(path, 'data.mdb'));
  return `${dev}:${ino}`;
}

/** The shared read-only databases of the store folder `path`. Never close them. */
export function openReaderDatabases(path: string): StoreDatabases {
  const key = fileKey(path);
  let dbs = readerEnvs.get(key);
  if (!dbs) {
    dbs = openReadOnly(path);
    readerEnvs.set(key, dbs);
  }
  return dbs;
}

/**
 * Drops the shared reader environment of `path` (a writer of this thread changed the file through its
 * own environment, and lmdb-js then fails reads through the old one with EINVAL); the next reader opens
 * a fresh one. Readers still holding the old environment keep their snapshot.
 */
export function forgetReaderDatabases(path: string): void {
  try {
    readerEnvs.delete(fileKey(path));
  } catch {
    // no data file: nothing cached
  }
}

function openReadOnly(path: string): StoreDatabases {
  try {
    return openFolder(path, true, READER_MAP_SIZE);
  } catch (error) {
    if (!isPermissionError(error)) throw error;
  }
  // LMDB readers write their slot into lock.mdb, so a store in a folder that this process may not write
  // (a read-only copy, a shared dataset, an inference image) fails to open; lmdb-js does not expose
  // MDB_NOLOCK. A finished store has no writer to coordinate with, so read it through a private folder
  // holding a symlink to its data file and a lock file of our own, removed when the process exits.
  const privateFolder = mkdtempSync(join(tmpdir(), 'imgstore-readonly-'));
  const cleanup = () => rmSync(privateFolder, { recursive: true, force: true });
  try {
    symlinkSync(resolve(path, 'data.mdb'), join(privateFolder, 'data.mdb'));
    const dbs = openFolder(privateFolder, true, READER_MAP_SIZE);
    process.once('exit', cleanup);
    return dbs;
  } catch (error) {
    cleanup();
    throw error;
  }
}

function openFolder(path: string, readOnly: boolean, mapSize?: number): StoreDatabases {
  // noSubdir: false, always: lmdb-js would otherwise treat `train.lmdb` (a path with an extension) as a file.
  const lmdb = readOnly ? tryLoadLmdb() : loadLmdbForWriting(path);
  if (!lmdb) throw new Error('lmdb-js cannot load on this platform');
  const env = lmdb.open({ path, noSubdir: false, maxDbs: MAX_DBS, readOnly, ...binary, ...(mapSize ? { mapSize } : {}) }) as RootDatabase;
  // lmdb-js creates named databases only when not read-only (`create` is missing from its types).
  const db = (name: string) => {
    const opened = env.openDB({ name, ...binary }) as unknown as BinaryDatabase | undefined;
    // Read-only, lmdb-js gives undefined for a named database the file does not have.
    if (!opened) throw new Error(`it has no "${name}" database`);
    return opened;
  };
  return { env, meta: db(DB_META), records: db(DB_RECORDS), rejects: db(DB_REJECTS) };
}

function isPermissionError(error: unknown): boolean {
  return /permission denied|read-only file system|EACCES|EROFS|EPERM/i.test((error as Error)?.message ?? '');
}
