import {
  ImgstoreError,
  expectBoolean,
  expectKnownKeys,
  expectNonNegativeInteger,
  expectPositiveInteger,
  invalidOption,
  shapeByteLength,
  type Dataset,
  type Shape,
} from '@imgstore/core';
import { RandomSampler, SequentialSampler, type Sampler } from './samplers.js';

/** What the DataLoader needs of a sample: pixels, their shape, and a label (null = unlabeled). */
export interface BatchableSample {
  label: number | null;
  shape: Shape;
  data: Uint8Array;
}

/** One batch: `data` holds `shape[0]` samples back to back, uint8 [B, H, W, C]. */
export interface Batch {
  data: Uint8Array;
  shape: [batch: number, height: number, width: number, channels: number];
  /** Label per sample; -1 for unlabeled samples. */
  labels: Int32Array;
  /** Dataset index of each sample in the batch. */
  indices: Uint32Array;
}

export interface DataLoaderOptions {
  /** Samples per batch. Required. */
  batchSize: number;
  /** A new seeded permutation every epoch. Default false (dataset order). Ignored when `sampler` is given. */
  shuffle?: boolean;
  /** Seed of the shuffle; the same seed gives the same order. Default 0. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** A custom traversal (e.g. DistributedSampler). Default: sequential, or seeded random with `shuffle`. */
  sampler?: Sampler;
}

const KNOWN = ['batchSize', 'shuffle', 'seed', 'dropLast', 'sampler'];

/**
 * Batches a dataset. Each `for await` over the loader is one epoch; the epoch number advances each time
 * (or is set with `setEpoch`), so shuffled epochs differ and are reproducible. Samples for which the
 * dataset returns `undefined` (SafeDataset's `skip`) are passed over and the batch is filled from the
 * next indices.
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset<BatchableSample | undefined>;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly sampler: Sampler;
  #epoch = 0;

  constructor(dataset: Dataset<BatchableSample | undefined>, options: DataLoaderOptions) {
    if (typeof dataset?.get !== 'function' || typeof dataset.length !== 'number') {
      throw invalidOption('dataset', 'Dataset (length and get)', dataset);
    }
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, KNOWN);
    this.dataset = dataset;
    this.batchSize = expectPositiveInteger('batchSize', options.batchSize);
    this.dropLast = expectBoolean('dropLast', options.dropLast ?? false);
    const shuffle = expectBoolean('shuffle', options.shuffle ?? false);
    const seed = expectNonNegativeInteger('seed', options.seed ?? 0);
    if (options.sampler !== undefined && typeof options.sampler?.indices !== 'function') {
      throw invalidOption('sampler', 'Sampler (length and indices)', options.sampler);
    }
    this.sampler =
      options.sampler ?? (shuffle ? new RandomSampler(dataset.length, seed) : new SequentialSampler(dataset.length));
  }

  /** The epoch the next iteration runs. */
  get epoch(): number {
    return this.#epoch;
  }

  setEpoch(epoch: number): void {
    this.#epoch = expectNonNegativeInteger('epoch', epoch);
  }

  /** Batches per epoch when no sample is skipped. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const epoch = this.#epoch++;
    let batch: BatchBuilder | null = null;
    for (const index of this.sampler.indices(epoch)) {
      let sample = this.dataset.get(index);
      if (sample instanceof Promise) sample = await sample;
      if (sample === undefined) continue;
      batch ??= new BatchBuilder(this.batchSize, sample.shape);
      batch.add(index, sample);
      if (batch.full) {
        yield batch.build();
        batch = null;
      }
    }
    if (batch && !this.dropLast) yield batch.build();
  }
}

/** Copies samples into one contiguous buffer as they arrive. A fresh buffer per batch: the caller keeps it. */
class BatchBuilder {
  readonly #shape: Shape;
  readonly #sampleBytes: number;
  readonly #data: Uint8Array;
  readonly #labels: Int32Array;
  readonly #indices: Uint32Array;
  #count = 0;

  constructor(capacity: number, shape: Shape) {
    this.#shape = shape;
    this.#sampleBytes = shapeByteLength(shape);
    this.#data = new Uint8Array(capacity * this.#sampleBytes);
    this.#labels = new Int32Array(capacity);
    this.#indices = new Uint32Array(capacity);
  }

  get full(): boolean {
    return this.#count === this.#indices.length;
  }

  add(index: number, sample: BatchableSample): void {
    const s = sample.shape;
    if (s[0] !== this.#shape[0] || s[1] !== this.#shape[1] || s[2] !== this.#shape[2] || sample.data.length !== this.#sampleBytes) {
      throw new ImgstoreError(
        'ERR_IMGSTORE_SHAPE_MISMATCH',
        `Sample ${index} has shape ${JSON.stringify(s)} but this batch holds ${JSON.stringify(this.#shape)}; batching needs samples of one shape`,
      );
    }
    this.#data.set(sample.data, this.#count * this.#sampleBytes);
    this.#labels[this.#count] = sample.label ?? -1;
    this.#indices[this.#count] = index;
    this.#count++;
  }

  build(): Batch {
    const n = this.#count;
    return {
      data: n === this.#indices.length ? this.#data : this.#data.subarray(0, n * this.#sampleBytes),
      shape: [n, this.#shape[0], this.#shape[1], this.#shape[2]],
      labels: n === this.#labels.length ? this.#labels : this.#labels.subarray(0, n),
      indices: n === this.#indices.length ? this.#indices : this.#indices.subarray(0, n),
    };
  }
}
