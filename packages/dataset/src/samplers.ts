import { expectBoolean, expectKnownKeys, expectNonNegativeInteger, expectPositiveInteger, invalidOption } from '@imgstore/core';
import { mixSeed, seededPermutation } from './seeded-shuffle.js';
import { BLOCK_SHUFFLE_DEFAULTS, blockShuffle } from './block-shuffle-sampler.js';

/** An epoch's traversal order. Samplers are strategies; the DataLoader asks one for each epoch. */
export interface Sampler {
  /** How many indices one epoch yields. */
  readonly length: number;
  indices(epoch: number): Iterable<number>;
  /**
   * What the order depends on, as small JSON: the DataLoader's `stateDict()` includes it and
   * `loadStateDict()` refuses a state saved with another order. Without it, only `length` is checked.
   */
  stateDict?(): SamplerState;
}

/** A sampler's description in a loader state: its type and whatever its order depends on. */
export interface SamplerState {
  type: string;
  length: number;
  /** DistributedSampler: the world size the state was saved at (a resume may use another one). */
  worldSize?: number;
  [key: string]: string | number | boolean | undefined;
}

/** 0, 1, ..., length-1 every epoch. */
export class SequentialSampler implements Sampler {
  readonly length: number;
  constructor(length: number) {
    this.length = expectNonNegativeInteger('length', length);
  }
  *indices(): Iterable<number> {
    for (let i = 0; i < this.length; i++) yield i;
  }
  stateDict(): SamplerState {
    return { type: 'SequentialSampler', length: this.length };
  }
}

/** A fresh permutation each epoch, reproducible from (seed, epoch). */
export class RandomSampler implements Sampler {
  readonly length: number;
  readonly seed: number;
  constructor(length: number, seed = 0) {
    this.length = expectNonNegativeInteger('length', length);
    this.seed = expectNonNegativeInteger('seed', seed);
  }
  indices(epoch: number): Iterable<number> {
    return seededPermutation(this.length, mixSeed(this.seed, epoch));
  }
  stateDict(): SamplerState {
    return { type: 'RandomSampler', length: this.length, seed: this.seed };
  }
}

export interface DistributedSamplerOptions {
  /** Dataset length. */
  length: number;
  /** This process's rank, 0..worldSize-1. */
  rank: number;
  /** Number of processes sharing the dataset. */
  worldSize: number;
  /**
   * Shuffle each epoch (same order on every rank). Default true. `'block'`: the locality-friendly block
   * shuffle (see BlockShuffleSampler), with `blockSize` and `window`.
   */
  shuffle?: boolean | 'block';
  /** With `shuffle: 'block'`: consecutive indices per block. Default 128. */
  blockSize?: number;
  /** With `shuffle: 'block'`: blocks open at once. Default 16. */
  window?: number;
  /** Default 0; every rank must use the same seed. */
  seed?: number;
  /** Drop the tail so ranks split evenly, instead of padding by repeating indices. Default false. */
  dropLast?: boolean;
}

/**
 * One rank's share of each epoch, following PyTorch's DistributedSampler: every rank gets the same
 * number of indices; without dropLast the permutation is padded by repeating its start, so together
 * the ranks cover every index (a few twice).
 */
export class DistributedSampler implements Sampler {
  readonly length: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly #datasetLength: number;
  readonly #shuffle: boolean | 'block';
  readonly #seed: number;
  readonly #dropLast: boolean;
  readonly #blockSize: number;
  readonly #window: number;
  readonly #total: number;

  constructor(options: DistributedSamplerOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, ['length', 'rank', 'worldSize', 'shuffle', 'seed', 'dropLast', 'blockSize', 'window']);
    this.#datasetLength = expectNonNegativeInteger('length', options.length);
    this.worldSize = expectPositiveInteger('worldSize', options.worldSize);
    this.rank = expectNonNegativeInteger('rank', options.rank);
    if (this.rank >= this.worldSize) throw invalidOption('rank', `integer below worldSize (${this.worldSize})`, options.rank);
    const shuffle = options.shuffle ?? true;
    if (typeof shuffle !== 'boolean' && shuffle !== 'block') throw invalidOption('shuffle', "boolean or 'block'", shuffle);
    this.#shuffle = shuffle;
    this.#seed = expectNonNegativeInteger('seed', options.seed ?? 0);
    this.#blockSize = expectPositiveInteger('blockSize', options.blockSize ?? BLOCK_SHUFFLE_DEFAULTS.blockSize);
    this.#window = expectPositiveInteger('window', options.window ?? BLOCK_SHUFFLE_DEFAULTS.window);
    const dropLast = (this.#dropLast = expectBoolean('dropLast', options.dropLast ?? false));
    this.length = dropLast
      ? Math.floor(this.#datasetLength / this.worldSize)
      : Math.ceil(this.#datasetLength / this.worldSize);
    this.#total = this.length * this.worldSize;
  }

  *indices(epoch: number): Iterable<number> {
    const n = this.#datasetLength;
    if (n === 0) return;
    const seed = mixSeed(this.#seed, epoch);
    const order =
      this.#shuffle === 'block'
        ? blockShuffle(n, seed, this.#blockSize, this.#window)
        : this.#shuffle
          ? seededPermutation(n, seed)
          : null;
    // Position p of the padded (or truncated) global order; ranks take every worldSize-th position.
    for (let p = this.rank; p < this.#total; p += this.worldSize) {
      const q = p % n;
      yield order ? order[q]! : q;
    }
  }

  /**
   * The order's inputs and the world size. Position p of the global order goes to rank p % worldSize,
   * so skipping s indices on each of W ranks skips global positions 0..sW-1: a state saved at W resumes
   * at any W' that divides the positions consumed (e.g. the same global batch, batchSize × worldSize).
   */
  stateDict(): SamplerState {
    return {
      type: 'DistributedSampler',
      length: this.#datasetLength,
      worldSize: this.worldSize,
      rank: this.rank,
      shuffle: this.#shuffle,
      seed: this.#seed,
      dropLast: this.#dropLast,
      ...(this.#shuffle === 'block' ? { blockSize: this.#blockSize, window: this.#window } : {}),
    };
  }
}
