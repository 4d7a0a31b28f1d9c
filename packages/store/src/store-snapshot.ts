/** The LMDB code that reads a store: lmdb-js's native binding, or imgstore's own TypeScript reader. */
export type StoreEngine = 'lmdb-js' | 'typescript';

/**
 * One consistent, read-only view of a store's three databases, whatever engine reads the file. A
 * StoreReader holds one for its lifetime; every lookup goes through it. Keys and values are raw bytes.
 */
export interface StoreSnapshot {
  readonly engine: StoreEngine;
  /** A value of the `meta` database (header, settings, checkpoint), copied, or undefined. */
  meta(key: string): Uint8Array | undefined;
  /** A record's stored bytes as a view that the next read in this thread may overwrite, or undefined. */
  record(key: Uint8Array): Uint8Array | undefined;
  /** Entries of the records and rejects databases, from LMDB's own counts (constant time). */
  counts(): { records: number; rejects: number };
  /** The first `limit` values of the rejects database, in key order. */
  rejects(limit: number): Iterable<Uint8Array>;
  /** Ends the snapshot. Idempotent. */
  close(): void;
}
