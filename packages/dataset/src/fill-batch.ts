import { ImgstoreError, shapeByteLength, type Dataset, type SampleInfo, type Shape } from '@imgstore/core';
import type { BatchSlot } from './batch-slots.js';
import { augmentInto, type AugmentSpec } from './augment.js';
import { normalizeSample, type NormalizeSpec } from './normalize.js';

/** How samples become a batch: their shape, the batch's per-sample shape, and optional transforms. */
export interface FillPlan {
  /** Shape every sample has. */
  shape: Shape;
  /** Shape of each sample in the batch (the crop size when cropping, else `shape`). */
  output: Shape;
  normalize?: NormalizeSpec | undefined;
  augment?: AugmentSpec | undefined;
}

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
export async function fillBatch(read: ReadInto, indices: ArrayLike<number>, slot: BatchSlot, plan: FillPlan, epoch: number): Promise<number> {
  const { shape, output, normalize, augment } = plan;
  const outputBytes = shapeByteLength(output);
  // With an augmentation the sample is read whole into a scratch buffer, then cropped/flipped into place.
  const scratch = augment ? scratchFor(shapeByteLength(shape)) : null;
  let count = 0;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    let info = scratch ? read(index, scratch, 0) : read(index, slot.data, count * outputBytes);
    if (isPromise<SampleInfo | undefined>(info)) info = await info;
    if (info === undefined) continue;
    const s = info.shape;
    if (s[0] !== shape[0] || s[1] !== shape[1] || s[2] !== shape[2]) {
      throw new ImgstoreError(
        'ERR_IMGSTORE_SHAPE_MISMATCH',
        `Sample ${index} has shape ${JSON.stringify(s)} but the batch holds ${JSON.stringify(shape)}; batching needs samples of one shape`,
      );
    }
    if (scratch) augmentInto(augment!, shape, scratch, slot.data, count * outputBytes, epoch, index);
    slot.labels[count] = info.label ?? -1;
    slot.indices[count] = index;
    if (normalize && slot.tensor) normalizeSample(normalize, output, slot.data, slot.tensor, count);
    count++;
  }
  return count;
}

let scratchBuffer = new Uint8Array(0);

/** One scratch buffer per thread, grown to the largest sample seen. */
function scratchFor(bytes: number): Uint8Array {
  if (scratchBuffer.length < bytes) scratchBuffer = new Uint8Array(bytes);
  return scratchBuffer;
}
