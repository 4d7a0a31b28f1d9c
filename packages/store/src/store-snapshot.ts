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
  /**
   * A record's stored bytes as a view that the next read in this thread may overwrite, or undefined.
   * An engine that copies the value first refuses one longer than `maxBytes` (StoreFormatError 'damaged'),
   * so that a damaged length cannot size an allocation.
   */
  record(key: Uint8Array, maxBytes?: number): Uint8Array | undefined;
  /**
   * Optional, for engines that read with system calls: reads a record's last `tail.length` bytes (its
   * pixels) straight into `tail` and returns a view of the bytes before them, valid until the next read;
   * undefined when the record is absent, null when it is shorter than `tail`.
   */
  recordSplit?(key: Uint8Array, tail: Uint8Array): Uint8Array | undefined | null;
  /**
   * Optional, for engines that read with system calls: starts reading the stored bytes of records
   * `first` to `last` (inclusive, existing indices) into the OS page cache without waiting for them
   * (see StoreReader.willNeed); may leave part of it to the next call. Absent records are skipped;
   * never throws for damage (reading the record reports it).
   */
  willNeed?(first: number, last: number): void;
  /** Entries of the records and rejects databases, from LMDB's own counts (constant time). */
  counts(): { records: number; rejects: number };
  /** The first `limit` values of the rejects database, in key order. */
  rejects(limit: number): Iterable<Uint8Array>;
  /** Ends the snapshot. Idempotent. */
  close(): void;
}
