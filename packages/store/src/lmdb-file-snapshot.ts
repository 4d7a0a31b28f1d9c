import { DB_META, DB_RECORDS, DB_REJECTS, StoreFormatError } from '@imgstore/core';
import { LmdbFile } from './lmdb-file/lmdb-file.js';
import type { ValueLocation } from './lmdb-file/lmdb-database.js';
import type { StoreSnapshot } from './store-snapshot.js';

/**
 * Leaf pages of the records database kept in memory: 2,048 pages of 4 KiB (8 MiB) index ~370,000
 * records, so that a random read of a store that size costs one read, the value's own.
 */
const RECORD_LEAF_CACHE_PAGES = 2048;

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
