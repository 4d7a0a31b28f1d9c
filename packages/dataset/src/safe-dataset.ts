import {
  expectKnownKeys,
  expectOneOf,
  invalidOption,
  SampleLoadError,
  type Dataset,
  type DatasetSource,
  type SampleInfo,
  type Shape,
} from '@imgstore/core';
import { copySample, type BatchableSample } from './fill-batch.js';
import { loadDataset } from './load-dataset.js';

export const SAFE_POLICIES = ['skip', 'substitute', 'throw'] as const;
/** What to do with a sample that fails to load. */
export type SafePolicy = (typeof SAFE_POLICIES)[number];

/** A sample that failed to load, and what was done about it. */
export interface SkippedSample {
  index: number;
  /** The error's message. */
  reason: string;
  error: unknown;
  /** Under `substitute`, the index served in its place. */
  substitute?: number;
}

export interface SafeDatasetOptions {
  /** `skip` (default): `get` returns undefined and the DataLoader moves on; `substitute`: the next index
   * that loads is served instead; `throw`: the error propagates. */
  policy?: SafePolicy;
  /** Called each time a sample fails under `skip` or `substitute`. */
  onSkip?: (skipped: SkippedSample) => void;
}

type Result<T> = T | undefined | Promise<T | undefined>;

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/**
 * Wraps a dataset so that one bad sample does not end an epoch (like Python's nonechucks).
 * Every failed index is reported through `onSkip` and kept in `skipped` with its reason.
 */
export class SafeDataset<T> implements Dataset<T | undefined> {
  readonly dataset: Dataset<T>;
  readonly policy: SafePolicy;
  /** Each index that failed, by index (latest failure). */
  readonly skipped = new Map<number, SkippedSample>();
  readonly #listeners: Array<(skipped: SkippedSample) => void> = [];

  constructor(dataset: Dataset<T>, options: SafeDatasetOptions = {}) {
    if (typeof dataset?.get !== 'function') throw invalidOption('dataset', 'Dataset (length and get)', dataset);
    expectKnownKeys('', options, ['policy', 'onSkip']);
    this.dataset = dataset;
    this.policy = expectOneOf('policy', options.policy ?? 'skip', SAFE_POLICIES);
    if (options.onSkip !== undefined && typeof options.onSkip !== 'function') {
      throw invalidOption('onSkip', 'function', options.onSkip);
    }
    if (options.onSkip) this.#listeners.push(options.onSkip);
  }

  /** Also call `listener` on each failure (the DataLoader relays failures seen in worker threads). */
  onSkipped(listener: (skipped: SkippedSample) => void): void {
    this.#listeners.push(listener);
  }

  /** Records a failure seen elsewhere (a worker's copy of this dataset) as if it happened here. */
  relaySkipped(skipped: SkippedSample): void {
    this.#report(skipped);
  }

  /** The wrapped dataset's sample shape, when it declares one. */
  get sampleShape(): Shape | undefined {
    return (this.dataset as { sampleShape?: Shape }).sampleShape;
  }

  /**
   * Copies sample `index` (or, under `substitute`, its substitute) into `target` at `offset`, using the
   * wrapped dataset's own `readInto` when it has one; undefined for a skipped sample.
   */
  readInto(index: number, target: Uint8Array, offset: number): Result<SampleInfo> {
    const direct = (this.dataset as { readInto?: (i: number, t: Uint8Array, o: number) => SampleInfo }).readInto;
    if (typeof direct !== 'function') {
      const sample = this.get(index) as Result<BatchableSample>;
      return isPromise<BatchableSample | undefined>(sample)
        ? sample.then((s) => copySample(s, target, offset))
        : copySample(sample, target, offset);
    }
    try {
      return direct.call(this.dataset, index, target, offset);
    } catch (error) {
      if (this.policy === 'throw') throw error;
      if (this.policy === 'skip') {
        this.#report({ index, reason: reasonOf(error), error });
        return undefined;
      }
      for (let step = 1; step < this.dataset.length; step++) {
        const candidate = (index + step) % this.dataset.length;
        try {
          const info = direct.call(this.dataset, candidate, target, offset);
          this.#report({ index, reason: reasonOf(error), error, substitute: candidate });
          return info;
        } catch {
          // try the next one
        }
      }
      throw new SampleLoadError(index, `Sample ${index} failed and no other sample loads to substitute it`, { cause: error });
    }
  }

  /** How a worker thread rebuilds this wrapper around its own copy of the inner dataset. */
  toSource(): DatasetSource {
    const inner = (this.dataset as { toSource?: () => DatasetSource }).toSource;
    if (typeof inner !== 'function') throw invalidOption('dataset.toSource', 'function (a dataset worker threads can reopen)', inner);
    return { module: import.meta.url, factory: 'reopenSafeDataset', args: [inner.call(this.dataset), { policy: this.policy }] };
  }

  get length(): number {
    return this.dataset.length;
  }

  get(index: number): Result<T> {
    return this.#attempt(index, (value) => value, (error) => this.#failed(index, error));
  }

  /** Calls dataset.get(index) and routes the value or the error (thrown or rejected), sync or async alike. */
  #attempt(index: number, onValue: (value: T) => Result<T>, onError: (error: unknown) => Result<T>): Result<T> {
    let value: T | Promise<T>;
    try {
      value = this.dataset.get(index);
    } catch (error) {
      return onError(error);
    }
    return isPromise<T>(value) ? value.then(onValue, onError) : onValue(value);
  }

  #failed(index: number, error: unknown): Result<T> {
    if (this.policy === 'throw') throw error;
    if (this.policy === 'skip') {
      this.#report({ index, reason: reasonOf(error), error });
      return undefined;
    }
    return this.#substitute(index, error, 1);
  }

  /** Tries index+1, index+2, ... (wrapping) until one loads: deterministic, each index tried once. */
  #substitute(index: number, error: unknown, step: number): Result<T> {
    if (step >= this.dataset.length) {
      throw new SampleLoadError(index, `Sample ${index} failed and no other sample loads to substitute it`, {
        cause: error,
      });
    }
    const candidate = (index + step) % this.dataset.length;
    return this.#attempt(
      candidate,
      (value) => {
        this.#report({ index, reason: reasonOf(error), error, substitute: candidate });
        return value;
      },
      () => this.#substitute(index, error, step + 1),
    );
  }

  #report(skipped: SkippedSample): void {
    this.skipped.set(skipped.index, skipped);
    for (const listener of this.#listeners) listener(skipped);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Worker-side factory named by SafeDataset.toSource(). */
export async function reopenSafeDataset<T>(source: DatasetSource, options: SafeDatasetOptions): Promise<SafeDataset<T>> {
  return new SafeDataset(await loadDataset<T>(source), options);
}
