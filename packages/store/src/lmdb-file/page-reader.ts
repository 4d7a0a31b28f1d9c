import { closeSync, openSync, read, readSync } from 'node:fs';
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

/** Bytes per asynchronous prefetch read at most: a block of records (2 MiB of 12 KiB samples) is one read. */
const PREFETCH_CHUNK = 4 << 20;
/** Where prefetch reads land, shared and never looked at: only the page cache they fill matters. */
let prefetchSink: Buffer | null = null;

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
  /**
   * Prefetch reads go through their own descriptor: the kernel keeps readahead state per open file, so
   * the records' scattered reads and the prefetches do not shape each other's readahead. -1 until the
   * first prefetch.
   */
  #prefetchFd = -1;
  /**
   * Prefetch reads whose completion has not been seen: close() leaves #prefetchFd open until they are.
   * Not a limit on reads in flight: completions are only seen when the event loop turns, which a
   * loop of awaits on resolved promises (a DataLoader filling batches in this thread) may not do for
   * a whole epoch; callers bound what they ask for (a StoreReader.willNeed call, 32 MiB).
   */
  #prefetching = 0;

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
    // A read still on the thread pool must not meet a closed descriptor number that is reused meanwhile
    // (it would read from another file or socket): then the last one back closes it.
    if (this.#prefetchFd >= 0 && this.#prefetching === 0) this.#closePrefetchFd();
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

  /** Whether leaf page `pgno` is in the leaf cache (a lookup through it reads nothing). */
  hasLeaf(pgno: number): boolean {
    return this.#leaves.has(pgno);
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

  /**
   * Starts reading bytes [position, position + length) of the file on libuv's thread pool, into a
   * buffer nobody looks at, so that the OS page cache holds them when they are read for real: for
   * data read soon in an order the kernel's readahead cannot guess. Returns at once; never throws
   * (clamped to the file; does nothing when closed; read errors are ignored: the real read reports them).
   */
  prefetch(position: number, length: number): void {
    if (this.#fd < 0 || !(length > 0) || !(position >= 0)) return;
    if (this.#prefetchFd < 0) {
      try {
        this.#prefetchFd = openSync(this.dataFile, 'r');
      } catch {
        return; // a hint: the records' own reads still work
      }
    }
    const end = Math.min(position + length, this.filePages * this.pageSize);
    const sink = (prefetchSink ??= Buffer.allocUnsafe(PREFETCH_CHUNK));
    for (let at = position; at < end; at += PREFETCH_CHUNK) {
      const bytes = Math.min(PREFETCH_CHUNK, end - at);
      this.#prefetching++;
      read(this.#prefetchFd, sink, 0, bytes, at, () => {
        if (--this.#prefetching === 0 && this.#fd < 0) this.#closePrefetchFd();
      });
    }
  }

  #closePrefetchFd(): void {
    const fd = this.#prefetchFd;
    this.#prefetchFd = -1;
    try {
      closeSync(fd);
    } catch {
      // nothing to report to: the reader is closed
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
