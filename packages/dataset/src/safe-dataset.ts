import { expectKnownKeys, expectOneOf, invalidOption, SampleLoadError, type Dataset } from '@imgstore/core';

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
  readonly #onSkip: ((skipped: SkippedSample) => void) | undefined;

  constructor(dataset: Dataset<T>, options: SafeDatasetOptions = {}) {
    if (typeof dataset?.get !== 'function') throw invalidOption('dataset', 'Dataset (length and get)', dataset);
    expectKnownKeys('', options, ['policy', 'onSkip']);
    this.dataset = dataset;
    this.policy = expectOneOf('policy', options.policy ?? 'skip', SAFE_POLICIES);
    if (options.onSkip !== undefined && typeof options.onSkip !== 'function') {
      throw invalidOption('onSkip', 'function', options.onSkip);
    }
    this.#onSkip = options.onSkip;
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
    this.#onSkip?.(skipped);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
