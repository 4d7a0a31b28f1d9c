import { DB_META, DB_RECORDS, DB_REJECTS, RECORD_KEY_BYTES, StoreFormatError } from '@imgstore/core';
import { LmdbFile } from './lmdb-file/lmdb-file.js';
import type { ValueLocation } from './lmdb-file/lmdb-database.js';
import type { StoreSnapshot } from './store-snapshot.js';
import { writeRecordKey } from './record-key.js';

/**
 * Leaf pages of the records database kept in memory: 2,048 pages of 4 KiB (8 MiB) index ~370,000
 * records, so that a random read of a store that size costs one read, the value's own.
 */
const RECORD_LEAF_CACHE_PAGES = 2048;

/** Overflow runs this close are prefetched as one read (the leaf pages LMDB puts between them come along). */
const PREFETCH_GAP = 64 << 10;
/** The most bytes one willNeed call prefetches: a hint must not flush the page cache it means to fill. */
const PREFETCH_LIMIT = 32 << 20;
/** willNeed calls a range waits for its leaf pages before its records are looked up and read ahead. */
const LEAF_WAIT_CALLS = 1;
/** An overflow value's first page starts with a 16-byte page header (the value follows it). */
const OVERFLOW_HEADER = 16;

/**
 * A snapshot read by imgstore's TypeScript LMDB reader (lmdb-file/): positioned reads of the data file,
 * no native code, no lock file. For finished stores: it holds no reader slot, so a writer still running
 * on the file could reuse pages it reads (every record's CRC would then refuse them as damaged).
 */
export function openLmdbFileSnapshot(path: string): StoreSnapshot {
  const file = storeError(path, () => LmdbFile.open(path, { leafCachePages: RECORD_LEAF_CACHE_PAGES }));
  try {
    const database = (name: string) => storeError(path, () => file.database(name));
    const meta = database(DB_META);
    const records = database(DB_RECORDS);
    const rejects = database(DB_REJECTS);
    const location: ValueLocation = { position: 0, length: 0, overflowPage: -1 };
    // Records are read into one buffer, grown to the largest record seen: the caller checks and decodes
    // the view before the next read.
    let scratch = Buffer.allocUnsafe(0);
    // willNeed: ranges whose leaf pages were being read ahead at the last call.
    const pending: [number, number, number][] = [];
    let calls = 0;
    const key = Buffer.allocUnsafe(RECORD_KEY_BYTES);
    /** Leaf pages of records first..last that this reader does not hold in memory (damage: none, the read reports it). */
    const leafPagesToRead = (first: number, last: number): number[] => {
      const out: number[] = [];
      let previous = -1;
      try {
        for (let index = first; index <= last; index++) {
          writeRecordKey(key, index);
          const { pgno, cached } = records.leafPageOf(key);
          if (pgno !== previous && !cached && pgno >= 0) out.push(pgno);
          previous = pgno;
        }
      } catch (error) {
        if (!(error instanceof StoreFormatError)) throw error;
      }
      return out;
    };
    /** Reads the overflow pages of records first..last ahead, as few large reads as their layout allows. */
    const prefetchRecords = (first: number, last: number): void => {
      const at: ValueLocation = { position: 0, length: 0, overflowPage: -1 };
      let start = -1;
      let end = -1;
      let total = 0;
      // Consecutive keys' overflow pages are usually consecutive in the file: merged into few large
      // reads. Where they are not (pages reused from the free list), each run is its own read.
      const flush = (): boolean => {
        if (start >= 0) {
          const bytes = Math.min(end - start, PREFETCH_LIMIT - total);
          file.prefetch(start, bytes);
          total += bytes;
        }
        return total < PREFETCH_LIMIT;
      };
      try {
        for (let index = first; index <= last; index++) {
          writeRecordKey(key, index);
          // A value inside its leaf page is in memory already: the lookup just read that leaf.
          if (records.valueLocation(key, at, false) === undefined || at.overflowPage < 0) continue;
          const from = at.position - OVERFLOW_HEADER;
          const to = at.position + at.length;
          if (start >= 0 && from >= start && from <= end + PREFETCH_GAP) {
            end = Math.max(end, to);
          } else {
            if (!flush()) return;
            start = from;
            end = to;
          }
        }
        flush();
      } catch (error) {
        // Damage on the way to a record is reported when the record itself is read.
        if (!(error instanceof StoreFormatError)) throw error;
      }
    };
    return {
      engine: 'typescript',
      meta: (key) => meta.get(Buffer.from(key)),
      record(key, maxBytes = Number.MAX_SAFE_INTEGER) {
        if (records.valueLocation(key, location, false) === undefined) return undefined;
        const length = location.length;
        if (length > maxBytes) {
          throw new StoreFormatError(path, 'damaged', `Store ${path} is damaged: a record value of ${length} bytes, more than a record of this store can hold (${maxBytes})`);
        }
        if (length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(length, scratch.length * 2));
        records.readLocated(location, scratch, 0);
        return scratch.subarray(0, length);
      },
      recordSplit(key, tail) {
        if (records.valueLocation(key, location, false) === undefined) return undefined;
        const headLength = location.length - tail.length;
        if (headLength < 0) return null;
        if (headLength > scratch.length) scratch = Buffer.allocUnsafe(Math.max(headLength, 256));
        const head = scratch.subarray(0, headLength);
        records.readLocatedSplit(location, head, tail);
        return head;
      },
      willNeed(first, last) {
        // A lookup needs the record's leaf page: one not in memory is read ahead now and the lookups
        // of the range wait for the next call, so that this thread seldom waits on the disk for a
        // leaf (it still does when the leaf's read is queued behind block reads for longer).
        const leaves = leafPagesToRead(first, last);
        for (const pgno of leaves) file.prefetch(pgno * file.pageSize, file.pageSize);
        calls++;
        let due = 0;
        while (due < pending.length && pending[due]![2] <= calls - LEAF_WAIT_CALLS) due++;
        const ready = pending.splice(0, due);
        if (leaves.length === 0) ready.push([first, last, calls]);
        else pending.push([first, last, calls]);
        for (const [a, b] of ready) prefetchRecords(a, b);
      },
      counts: () => ({ records: records.entries, rejects: rejects.entries }),
      *rejects(limit) {
        if (limit <= 0) return;
        let n = 0;
        for (const [, value] of rejects.range()) {
          yield value;
          if (++n >= limit) return;
        }
      },
      close: () => {
        try {
          file.close();
        } catch {
          // already closed
        }
      },
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** The reader's errors about the file, said of the store: the first words name it, as every refusal does. */
function storeError<T>(path: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    if (!(error instanceof StoreFormatError)) throw error;
    if (error.reason === 'not-a-store') {
      throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore store (or its LMDB pages are damaged): ${error.message}`, { cause: error });
    }
    if (error.reason === 'damaged') {
      throw new StoreFormatError(path, 'damaged', `Store ${path} is damaged and was not opened: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
