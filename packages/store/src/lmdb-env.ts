import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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
  /**
   * Set when the store folder could not hold a lock file (a read-only copy or mount) and the store was
   * opened through a private folder instead; `close()` must be followed by `cleanup()`.
   */
  cleanup?: () => void;
}

const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;

/**
 * Opens a store folder with lmdb-js (data format v1 build). Throws lmdb's own errors. `mapSize` caps
 * how large the data file may grow while open.
 */
export function openStoreDatabases(path: string, readOnly: boolean, mapSize?: number): StoreDatabases {
  try {
    return openFolder(path, readOnly, mapSize);
  } catch (error) {
    if (!readOnly || !isPermissionError(error)) throw error;
  }
  // LMDB readers write their slot into lock.mdb, so a store in a folder that this process may not write
  // (a read-only copy, a shared dataset, an inference image) fails to open; lmdb-js does not expose
  // MDB_NOLOCK. A finished store has no writer to coordinate with, so read it through a private folder
  // holding a symlink to its data file and a lock file of our own.
  const privateFolder = mkdtempSync(join(tmpdir(), 'imgstore-readonly-'));
  try {
    symlinkSync(resolve(path, 'data.mdb'), join(privateFolder, 'data.mdb'));
    const dbs = openFolder(privateFolder, true);
    return { ...dbs, cleanup: () => rmSync(privateFolder, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(privateFolder, { recursive: true, force: true });
    throw error;
  }
}

function openFolder(path: string, readOnly: boolean, mapSize?: number): StoreDatabases {
  // noSubdir: false, always: lmdb-js would otherwise treat `train.lmdb` (a path with an extension) as a file.
  const env = open({ path, noSubdir: false, maxDbs: MAX_DBS, readOnly, ...binary, ...(mapSize ? { mapSize } : {}) }) as RootDatabase;
  // lmdb-js creates named databases only when not read-only (`create` is missing from its types).
  const db = (name: string) => env.openDB({ name, ...binary }) as unknown as BinaryDatabase;
  return { env, meta: db(DB_META), records: db(DB_RECORDS), rejects: db(DB_REJECTS) };
}

function isPermissionError(error: unknown): boolean {
  return /permission denied|read-only file system|EACCES|EROFS|EPERM/i.test((error as Error)?.message ?? '');
}
