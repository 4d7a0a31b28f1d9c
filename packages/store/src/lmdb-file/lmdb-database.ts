import { readvSync } from 'node:fs';
import type { DatabaseRecord } from './database-record.js';
import type { PageReader } from './page-reader.js';
import {
  F_BIGDATA,
  F_DUPDATA,
  F_SUBDATA,
  NODE_FLAGS_OFFSET,
  NODE_HEADER_SIZE,
  NODE_KSIZE_OFFSET,
  P_OVERFLOW,
  PAGE_FLAGS_OFFSET,
  PAGE_HEADER_SIZE,
  PAGE_OVERFLOW_COUNT_OFFSET,
  PAGE_UPPER_OFFSET,
  PGNO_SIZE,
  compareKeyAt,
  pageKeyCount,
  readPgno,
  readU16,
  readU32,
} from './page.js';

/** Where a value's bytes lie in the data file: one contiguous run. */
export interface ValueLocation {
  /** Byte position of the value's first byte in the data file. */
  position: number;
  /** The value's length in bytes. */
  length: number;
  /** First overflow page of a large value (F_BIGDATA); -1 for a value stored inside its leaf page. */
  overflowPage: number;
}

export interface RangeOptions {
  /** First key (inclusive); default the first key. */
  start?: Uint8Array;
  /** Key to stop before (exclusive); default after the last key. */
  end?: Uint8Array;
}

/** A tree node met by a cursor: `page` is owned by the cursor until it moves past the page. */
export interface TreeNode {
  page: Buffer;
  pgno: number;
  node: number;
}

/**
 * One LMDB database (the main DB or a named DB) of a file opened with LmdbFile: lookups by binary search
 * in each page, cursor iteration in key order (memcmp, LMDB's default comparator). Keys and values are
 * plain bytes. Every pointer read from the file is checked before use.
 */
export class LmdbDatabase {
  /** The name of a named database; null for the main DB. */
  readonly name: string | null;
  /** md_entries from the database record: the number of keys, in constant time. */
  readonly entries: number;
  readonly record: DatabaseRecord;
  readonly #reader: PageReader;
  readonly #root: number;
  readonly #depth: number;
  readonly #pageSize: number;
  readonly #isMain: boolean;
  // Set by #find: the leaf page holding the key (possibly the reader's scratch buffer) and its number.
  #leaf: Buffer | null = null;
  #leafPgno = 0;
  readonly #location: ValueLocation = { position: 0, length: 0, overflowPage: -1 };
  readonly #overflowHeader = Buffer.alloc(PAGE_HEADER_SIZE);
  readonly #iov: Uint8Array[] = [this.#overflowHeader, this.#overflowHeader];

  /** Use LmdbFile.main or LmdbFile.database(name). */
  constructor(reader: PageReader, name: string | null, record: DatabaseRecord) {
    this.#reader = reader;
    this.name = name;
    this.record = record;
    this.entries = record.entries;
    this.#root = record.root ?? -1;
    this.#depth = record.depth;
    this.#pageSize = reader.pageSize;
    this.#isMain = name === null;
  }

