import { ImgstoreError, shapeByteLength, type Dataset, type SampleInfo, type Shape } from '@imgstore/core';
import type { BatchSlot } from './batch-slots.js';
import { normalizeSample, type NormalizeSpec } from './normalize.js';

/** What the DataLoader needs of a sample: pixels, their shape, and a label (null = unlabeled). */
export interface BatchableSample {
  label: number | null;
  shape: Shape;
  data: Uint8Array;
}

type ReadInto = (index: number, target: Uint8Array, offset: number) => SampleInfo | undefined | Promise<SampleInfo | undefined>;

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/**
 * The fastest way to get one sample's pixels into a batch: the dataset's own `readInto` (one copy),
 * else `get` and a copy. Returns undefined for a sample the dataset skips.
 */
export function sampleReader(dataset: Dataset<BatchableSample | undefined>): ReadInto {
  const direct = (dataset as { readInto?: ReadInto }).readInto;
  if (typeof direct === 'function') return direct.bind(dataset);
  return (index, target, offset) => {
    const sample = dataset.get(index);
    return isPromise<BatchableSample | undefined>(sample)
      ? sample.then((s) => copySample(s, target, offset))
      : copySample(sample, target, offset);
  };
}

/** Copies a sample's pixels into `target` at `offset` (unless they would not fit: the caller checks shapes). */
export function copySample(sample: BatchableSample | undefined, target: Uint8Array, offset: number): SampleInfo | undefined {
  if (sample === undefined) return undefined;
  if (sample.data.length + offset <= target.length) target.set(sample.data, offset);
  return { label: sample.label, shape: sample.shape };
}

/**
 * Fills `slot` with the samples at `indices`, in order, skipping those the dataset skips.
 * Returns how many samples the slot holds. Awaits only for datasets that return promises.
 */
export async function fillBatch(
  read: ReadInto,
  indices: ArrayLike<number>,
  slot: BatchSlot,
  shape: Shape,
  normalize?: NormalizeSpec,
): Promise<number> {
  const sampleBytes = shapeByteLength(shape);
  let count = 0;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    let info = read(index, slot.data, count * sampleBytes);
    if (isPromise<SampleInfo | undefined>(info)) info = await info;
    if (info === undefined) continue;
    const s = info.shape;
    if (s[0] !== shape[0] || s[1] !== shape[1] || s[2] !== shape[2]) {
      throw new ImgstoreError(
        'ERR_IMGSTORE_SHAPE_MISMATCH',
        `Sample ${index} has shape ${JSON.stringify(s)} but the batch holds ${JSON.stringify(shape)}; batching needs samples of one shape`,
      );
    }
    slot.labels[count] = info.label ?? -1;
    slot.indices[count] = index;
    if (normalize && slot.tensor) normalizeSample(normalize, shape, slot.data, slot.tensor, count);
    count++;
  }
  return count;
}
