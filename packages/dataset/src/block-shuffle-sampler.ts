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
 * indices are cut into blocks of `blockSize` consecutive indices, the blocks are visited in a seeded
 * random order, and each next index is drawn uniformly from what remains of the `window` blocks open at
 * that moment (a block closes when it is used up and the next one opens). So at any time reads fall in
 * at most `window` runs of consecutive records, and each index comes exactly once.
 */
export function blockShuffle(length: number, seed: number, blockSize: number, window: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORDS) throw invalidOption('length', `integer from 0 to ${MAX_RECORDS}`, length);
  const blocks = Math.ceil(length / blockSize);
  const blockOrder = seededPermutation(blocks, mixSeed(seed, 1));
  const next = createRandom(mixSeed(seed, 2));
  const out = allocate(length);
  // Open blocks: each one's remaining indices in a buffer, drawn without replacement (swap-remove).
  const open: Uint32Array[] = [];
  const left: number[] = [];
  let remaining = 0;
  let opened = 0;
  const openNext = (): void => {
    const b = blockOrder[opened++]!;
    const start = b * blockSize;
    const size = Math.min(blockSize, length - start);
    const items = new Uint32Array(size);
    for (let i = 0; i < size; i++) items[i] = start + i;
    open.push(items);
    left.push(size);
    remaining += size;
  };
  while (opened < blocks && open.length < window) openNext();
  for (let k = 0; k < length; k++) {
    // A uniform draw over every index still open: pick its block, then its place in the block.
    let u = boundedRandom(next, remaining);
    let j = 0;
    while (u >= left[j]!) u -= left[j++]!;
    const items = open[j]!;
    const last = --left[j]!;
    out[k] = items[u]!;
    items[u] = items[last]!;
    remaining--;
    if (last === 0) {
      open.splice(j, 1);
      left.splice(j, 1);
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
