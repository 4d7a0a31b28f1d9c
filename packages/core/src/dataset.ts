/**
 * Anything indexable by 0..length-1. Stores, wrappers and in-memory arrays all implement it; the
 * dataset package (SafeDataset, samplers, DataLoader) works over this interface alone.
 * `get` may return a promise (for datasets that decode on demand).
 */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/** True when `index` is an integer in [0, length). */
export function isValidIndex(index: number, length: number): boolean {
  return Number.isInteger(index) && index >= 0 && index < length;
}

/**
 * How to rebuild a dataset inside a worker thread: `import(module)`, then `await module[factory](...args)`.
 * `args` must survive structured cloning. Datasets that can be read from several threads provide it.
 */
export interface DatasetSource {
  module: string;
  factory: string;
  args: unknown[];
}

/** A dataset that worker threads can reopen (e.g. a store: each worker opens it read-only). */
export interface ReopenableDataset<T> extends Dataset<T> {
  toSource(): DatasetSource;
}

/** What a sample reader writes straight into a batch: everything but the pixels, which go to `target`. */
export interface SampleInfo {
  label: number | null;
  shape: readonly [number, number, number];
  /** Multi-label stores: the sample's class indices (see SampleRecord.labels). */
  labels?: number[];
  /** The sample's metadata, when it has some (see SampleRecord.meta). */
  meta?: unknown;
}

/**
 * Optional fast path: a dataset that can copy a sample's pixels straight into `target` at `offset`
 * (one copy, no intermediate buffer). DataLoaders use it when present.
 */
export interface DirectReadDataset<T> extends Dataset<T> {
  readInto(index: number, target: Uint8Array, offset: number): SampleInfo;
}
