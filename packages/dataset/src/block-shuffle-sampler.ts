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
}

export const BLOCK_SHUFFLE_DEFAULTS = { blockSize: 128, window: 16 } as const;

/**
 * A locality-friendly permutation of 0..length-1 (like FFCV's QUASI_RANDOM or MDS shuffle blocks): the
 * indices are cut into blocks of `blockSize` consecutive indices, the blocks are opened in a seeded random
 * order, `window` at a time, and each next index is the next one of an open block drawn at random
 * (weighted by what it has left, so every remaining index of the window is equally likely to come next);
 * a used-up block closes and the next one opens. Each block is read front to back: reads then form at
 * most `window` sequential streams, which the OS reads ahead, where a random order within a block would
 * cost one disk request per record once the store outgrows the page cache. Each index comes exactly once.
 */
export function blockShuffle(length: number, seed: number, blockSize: number, window: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORDS) throw invalidOption('length', `integer from 0 to ${MAX_RECORDS}`, length);
  const blocks = Math.ceil(length / blockSize);
  const blockOrder = seededPermutation(blocks, mixSeed(seed, 1));
  const next = createRandom(mixSeed(seed, 2));
  const out = allocate(length);
  // Open blocks as [next index, end) runs.
  const cursor: number[] = [];
  const end: number[] = [];
  let remaining = 0;
  let opened = 0;
  const openNext = (): void => {
    const start = blockOrder[opened++]! * blockSize;
    const stop = Math.min(start + blockSize, length);
    cursor.push(start);
    end.push(stop);
    remaining += stop - start;
  };
  while (opened < blocks && cursor.length < window) openNext();
  for (let k = 0; k < length; k++) {
    let u = boundedRandom(next, remaining);
    let j = 0;
    while (u >= end[j]! - cursor[j]!) u -= end[j]! - cursor[j++]!;
    out[k] = cursor[j]!++;
    remaining--;
    if (cursor[j] === end[j]) {
      cursor.splice(j, 1);
      end.splice(j, 1);
      if (opened < blocks) openNext();
    }
  }
  return out;
}

/** The block shuffle as a sampler: a new locality-friendly order every epoch, reproducible from (seed, epoch). */
export class BlockShuffleSampler implements Sampler {
  readonly length: number;
  readonly seed: number;
  readonly blockSize: number;
  readonly window: number;

  constructor(length: number, options: BlockShuffleOptions = {}) {
    this.length = expectNonNegativeInteger('length', length);
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, ['seed', 'blockSize', 'window']);
    this.seed = expectNonNegativeInteger('seed', options.seed ?? 0);
    this.blockSize = expectPositiveInteger('blockSize', options.blockSize ?? BLOCK_SHUFFLE_DEFAULTS.blockSize);
    this.window = expectPositiveInteger('window', options.window ?? BLOCK_SHUFFLE_DEFAULTS.window);
  }

  indices(epoch: number): Iterable<number> {
    return blockShuffle(this.length, mixSeed(this.seed, epoch), this.blockSize, this.window);
  }

  stateDict(): SamplerState {
    return { type: 'BlockShuffleSampler', length: this.length, seed: this.seed, blockSize: this.blockSize, window: this.window };
  }
}

function allocate(length: number): Uint32Array {
  try {
    return new Uint32Array(length);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new InvalidOptionError('length', `Cannot allocate an order of ${length} indices (${length * 4} bytes): ${cause.message}`);
  }
}
