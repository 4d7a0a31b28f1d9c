import { InvalidOptionError, MAX_RECORDS, expectKnownKeys, expectNonNegativeInteger, expectPositiveInteger, invalidOption } from '@imgstore/core';
import { boundedRandom, createRandom, mixSeed, seededPermutation } from './seeded-shuffle.js';
import type { Sampler, SamplerState } from './samplers.js';

export interface BlockShuffleOptions {
  /** Default 0; the same (seed, epoch) gives the same order. */
  seed?: number;
  /** Consecutive indices per block. Default 128. */
  blockSize?: number;
  /** Blocks open at once, whose remaining indices are drawn from at random. Default 16. */
  window?: number;
  /**
   * Called once per block with its first and last index (inclusive), `lookahead` block openings before
   * the block opens, so always before any of its indices is yielded: `window + lookahead` blocks at the
   * start of an epoch, then one whenever a block is used up. E.g. `(first, last) => store.willNeed(first,
   * last)`: a store larger than memory then reads each block with one large read that is done before its
   * records are read. The order does not depend on it. With it, `indices` draws the order as it is
   * iterated instead of all at once.
   */
  onBlockOpen?: (first: number, last: number) => void;
  /**
   * How many block openings ahead onBlockOpen hears of a block. Default 4: a prefetch started only as
   * its block opens is often not back when the block's first records are read (16 interleaved 2 MiB
   * blocks read in 16 KiB pieces, each prefetched, file 5× a 400 MiB memory cap: 1.15 bytes from disk
   * per byte used with 0, 0.93 with 4, 0.83 with 8).
   */
  lookahead?: number;
}

export const BLOCK_SHUFFLE_DEFAULTS = { blockSize: 128, window: 16, lookahead: 4 } as const;

/**
 * A locality-friendly permutation of 0..length-1 (like FFCV's QUASI_RANDOM or MDS shuffle blocks): the
 * indices are cut into blocks of `blockSize` consecutive indices, the blocks are opened in a seeded random
 * order, `window` at a time, and each next index is the next one of an open block drawn at random
 * (weighted by what it has left, so every remaining index of the window is equally likely to come next);
 * a used-up block closes and the next one opens. Each block is read front to back: reads then form at
 * most `window` sequential streams, where a random order within a block would cost one disk request per
 * record once the store outgrows the page cache. The kernel's readahead follows interleaved streams
 * poorly (it read 2.5× the bytes used in `npm run bench:shuffle`): `onBlockOpen` lets the reader fetch
 * each block with one large read instead. Each index comes exactly once.
 */
export function blockShuffle(length: number, seed: number, blockSize: number, window: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORDS) throw invalidOption('length', `integer from 0 to ${MAX_RECORDS}`, length);
  const order = new BlockOrder(length, seed, blockSize, window);
  const out = allocate(length);
  for (let k = 0; k < length; k++) out[k] = order.next();
  return out;
}

/**
 * The block shuffle drawn one index at a time; `onOpen(first, last)` hears of each block `lookahead`
 * openings before it opens.
 */
class BlockOrder {
  readonly #length: number;
  readonly #blockSize: number;
  readonly #blockOrder: Uint32Array;
  readonly #random: () => number;
  readonly #onOpen: ((first: number, last: number) => void) | undefined;
  // Open blocks as [next index, end) runs.
  readonly #cursor: number[] = [];
  readonly #end: number[] = [];
  #remaining = 0;
  #opened = 0;
  readonly #lookahead: number;
  /** Blocks (in opening order) onOpen has heard of. */
  #announced = 0;

