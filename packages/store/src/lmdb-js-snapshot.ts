import { HEADER_KEY, StoreFormatError } from '@imgstore/core';
import { openReaderDatabases, type ReadOptions, type StoreDatabases } from './lmdb-env.js';
import type { StoreSnapshot } from './store-snapshot.js';

/**
 * A snapshot read through lmdb-js (the native binding that also writes stores). Opens the shared
 * environment of `path` (see lmdb-env) and pins a read transaction that includes every commit made so
 * far, also by other processes (a conversion still running). Throws StoreFormatError for a file LMDB
 * refuses.
 */
export function openLmdbJsSnapshot(path: string): StoreSnapshot {
  let dbs: StoreDatabases;
  try {
    dbs = openReaderDatabases(path);
  } catch (cause) {
    // The data file passed the meta page checks, so LMDB's own corruption codes mean damage.
    const message = (cause as Error).message;
    if (/^it has no "/.test(message)) {
      throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore store (or its LMDB pages are damaged): ${message}`, { cause });
    }
    const damaged = /MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_BAD/.test(message);
    throw new StoreFormatError(path, damaged ? 'damaged' : 'not-a-store', `Cannot open ${path} as an LMDB store: ${message}`, { cause });
  }
  // The environment is shared: drop its current read transaction, so that this snapshot is taken now;
  // readers holding the old one keep it until they close. lmdb-js renews lazily, in the next read made
  // without an explicit transaction: make that read before pinning the transaction.
  (dbs.env as unknown as { resetReadTxn(): void }).resetReadTxn();
  dbs.meta.getBinary(Buffer.from(HEADER_KEY));
  // One read transaction for the snapshot's lifetime, passed to every lookup: lmdb-js 2.6.8-v1 otherwise
  // renews a read transaction shared by the threads of a process on each event-loop turn, which makes
  // concurrent readers in worker threads fail with "Invalid argument".
  const read: ReadOptions = { transaction: dbs.env.useReadTransaction() };
  let closed = false;
  return {
    engine: 'lmdb-js',
    meta: (key) => dbs.meta.getBinary(Buffer.from(key), read),
    record(key) {
      const value = dbs.records.getBinaryFast(key as Buffer, read);
      // lmdb-js's reusable buffer for small values reports the value's size through an overridden
      // `length`; a subarray makes a plain view of exactly the value.
      return value === undefined ? undefined : value.subarray(0, value.length);
    },
    // Fresh options objects: lmdb-js's getKeysCount marks the object it is given `onlyCount`, and a
    // later range given the same options would then return a number instead of an iterator.
    counts: () => ({
      records: dbs.records.getKeysCount({ ...read } as object),
      rejects: dbs.rejects.getKeysCount({ ...read } as object),
    }),
    rejects(limit) {
      if (limit <= 0) return [];
      const values: Uint8Array[] = [];
      for (const { value } of dbs.rejects.getRange({ ...read, limit } as object)) values.push(value);
      return values;
    },
    close() {
      if (closed) return;
      closed = true;
      // The environment itself is shared by this thread's readers of the file and stays open (see lmdb-env).
      (read.transaction as { done(): void }).done();
    },
  };
}