  /** The value of `key` in a new buffer, or undefined. */
  get(key: Uint8Array): Buffer | undefined {
    const location = this.valueLocation(key, this.#location, false);
    if (location === undefined) return undefined;
    const value = Buffer.allocUnsafe(location.length);
    this.#copyValue(location, value, 0);
    return value;
  }

  /**
   * Reads the value of `key` into `target` at `offset` (no allocation for a value in a leaf page, one
   * small view for an overflow value) and returns its length, or undefined when the key is absent.
   * Throws RangeError when the value does not fit; the target is then untouched.
   */
  getInto(key: Uint8Array, target: Uint8Array, offset: number): number | undefined {
    const location = this.valueLocation(key, this.#location, false);
    if (location === undefined) return undefined;
    if (!(offset >= 0 && offset + location.length <= target.length)) {
      throw new RangeError(`A value of ${location.length} bytes does not fit at offset ${offset} of a target of ${target.length}`);
    }
    this.#copyValue(location, target, offset);
    return location.length;
  }

  /**
   * Where the value of `key` lies in the data file, or undefined: for an overflow value one run of
   * `length` bytes from `pgno * pageSize + 16`, for a small value its bytes inside the leaf page. Fills and
   * returns `out` when given (no allocation). With `checkOverflowPage` (default true) the overflow page's
   * header is read and checked first (one 16-byte read); a caller that reads the page header itself, or
   * checks the value's own checksum, can skip it.
   */
  valueLocation(key: Uint8Array, out?: ValueLocation, checkOverflowPage = true): ValueLocation | undefined {
    const node = this.#find(key);
    if (node < 0) return undefined;
    const location = out ?? { position: 0, length: 0, overflowPage: -1 };
    this.#locate(this.#leaf!, this.#leafPgno, node, location);
    if (checkOverflowPage && location.overflowPage >= 0) {
      this.#reader.readExactly(this.#overflowHeader, 0, PAGE_HEADER_SIZE, location.overflowPage * this.#pageSize, location.overflowPage);
      this.checkOverflowPageHeader(location, this.#overflowHeader);
    }
    return location;
  }

  /**
   * Checks the 16-byte page header of an overflow value located by valueLocation(key, out, false), read
   * by the caller from `location.position - 16` (e.g. the first buffer of its own readv): page number,
   * P_OVERFLOW, and enough pages for the value. Throws StoreFormatError 'damaged'.
   */
  checkOverflowPageHeader(location: ValueLocation, header: Uint8Array): void {
    const pgno = location.overflowPage;
    const reader = this.#reader;
    if (pgno < 0 || header.length < PAGE_HEADER_SIZE) throw new RangeError('an overflow value location and its 16-byte page header are needed');
    if (readPgno(header, 0) !== pgno) throw reader.damaged(pgno, `holds page number ${readPgno(header, 0)} where an overflow page was expected`);
    if ((readU16(header, PAGE_FLAGS_OFFSET) & P_OVERFLOW) === 0) throw reader.damaged(pgno, 'is not an overflow page although a leaf points to it');
    const pages = readU32(header, PAGE_OVERFLOW_COUNT_OFFSET);
    const needed = Math.floor((PAGE_HEADER_SIZE - 1 + location.length) / this.#pageSize) + 1;
    if (pages < needed) throw reader.damaged(pgno, `has ${pages} overflow pages for a ${location.length}-byte value that needs ${needed}`);
  }

  /** Keys and values (new buffers) in key order, from `start` (inclusive) to `end` (exclusive). */
  *range(options: RangeOptions = {}): IterableIterator<[Buffer, Buffer]> {
    const location: ValueLocation = { position: 0, length: 0, overflowPage: -1 };
    for (const { page, pgno, node } of this.nodes(options)) {
      const ksize = readU16(page, node + NODE_KSIZE_OFFSET);
      const key = Buffer.from(page.subarray(node + NODE_HEADER_SIZE, node + NODE_HEADER_SIZE + ksize));
      this.#locate(page, pgno, node, location);
      const value = Buffer.allocUnsafe(location.length);
      if (location.overflowPage < 0) {
        const start = location.position - pgno * this.#pageSize;
        page.copy(value, 0, start, start + location.length);
      } else {
        this.#readOverflow(location, value, 0);
      }
      yield [key, value];
    }
  }

  /**
   * The leaf nodes from `start` to `end` in key order (for LmdbFile's listing of named databases and for
   * range). Checks that keys strictly increase and that no more pages are visited than the snapshot holds,
   * so a damaged tree (a cycle, a page reached twice) ends in StoreFormatError.
   */
  *nodes(options: RangeOptions = {}): IterableIterator<TreeNode> {
    if (this.#root < 0) return;
    const reader = this.#reader;
    const { start, end } = options;
    const pages: Buffer[] = [];
    const pgnos: number[] = [];
    const indexes: number[] = [];
    let visits = 0;
    const visit = (): void => {
      if (++visits > reader.lastPage) throw reader.damaged(null, `its tree visits more pages than the file has (a cycle)`);
    };
    // Descend to the first leaf, at the start key or at the left edge.
    let pgno = this.#root;
    for (let level = 1; level < this.#depth; level++) {
      visit();
      const page = reader.branch(pgno);
      const index = start === undefined ? 0 : this.#branchIndex(page, pgno, start);
      pages.push(page);
      pgnos.push(pgno);
      indexes.push(index);
      pgno = this.#child(page, pgno, index);
    }
    visit();
    let leaf = reader.leaf(pgno, true);
    let index = start === undefined ? 0 : this.#lowerBound(leaf, pgno, start);
    let previous: Buffer | null = null;
    let previousPgno = 0;
    let previousNode = 0;
    for (;;) {
      const count = pageKeyCount(leaf);
      for (; index < count; index++) {
        const node = this.#nodeAt(leaf, pgno, index);
        const ksize = readU16(leaf, node + NODE_KSIZE_OFFSET);
        if (end !== undefined && compareKeyAt(end, leaf, node + NODE_HEADER_SIZE, ksize) <= 0) return;
        if (previous !== null) {
          const previousSize = readU16(previous, previousNode + NODE_KSIZE_OFFSET);
          const key = leaf.subarray(node + NODE_HEADER_SIZE, node + NODE_HEADER_SIZE + ksize);
          if (compareKeyAt(key, previous, previousNode + NODE_HEADER_SIZE, previousSize) <= 0) {
            throw reader.damaged(pgno, `has key ${index} out of order after a key of page ${previousPgno}`);
          }
        }
        previous = leaf;
        previousPgno = pgno;
        previousNode = node;
        yield { page: leaf, pgno, node };
      }
      // Up to the deepest branch with a next child, then down its leftmost path.
      let level = pages.length - 1;
      while (level >= 0 && ++indexes[level]! >= pageKeyCount(pages[level]!)) level--;
      if (level < 0) return;
      for (; level < pages.length - 1; level++) {
        const child = this.#child(pages[level]!, pgnos[level]!, indexes[level]!);
        visit();
        pages[level + 1] = reader.branch(child);
        pgnos[level + 1] = child;
        indexes[level + 1] = 0;
      }
      pgno = this.#child(pages[level]!, pgnos[level]!, indexes[level]!);
      visit();
      leaf = reader.leaf(pgno, true);
      index = 0;
    }
  }

  /** The leaf node's value as a database record (F_SUBDATA), for LmdbFile; null when the node is not one. */
  subDatabaseNode(key: Uint8Array): { page: Buffer; node: number; flags: number } | null {
    const node = this.#find(key);
    if (node < 0) return null;
    return { page: this.#leaf!, node, flags: readU16(this.#leaf!, node + NODE_FLAGS_OFFSET) };
  }

  /**
   * The leaf page that holds `key` if it is present, found through the branch pages only (cached), and
   * whether this reader has that leaf in memory; -1 for an empty database. For a prefetch: a leaf not
   * in memory can be read ahead before the lookups that need it.
   */
  leafPageOf(key: Uint8Array): { pgno: number; cached: boolean } {
    if (this.#root < 0) return { pgno: -1, cached: false };
    const reader = this.#reader;
    let pgno = this.#root;
    for (let level = 1; level < this.#depth; level++) {
      const page = reader.branch(pgno);
      pgno = this.#child(page, pgno, this.#branchIndex(page, pgno, key));
    }
    return { pgno, cached: reader.hasLeaf(pgno) };
  }

  /** Finds `key`: its node offset in this.#leaf, or -1. */
  #find(key: Uint8Array): number {
    if (this.#root < 0) return -1;
    const reader = this.#reader;
    let pgno = this.#root;
    for (let level = 1; level < this.#depth; level++) {
      const page = reader.branch(pgno);
      pgno = this.#child(page, pgno, this.#branchIndex(page, pgno, key));
    }
    const leaf = reader.leaf(pgno, false);
    this.#leaf = leaf;
    this.#leafPgno = pgno;
    let lo = 0;
    let hi = pageKeyCount(leaf) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const node = this.#nodeAt(leaf, pgno, mid);
      const c = compareKeyAt(key, leaf, node + NODE_HEADER_SIZE, readU16(leaf, node + NODE_KSIZE_OFFSET));
      if (c === 0) return node;
      if (c > 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Index of the first leaf node whose key is >= key (the page's key count when none). */
  #lowerBound(leaf: Buffer, pgno: number, key: Uint8Array): number {
    let lo = 0;
    let hi = pageKeyCount(leaf);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const node = this.#nodeAt(leaf, pgno, mid);
      if (compareKeyAt(key, leaf, node + NODE_HEADER_SIZE, readU16(leaf, node + NODE_KSIZE_OFFSET)) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the child of a branch page covering `key`: the last node whose key is <= key (node 0's key is -inf). */
  #branchIndex(page: Buffer, pgno: number, key: Uint8Array): number {
    let lo = 1;
    let hi = pageKeyCount(page) - 1;
    let index = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const node = this.#nodeAt(page, pgno, mid);
      if (compareKeyAt(key, page, node + NODE_HEADER_SIZE, readU16(page, node + NODE_KSIZE_OFFSET)) >= 0) {
        index = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return index;
  }

  /** Page number of child `index` of a branch page (mn_lo | mn_hi << 16 | mn_flags << 32), checked. */
  #child(page: Buffer, pgno: number, index: number): number {
    const node = this.#nodeAt(page, pgno, index);
    const child = readU32(page, node) + readU16(page, node + NODE_FLAGS_OFFSET) * 0x100000000;
    this.#reader.checkRun(child, 1, 'child page', pgno);
    return child;
  }

  /** Offset of node `index` (< the page's key count) in a checked page, its header and key inside the page. */
  #nodeAt(page: Buffer, pgno: number, index: number): number {
    const node = readU16(page, PAGE_HEADER_SIZE + 2 * index);
    if (node < readU16(page, PAGE_UPPER_OFFSET) || node + NODE_HEADER_SIZE > this.#pageSize) {
      throw this.#reader.damaged(pgno, `has node ${index} at offset ${node}, outside its node area`);
    }
    if (node + NODE_HEADER_SIZE + readU16(page, node + NODE_KSIZE_OFFSET) > this.#pageSize) {
      throw this.#reader.damaged(pgno, `has node ${index} whose key runs past the page end`);
    }
    return node;
  }

  /** Fills `out` with where the value of a leaf node lies, all checked against the page and the file. */
  #locate(leaf: Buffer, pgno: number, node: number, out: ValueLocation): void {
    const flags = readU16(leaf, node + NODE_FLAGS_OFFSET);
    const size = readU32(leaf, node);
    const data = node + NODE_HEADER_SIZE + readU16(leaf, node + NODE_KSIZE_OFFSET);
    if ((flags & F_DUPDATA) !== 0) throw this.#reader.damaged(pgno, 'holds sorted duplicates in a database without MDB_DUPSORT');
    if ((flags & F_SUBDATA) !== 0 && !this.#isMain) throw this.#reader.damaged(pgno, 'holds a database record inside a named database');
    if ((flags & F_BIGDATA) !== 0) {
      if (data + PGNO_SIZE > this.#pageSize) throw this.#reader.damaged(pgno, 'has an overflow page number past the page end');
      const first = readPgno(leaf, data);
      // OVPAGES(size, psize): the pages an overflow value of `size` bytes takes after a 16-byte header.
      const pages = Math.floor((PAGE_HEADER_SIZE - 1 + size) / this.#pageSize) + 1;
      this.#reader.checkRun(first, pages, 'overflow page', pgno);
      out.position = first * this.#pageSize + PAGE_HEADER_SIZE;
      out.length = size;
      out.overflowPage = first;
      return;
    }
    if (data + size > this.#pageSize) throw this.#reader.damaged(pgno, `has a ${size}-byte value running past the page end`);
    out.position = pgno * this.#pageSize + data;
    out.length = size;
    out.overflowPage = -1;
  }

  /**
   * Copies the value that the latest valueLocation(key, out, false) of this database located into
   * `target` at `offset` (the caller checked it fits): one read for an overflow value, none for a value
   * in a cached leaf. No other lookup in this file may come between the two calls (leaf buffers are shared).
   */
  readLocated(location: ValueLocation, target: Uint8Array, offset: number): void {
    this.#copyValue(location, target, offset);
  }

  /**
   * Like readLocated, but splits the value: its first `head.length` bytes into `head`, the rest into
   * `tail` (exactly the remaining length). An overflow value is one readv of page header, head and tail:
   * the tail (a record's pixels) lands in the caller's buffer with no copy in between.
   */
  readLocatedSplit(location: ValueLocation, head: Uint8Array, tail: Uint8Array): void {
    if (head.length + tail.length !== location.length) throw new RangeError('head and tail must together hold the value exactly');
    if (location.overflowPage < 0) {
      const start = location.position - this.#leafPgno * this.#pageSize;
      this.#leaf!.copy(head, 0, start, start + head.length);
      this.#leaf!.copy(tail, 0, start + head.length, start + location.length);
      return;
    }
    const reader = this.#reader;
    const position = location.position - PAGE_HEADER_SIZE;
    const n = readvSync(reader.fd, [this.#overflowHeader, head, tail], position);
    if (n < PAGE_HEADER_SIZE + location.length) {
      // A short read (signal, very large value): finish plainly, part by part.
      const parts: [Uint8Array, number][] = [[this.#overflowHeader, position], [head, location.position], [tail, location.position + head.length]];
      let done = n;
      for (const [buffer, at] of parts) {
        const got = Math.min(buffer.length, Math.max(0, done));
        if (got < buffer.length) reader.readExactly(buffer, got, buffer.length - got, at + got, location.overflowPage);
        done -= buffer.length;
      }
    }
    this.checkOverflowPageHeader(location, this.#overflowHeader);
  }

  /** Copies a located value (of the last #find) into target. */
  #copyValue(location: ValueLocation, target: Uint8Array, offset: number): void {
    if (location.overflowPage < 0) {
      const start = location.position - this.#leafPgno * this.#pageSize;
      this.#leaf!.copy(target, offset, start, start + location.length);
    } else {
      this.#readOverflow(location, target, offset);
    }
  }

  /** Reads the overflow page header and the value in one readv, then checks the header. */
  #readOverflow(location: ValueLocation, target: Uint8Array, offset: number): void {
    const reader = this.#reader;
    const total = PAGE_HEADER_SIZE + location.length;
    const position = location.position - PAGE_HEADER_SIZE;
    this.#iov[1] = target.subarray(offset, offset + location.length);
    const n = readvSync(reader.fd, this.#iov, position);
    this.#iov[1] = this.#overflowHeader;
    if (n < total) {
      // A short read (large value, signal): finish plainly.
      if (n < PAGE_HEADER_SIZE) reader.readExactly(this.#overflowHeader, n, PAGE_HEADER_SIZE - n, position + n, location.overflowPage);
      const done = Math.max(0, n - PAGE_HEADER_SIZE);
      reader.readExactly(target, offset + done, location.length - done, location.position + done, location.overflowPage);
    }
    this.checkOverflowPageHeader(location, this.#overflowHeader);
  }
}