  constructor(length: number, seed: number, blockSize: number, window: number, onOpen?: (first: number, last: number) => void, lookahead = 0) {
    this.#length = length;
    this.#blockSize = blockSize;
    this.#blockOrder = seededPermutation(Math.ceil(length / blockSize), mixSeed(seed, 1));
    this.#random = createRandom(mixSeed(seed, 2));
    this.#onOpen = onOpen;
    this.#lookahead = lookahead;
    while (this.#opened < this.#blockOrder.length && this.#cursor.length < window) this.#openNext();
  }

  /** The next index; call it `length` times. */
  next(): number {
    const cursor = this.#cursor;
    const end = this.#end;
    let u = boundedRandom(this.#random, this.#remaining);
    let j = 0;
    while (u >= end[j]! - cursor[j]!) u -= end[j]! - cursor[j++]!;
    const index = cursor[j]!++;
    this.#remaining--;
    if (cursor[j] === end[j]) {
      cursor.splice(j, 1);
      end.splice(j, 1);
      if (this.#opened < this.#blockOrder.length) this.#openNext();
    }
    return index;
  }

  #openNext(): void {
    const start = this.#blockOrder[this.#opened++]! * this.#blockSize;
    const stop = Math.min(start + this.#blockSize, this.#length);
    this.#cursor.push(start);
    this.#end.push(stop);
    this.#remaining += stop - start;
    if (this.#onOpen === undefined) return;
    const blocks = this.#blockOrder.length;
    while (this.#announced < Math.min(blocks, this.#opened + this.#lookahead)) {
      const first = this.#blockOrder[this.#announced++]! * this.#blockSize;
      this.#onOpen(first, Math.min(first + this.#blockSize, this.#length) - 1);
    }
  }
}

/** The block shuffle as a sampler: a new locality-friendly order every epoch, reproducible from (seed, epoch). */
export class BlockShuffleSampler implements Sampler {
  readonly length: number;
  readonly seed: number;
  readonly blockSize: number;
  readonly window: number;
  readonly onBlockOpen: ((first: number, last: number) => void) | undefined;
  readonly lookahead: number;

  constructor(length: number, options: BlockShuffleOptions = {}) {
    this.length = expectNonNegativeInteger('length', length);
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, ['seed', 'blockSize', 'window', 'onBlockOpen', 'lookahead']);
    this.seed = expectNonNegativeInteger('seed', options.seed ?? 0);
    this.blockSize = expectPositiveInteger('blockSize', options.blockSize ?? BLOCK_SHUFFLE_DEFAULTS.blockSize);
    this.window = expectPositiveInteger('window', options.window ?? BLOCK_SHUFFLE_DEFAULTS.window);
    if (options.onBlockOpen !== undefined && typeof options.onBlockOpen !== 'function') throw invalidOption('onBlockOpen', 'function', options.onBlockOpen);
    this.onBlockOpen = options.onBlockOpen;
    this.lookahead = expectNonNegativeInteger('lookahead', options.lookahead ?? BLOCK_SHUFFLE_DEFAULTS.lookahead);
  }

  indices(epoch: number): Iterable<number> {
    const seed = mixSeed(this.seed, epoch);
    if (this.onBlockOpen === undefined) return blockShuffle(this.length, seed, this.blockSize, this.window);
    return drawn(this.length, seed, this.blockSize, this.window, this.onBlockOpen, this.lookahead);
  }

  stateDict(): SamplerState {
    return { type: 'BlockShuffleSampler', length: this.length, seed: this.seed, blockSize: this.blockSize, window: this.window };
  }
}

/** Blocks open as the order is iterated, so that onBlockOpen comes just before each block is read. */
function* drawn(length: number, seed: number, blockSize: number, window: number, onOpen: (first: number, last: number) => void, lookahead: number): Generator<number> {
  const order = new BlockOrder(length, seed, blockSize, window, onOpen, lookahead);
  for (let k = 0; k < length; k++) yield order.next();
}

function allocate(length: number): Uint32Array {
  try {
    return new Uint32Array(length);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new InvalidOptionError('length', `Cannot allocate an order of ${length} indices (${length * 4} bytes): ${cause.message}`);
  }
}
