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
 * Opens a store folder with lmdb-js (data format v1 build). Throws lmdb's own errors. `mapSize` caps
 * how large the data file may grow while open.
 */
export function openStoreDatabases(path: string, readOnly: boolean, mapSize?: number): StoreDatabases {
  // noSubdir: false, always: lmdb-js would otherwise treat `train.lmdb` (a path with an extension) as a file.
  const env = open({ path, noSubdir: false, maxDbs: MAX_DBS, readOnly, ...binary, ...(mapSize ? { mapSize } : {}) }) as RootDatabase;
  // lmdb-js creates named databases only when not read-only (`create` is missing from its types).
  const db = (name: string) => env.openDB({ name, ...binary }) as unknown as BinaryDatabase;
  return { env, meta: db(DB_META), records: db(DB_RECORDS), rejects: db(DB_REJECTS) };
}
