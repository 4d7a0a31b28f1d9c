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
