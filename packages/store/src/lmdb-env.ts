import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
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
 * Read-only environments of this thread, by data file identity (device, inode) and newest transaction.
 * The lmdb-js 2.6.8-v1 build never really closes an environment (its close skips mdb_env_close: two file
 * descriptors and the memory map stay behind), so opening the same store again and again would run out
 * of file descriptors; an unchanged store reuses its environment instead, each reader with its own read
 * transaction. A store that changed since (a conversion still running) gets a fresh environment: reusing
 * one across commits made by another environment of this process fails in lmdb-js with EINVAL.
 */
const readerEnvs = new Map<string, { dbs: StoreDatabases; txnId: bigint }>();

/** The read-only databases of the store folder `path`, whose newest transaction is `txnId`. Never close them. */
export function openReaderDatabases(path: string, txnId: bigint): StoreDatabases {
  const { dev, ino } = statSync(join(path, 'data.mdb'));
  const key = `${dev}:${ino}`;
  const cached = readerEnvs.get(key);
  if (cached && cached.txnId === txnId) return cached.dbs;
  const dbs = openReadOnly(path);
  readerEnvs.set(key, { dbs, txnId });
  return dbs;
}

function openReadOnly(path: string): StoreDatabases {
  try {
    return openFolder(path, true);
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
    const dbs = openFolder(privateFolder, true);
    process.once('exit', cleanup);
    return dbs;
  } catch (error) {
    cleanup();
    throw error;
  }
}

function openFolder(path: string, readOnly: boolean, mapSize?: number): StoreDatabases {
  // noSubdir: false, always: lmdb-js would otherwise treat `train.lmdb` (a path with an extension) as a file.
  const env = open({ path, noSubdir: false, maxDbs: MAX_DBS, readOnly, ...binary, ...(mapSize ? { mapSize } : {}) }) as RootDatabase;
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
