import { closeSync, readSync } from 'node:fs';
import { ClosedError, StoreFormatError } from '@imgstore/core';
import {
  P_BRANCH,
  P_LEAF,
  P_LEAF2,
  P_META,
  P_OVERFLOW,
  P_SUBP,
  PAGE_FLAGS_OFFSET,
  PAGE_HEADER_SIZE,
  PAGE_LOWER_OFFSET,
  PAGE_UPPER_OFFSET,
  readPgno,
  readU16,
} from './page.js';

const PAGE_TYPE_FLAGS = P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP;

export interface PageCacheOptions {
  /** Branch pages kept in memory (default 1024: 4 MiB of 4 KiB pages, the branches of ~200k leaves). */
  branchCachePages?: number;
  /** Leaf pages kept in memory (default 256). 0 reads a leaf per lookup into one reused buffer. */
  leafCachePages?: number;
}

/**
 * Bounds-checked, positioned reads of one data file's pages, with bounded caches of branch and leaf
 * pages. The file must not change while open (a finished store): without a slot in lock.mdb, a writer
 * may reuse pages of the snapshot this reader follows.
 */
export class PageReader {
  /** The path the caller opened (StoreFormatError.path). */
  readonly path: string;
  /** The data file, for messages. */
  readonly dataFile: string;
  readonly pageSize: number;
  /** Highest page number a tree may use: mm_last_pg of the chosen meta page. */
  readonly lastPage: number;
  /** Pages the file holds (it may hold more than lastPage + 1). */
  readonly filePages: number;
  #fd: number;
  readonly #branches = new Map<number, Buffer>();
  readonly #leaves = new Map<number, Buffer>();
  readonly #branchLimit: number;
  readonly #leafLimit: number;
  readonly #scratch: Buffer;
  /** Page numbers of the cached leaves in insertion order; #leafRingNext is the oldest once full. */
  readonly #leafRing: Float64Array;
  #leafRingNext = 0;

  constructor(path: string, dataFile: string, fd: number, pageSize: number, lastPage: number, filePages: number, options: PageCacheOptions) {
    this.path = path;
    this.dataFile = dataFile;
    this.#fd = fd;
    this.pageSize = pageSize;
    this.lastPage = lastPage;
    this.filePages = filePages;
    this.#branchLimit = Math.max(0, options.branchCachePages ?? 1024);
    this.#leafLimit = Math.max(0, options.leafCachePages ?? 256);
    this.#scratch = Buffer.alloc(pageSize);
    this.#leafRing = new Float64Array(this.#leafLimit);
  }

  get fd(): number {
    if (this.#fd < 0) throw new ClosedError(`LMDB file ${this.dataFile} is closed`);
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
    this.#branches.clear();
    this.#leaves.clear();
  }

  damaged(pgno: number | null, message: string): StoreFormatError {
    const where = pgno === null ? '' : ` page ${pgno}`;
    return new StoreFormatError(this.path, 'damaged', `LMDB file ${this.dataFile} is damaged:${where} ${message}`);
  }

  /** Throws unless pages pgno … pgno + count - 1 are tree pages inside the file and the snapshot. */
  checkRun(pgno: number, count: number, what: string, from: number): void {
    if (pgno < 2 || pgno + count - 1 > this.lastPage || pgno + count > this.filePages) {
      throw this.damaged(
        from,
        `points to ${what} ${pgno}${count > 1 ? ` (${count} pages)` : ''} outside pages 2 to ${Math.min(this.lastPage, this.filePages - 1)}`,
      );
    }
  }

  /** Branch page `pgno`, checked and cached. The buffer is never reused for another page. */
  branch(pgno: number): Buffer {
    const cached = this.#branches.get(pgno);
    if (cached !== undefined) return cached;
    const page = this.#read(pgno, Buffer.allocUnsafe(this.pageSize), P_BRANCH);
    if (this.#branchLimit > 0) remember(this.#branches, pgno, page, this.#branchLimit);
    return page;
  }

  /**
   * Leaf page `pgno`, checked. With `owned` false (the lookup path) the result is only valid until the
   * next leaf read: a cached page whose buffer is recycled on eviction, or one reused scratch buffer, so
   * a lookup allocates nothing. With `owned` true (cursors) it is a new buffer, never reused.
   */
  leaf(pgno: number, owned: boolean): Buffer {
    if (owned) return this.#read(pgno, Buffer.allocUnsafe(this.pageSize), P_LEAF);
    const cached = this.#leaves.get(pgno);
    if (cached !== undefined) return cached;
    if (this.#leafLimit === 0) return this.#read(pgno, this.#scratch, P_LEAF);
    let page: Buffer;
    if (this.#leaves.size < this.#leafLimit) {
      page = Buffer.allocUnsafe(this.pageSize);
    } else {
      // Evict the oldest page (FIFO ring: no per-hit bookkeeping) and reuse its buffer.
      const oldest = this.#leafRing[this.#leafRingNext]!;
      page = this.#leaves.get(oldest)!;
      this.#leaves.delete(oldest);
    }
    this.#read(pgno, page, P_LEAF);
    this.#leaves.set(pgno, page);
    this.#leafRing[this.#leafRingNext] = pgno;
    this.#leafRingNext = (this.#leafRingNext + 1) % this.#leafLimit;
    return page;
  }

  /** Reads `length` bytes at `position` into target (a value's bytes); throws if the file is shorter. */
  readExactly(target: Uint8Array, offset: number, length: number, position: number, pgno: number): void {
    const fd = this.fd;
    let done = 0;
    while (done < length) {
      const n = readSync(fd, target, offset + done, length - done, position + done);
      if (n === 0) throw this.damaged(pgno, `is cut short: the file ends before byte ${position + length}`);
      done += n;
    }
  }

  #read(pgno: number, page: Buffer, kind: number): Buffer {
    this.readExactly(page, 0, this.pageSize, pgno * this.pageSize, pgno);
    const number = readPgno(page, 0);
    if (number !== pgno) throw this.damaged(pgno, `holds page number ${number}`);
    const flags = readU16(page, PAGE_FLAGS_OFFSET) & PAGE_TYPE_FLAGS;
    if (flags !== kind) {
      const expected = kind === P_BRANCH ? 'a branch page' : 'a leaf page';
      throw this.damaged(pgno, `has page flags 0x${flags.toString(16)} where the tree needs ${expected}`);
    }
    const lower = readU16(page, PAGE_LOWER_OFFSET);
    const upper = readU16(page, PAGE_UPPER_OFFSET);
    if (lower < PAGE_HEADER_SIZE || (lower & 1) !== 0 || lower > upper || upper > this.pageSize) {
      throw this.damaged(pgno, `has an impossible free space ${lower}…${upper}`);
    }
    if (kind === P_BRANCH && lower === PAGE_HEADER_SIZE) throw this.damaged(pgno, 'is a branch page without children');
    return page;
  }
}

/** Inserts into a bounded cache, dropping the oldest entry when full (no per-hit bookkeeping). */
function remember(cache: Map<number, Buffer>, pgno: number, page: Buffer, limit: number): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value!);
  cache.set(pgno, page);
}
