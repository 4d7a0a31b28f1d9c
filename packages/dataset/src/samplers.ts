import { expectBoolean, expectNonNegativeInteger, expectPositiveInteger, invalidOption } from '@imgstore/core';
import { mixSeed, seededPermutation } from './seeded-shuffle.js';

/** An epoch's traversal order. Samplers are strategies; the DataLoader asks one for each epoch. */
export interface Sampler {
  /** How many indices one epoch yields. */
  readonly length: number;
  indices(epoch: number): Iterable<number>;
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
}

export interface DistributedSamplerOptions {
  /** Dataset length. */
  length: number;
  /** This process's rank, 0..worldSize-1. */
  rank: number;
  /** Number of processes sharing the dataset. */
  worldSize: number;
  /** Shuffle each epoch (same permutation on every rank). Default true. */
  shuffle?: boolean;
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
  readonly #shuffle: boolean;
  readonly #seed: number;
  readonly #total: number;

  constructor(options: DistributedSamplerOptions) {
    this.#datasetLength = expectNonNegativeInteger('length', options.length);
    this.worldSize = expectPositiveInteger('worldSize', options.worldSize);
    this.rank = expectNonNegativeInteger('rank', options.rank);
    if (this.rank >= this.worldSize) throw invalidOption('rank', `integer below worldSize (${this.worldSize})`, options.rank);
    this.#shuffle = expectBoolean('shuffle', options.shuffle ?? true);
    this.#seed = expectNonNegativeInteger('seed', options.seed ?? 0);
    const dropLast = expectBoolean('dropLast', options.dropLast ?? false);
    this.length = dropLast
      ? Math.floor(this.#datasetLength / this.worldSize)
      : Math.ceil(this.#datasetLength / this.worldSize);
    this.#total = this.length * this.worldSize;
  }

  *indices(epoch: number): Iterable<number> {
    const n = this.#datasetLength;
    if (n === 0) return;
    const order = this.#shuffle ? seededPermutation(n, mixSeed(this.#seed, epoch)) : null;
    // Position p of the padded (or truncated) global order; ranks take every worldSize-th position.
    for (let p = this.rank; p < this.#total; p += this.worldSize) {
      const q = p % n;
      yield order ? order[q]! : q;
    }
  }
}
