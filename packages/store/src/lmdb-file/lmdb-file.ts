/**
 * A read-only reader of LMDB data format v1 files (liblmdb 0.9, 64-bit little-endian) in plain
 * TypeScript: no native code, no memory map, never touches lock.mdb (read-only copies and mounts, any
 * number of processes). For finished files only: without a reader slot, a live writer may reuse pages.
 *
 *   const file = LmdbFile.open(path);            // the data.mdb, or its folder; reads both meta pages
 *   const db = file.database('records');         // named DB (StoreFormatError 'not-a-store' if absent,
 *                                                //   UnsupportedLmdbFeatureError for DUPSORT/INTEGERKEY/…)
 *   db.entries                                   // md_entries, constant time
 *   db.get(key)                                  // Buffer | undefined, a new buffer
 *   db.getInto(key, target, offset)              // length | undefined; value read straight into target
 *   db.valueLocation(key, out?, checkOverflowPage?)  // { position, length, overflowPage } in the data file
 *   db.leafPageOf(key)                           // { pgno, cached }: its leaf, through branch pages only
 *   db.checkOverflowPageHeader(location, header) // the caller read the 16 bytes before position itself
 *   for (const [key, value] of db.range({ start, end })) …   // memcmp key order, end exclusive
 *   file.databaseNames()                         // named DBs of the main DB
 *   file.fd                                      // for preads at a valueLocation (pixels into a batch slot):
 *                                                //   readvSync(fd, [header16, head, slot], position - 16)
 *   file.main                                    // the main (unnamed) DB
 *   file.prefetch(position, length)              // async read into the page cache, not waited for
 *   file.close()
 *
 * Pages are read with positioned reads (readSync/readvSync). Every page number, offset and size taken
 * from the file is checked before use (page numbers against mm_last_pg and the file's size, node
 * offsets and keys against their page, overflow runs against the file, tree depth <= 64, a cursor's
 * page visits against the page count), so a damaged file throws StoreFormatError(path, 'damaged', …)
 * naming the file and page, never reads out of range, allocates without bound or loops.
 * Branch pages (up to 1024) and leaf pages (up to 256, buffers recycled) are cached, so a lookup in a
 * store's records costs no read but the value's and allocates nothing but its result (getInto: one small
 * view for an overflow value). Each syscall counts: a positioned read costs ~1 µs on an idle machine.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LMDB_MAGIC, LMDB_V2_MAGIC_OFFSET, StoreFormatError } from '@imgstore/core';
import { DATABASE_RECORD_SIZE, databaseRecordProblem, parseDatabaseRecord, type DatabaseRecord } from './database-record.js';
import { LmdbDatabase } from './lmdb-database.js';
import { META_BYTES, MAX_PAGE_SIZE, MIN_PAGE_SIZE, hasLmdbMagic, isValidPageSize, metaPageSize, parseMetaPage, type MetaPage } from './meta-page.js';
import {
  F_DUPDATA,
  F_SUBDATA,
  MDB_DUPFIXED,
  MDB_DUPSORT,
  MDB_INTEGERDUP,
  MDB_INTEGERKEY,
  MDB_REVERSEDUP,
  MDB_REVERSEKEY,
  NODE_HEADER_SIZE,
  NODE_KSIZE_OFFSET,
  readU16,
  readU32,
} from './page.js';
import { PageReader, type PageCacheOptions } from './page-reader.js';
import { UnsupportedLmdbFeatureError } from './unsupported-lmdb-feature-error.js';

export type LmdbFileOptions = PageCacheOptions;

const UNSUPPORTED_FLAGS: [number, string][] = [
  [MDB_DUPSORT, 'MDB_DUPSORT'],
  [MDB_DUPFIXED, 'MDB_DUPFIXED'],
  [MDB_INTEGERDUP, 'MDB_INTEGERDUP'],
  [MDB_REVERSEDUP, 'MDB_REVERSEDUP'],
  [MDB_INTEGERKEY, 'MDB_INTEGERKEY'],
  [MDB_REVERSEKEY, 'MDB_REVERSEKEY'],
];

export class LmdbFile {
  /** The path given to open. */
  readonly path: string;
  /** The data file read. */
  readonly dataFile: string;
  readonly pageSize: number;
  /** The meta page in use (the valid one with the higher transaction id). */
  readonly meta: MetaPage;
  readonly #reader: PageReader;
  readonly #databases = new Map<string, LmdbDatabase>();
  #main: LmdbDatabase | null = null;

  private constructor(path: string, dataFile: string, meta: MetaPage, reader: PageReader) {
    this.path = path;
    this.dataFile = dataFile;
    this.meta = meta;
    this.pageSize = meta.pageSize;
    this.#reader = reader;
  }

  /**
   * Opens `path` (a data.mdb, or a folder holding one) and validates its meta pages. Throws
   * StoreFormatError: 'missing', 'not-a-store' (not LMDB), 'lmdb-data-format' (LMDB v2), 'damaged'.
   */
  static open(path: string, options: LmdbFileOptions = {}): LmdbFile {
    let dataFile = path;
    let fd: number;
    try {
      if (statSync(path).isDirectory()) dataFile = join(path, 'data.mdb');
      fd = openSync(dataFile, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StoreFormatError(path, 'missing', `No LMDB data file at ${dataFile}`, { cause: error });
      throw error;
    }
    try {
      const size = fstatSync(fd).size;
      const meta = chooseMetaPage(path, dataFile, fd, size);
      const filePages = Math.floor(size / meta.pageSize);
      if (meta.lastPage + 1 > filePages) {
        throw new StoreFormatError(
          path,
          'damaged',
          `LMDB file ${dataFile} is damaged: it is truncated: its meta page ${meta.pgno} (transaction ${meta.txnid}) needs ` +
            `${(meta.lastPage + 1) * meta.pageSize} bytes but the file has ${size}`,
        );
      }
      const problem = databaseRecordProblem(meta.main, meta.lastPage);
      if (problem !== null) {
        throw new StoreFormatError(path, 'damaged', `LMDB file ${dataFile} is damaged: page ${meta.pgno}: the main database record is wrong: ${problem}`);
      }
      return new LmdbFile(path, dataFile, meta, new PageReader(path, dataFile, fd, meta.pageSize, meta.lastPage, filePages, options));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The main (unnamed) database; its values include the records of the named databases. */
  get main(): LmdbDatabase {
    if (this.#main === null) this.#main = this.#open(null, this.meta.main);
    return this.#main;
  }

  /** Named database `name` (a key of the main DB with F_SUBDATA). StoreFormatError 'not-a-store' when absent. */
  database(name: string): LmdbDatabase {
    let db = this.#databases.get(name);
    if (db !== undefined) return db;
    this.#reader.fd; // throws when closed
    const found = this.main.subDatabaseNode(Buffer.from(name, 'utf8'));
    if (found === null) throw new StoreFormatError(this.path, 'not-a-store', `LMDB file ${this.dataFile} has no "${name}" database`);
    const { page, node, flags } = found;
    if ((flags & F_SUBDATA) === 0 || (flags & F_DUPDATA) !== 0) {
      throw new StoreFormatError(this.path, 'not-a-store', `LMDB file ${this.dataFile}: the main database key "${name}" is not a named database`);
    }
    const data = node + NODE_HEADER_SIZE + readU16(page, node + NODE_KSIZE_OFFSET);
    if (readU32(page, node) !== DATABASE_RECORD_SIZE || data + DATABASE_RECORD_SIZE > this.pageSize) {
      throw this.#reader.damaged(null, `the record of database "${name}" is not a ${DATABASE_RECORD_SIZE}-byte MDB_db inside its page`);
    }
    db = this.#open(name, parseDatabaseRecord(page, data));
    this.#databases.set(name, db);
    return db;
  }

  /** Names of the named databases, in key order (keys of the main DB that are not valid UTF-8 are skipped). */
  databaseNames(): string[] {
    const names: string[] = [];
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (const { page, node } of this.main.nodes()) {
      if ((readU16(page, node + 4) & F_SUBDATA) === 0) continue;
      const key = page.subarray(node + NODE_HEADER_SIZE, node + NODE_HEADER_SIZE + readU16(page, node + NODE_KSIZE_OFFSET));
      try {
        names.push(decoder.decode(key));
      } catch {
        // not a name a caller could pass to database()
      }
    }
    return names;
  }

  /**
   * The open file descriptor, for reading a value found by valueLocation straight into a caller's buffer
   * (readSync/readvSync at its position). Throws ClosedError after close.
   */
  get fd(): number {
    return this.#reader.fd;
  }

  /**
   * Starts reading a byte range of the data file into the OS page cache on libuv's thread pool and
   * returns at once (e.g. the overflow pages of records about to be read in an order the kernel's
   * readahead would not guess). A hint: clamped to the file, never throws, ignored once closed.
   */
  prefetch(position: number, length: number): void {
    this.#reader.prefetch(position, length);
  }

  /** Closes the file descriptor (once prefetch reads in flight are back); later reads throw ClosedError. */
  close(): void {
    this.#reader.close();
  }

  #open(name: string | null, record: DatabaseRecord): LmdbDatabase {
    const label = name === null ? 'the main database' : `database "${name}"`;
    const problem = databaseRecordProblem(record, this.meta.lastPage);
    if (problem !== null) throw this.#reader.damaged(null, `the record of ${label} is wrong: ${problem}`);
    for (const [flag, feature] of UNSUPPORTED_FLAGS) {
      if ((record.flags & flag) !== 0) {
        throw new UnsupportedLmdbFeatureError(this.path, feature, `LMDB file ${this.dataFile}: ${label} uses ${feature}, which this reader does not support`);
      }
    }
    return new LmdbDatabase(this.#reader, name, record);
  }
}

/** Page sizes tried for meta page 1 when meta page 0 does not give one: the common one first. */
const FALLBACK_PAGE_SIZES = [4096, ...powersOfTwo(MIN_PAGE_SIZE, MAX_PAGE_SIZE).filter((size) => size !== 4096)];

/** Reads both meta pages and returns the valid one with the higher transaction id (page 0 on a tie, as LMDB). */
function chooseMetaPage(path: string, dataFile: string, fd: number, size: number): MetaPage {
  const first = readHead(fd, 0);
  if (first.length >= LMDB_V2_MAGIC_OFFSET + 8 && readU32(first, LMDB_V2_MAGIC_OFFSET) === LMDB_MAGIC && readU32(first, LMDB_V2_MAGIC_OFFSET + 4) === 2) {
    throw new StoreFormatError(path, 'lmdb-data-format', `LMDB file ${dataFile} is in LMDB data format v2; this reader reads v1`);
  }
  const meta0 = parseMetaPage(first, 0);
  const sizes = typeof meta0 !== 'string' ? [meta0.pageSize] : isValidPageSize(metaPageSize(first)) ? [metaPageSize(first), ...FALLBACK_PAGE_SIZES] : FALLBACK_PAGE_SIZES;
  let meta1: MetaPage | string = 'it is missing';
  let sawMagic = hasLmdbMagic(first) || (first.length >= 20 && readU32(first, 16) === LMDB_MAGIC);
  for (const pageSize of new Set(sizes)) {
    if (pageSize + META_BYTES > size) continue;
    const second = readHead(fd, pageSize);
    sawMagic ||= hasLmdbMagic(second);
    const parsed = parseMetaPage(second, 1);
    if (typeof parsed !== 'string' && parsed.pageSize !== pageSize) continue;
    meta1 = parsed;
    if (typeof parsed !== 'string') break;
  }
  if (typeof meta0 === 'string' && typeof meta1 === 'string') {
    if (!sawMagic) throw new StoreFormatError(path, 'not-a-store', `${dataFile} is not an LMDB data file (no LMDB meta page)`);
    throw new StoreFormatError(path, 'damaged', `LMDB file ${dataFile} is damaged: no valid meta page: page 0: ${meta0}; page 1: ${meta1}`);
  }
  if (typeof meta0 === 'string') return meta1 as MetaPage;
  if (typeof meta1 === 'string') return meta0;
  return meta1.txnid > meta0.txnid ? meta1 : meta0;
}

/** The first META_BYTES bytes at `position` (fewer at the end of the file). */
function readHead(fd: number, position: number): Buffer {
  const head = Buffer.alloc(META_BYTES);
  let done = 0;
  while (done < META_BYTES) {
    const n = readSync(fd, head, done, META_BYTES - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return head.subarray(0, done);
}

function powersOfTwo(from: number, to: number): number[] {
  const sizes: number[] = [];
  for (let size = from; size <= to; size *= 2) sizes.push(size);
  return sizes;
}
