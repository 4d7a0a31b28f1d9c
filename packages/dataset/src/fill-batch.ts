import { ShapeMismatchError, isVariableShape, shapeByteLength, type Dataset, type SampleInfo, type Shape } from '@imgstore/core';
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
  /** Multi-label stores: the sample's class indices. */
  labels?: number[];
  /** The sample's metadata, when it has some. */
  meta?: unknown;
}

/** Reads sample `index` into `target` at `offset`; `epoch` matters only to readers that draw crops. */
type ReadInto = (index: number, target: Uint8Array, offset: number, epoch?: number) => SampleInfo | undefined | Promise<SampleInfo | undefined>;

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/**
 * The fastest way to get one sample's pixels into a batch: the dataset's own `readInto` (one copy),
 * else `get` and a copy. Returns undefined for a sample the dataset skips. Samples of varying size
 * (plan.shape [0, 0, c]) are cropped into place as they are read (see variableSampleReader).
 */
export function sampleReader(dataset: Dataset<BatchableSample | undefined>, plan?: FillPlan): ReadInto {
  if (plan && isVariableShape(plan.shape)) return variableSampleReader(dataset, plan);
  const direct = (dataset as { readInto?: ReadInto }).readInto;
  if (typeof direct === 'function') return direct.bind(dataset);
  return (index, target, offset) => {
    const sample = dataset.get(index);
    return isPromise<BatchableSample | undefined>(sample)
      ? sample.then((s) => copySample(s, target, offset))
      : copySample(sample, target, offset);
  };
}

/**
 * For samples of varying size: `get` each one whole, then crop (and flip) it straight into the batch at
 * `offset` with this epoch's draw, as a fixed-size sample would be through the scratch buffer. The info it
 * returns has the crop's shape, so that fillBatch sees one shape per batch.
 */
function variableSampleReader(dataset: Dataset<BatchableSample | undefined>, plan: FillPlan): ReadInto {
  const spec = plan.augment!;
  const [cropHeight, cropWidth] = spec.crop!;
  const place = (sample: BatchableSample | undefined, index: number, target: Uint8Array, offset: number, epoch: number): SampleInfo | undefined => {
    if (sample === undefined) return undefined;
    const [h, w, c] = sample.shape;
    if (c !== plan.shape[2] || h < cropHeight || w < cropWidth) {
      throw new ShapeMismatchError(
        index,
        `Sample ${index} is ${h}×${w}×${c}, smaller than the crop ${cropHeight}×${cropWidth}×${plan.shape[2]}; ` +
          'crop at most the shorter side the store was converted with (--size shorter:N)',
      );
    }
    augmentInto(spec, sample.shape, sample.data, target, offset, epoch, index);
    return withExtras({ label: sample.label, shape: plan.output }, sample);
  };
  return (index, target, offset, epoch = 0) => {
    const sample = dataset.get(index);
    return isPromise<BatchableSample | undefined>(sample)
      ? sample.then((s) => place(s, index, target, offset, epoch))
      : place(sample, index, target, offset, epoch);
  };
}

/** Copies a sample's pixels into `target` at `offset` (unless they would not fit: the caller checks shapes). */
export function copySample(sample: BatchableSample | undefined, target: Uint8Array, offset: number): SampleInfo | undefined {
  if (sample === undefined) return undefined;
  if (sample.data.length + offset <= target.length) target.set(sample.data, offset);
  return withExtras({ label: sample.label, shape: sample.shape }, sample);
}

/** `info` with the sample's multi-label labels and metadata, where it has them. */
function withExtras(info: SampleInfo, sample: BatchableSample): SampleInfo {
  if (sample.labels !== undefined) info.labels = sample.labels;
  if (sample.meta !== undefined) info.meta = sample.meta;
  return info;
}

/**
 * Fills `slot` with the samples at `indices`, in order, skipping those the dataset skips.
 * Returns how many samples the slot holds. Awaits only for datasets that return promises, and for
 * `pause` when it returns a promise (called after each sample: the DataLoader lets worker replies in).
 */
export async function fillBatch(
  read: ReadInto,
  indices: ArrayLike<number>,
  slot: BatchSlot,
  plan: FillPlan,
  epoch: number,
  pause?: () => Promise<void> | undefined,
): Promise<number> {
  const { output, normalize } = plan;
  const variable = isVariableShape(plan.shape);
  // Variable-size samples arrive cropped (variableSampleReader): from here on they look fixed-size.
  const shape = variable ? output : plan.shape;
  const augment = variable ? undefined : plan.augment;
  const outputBytes = shapeByteLength(output);
  // With an augmentation the sample is read whole into a scratch buffer, then cropped/flipped into place.
  const scratch = augment ? scratchFor(shapeByteLength(shape)) : null;
  let count = 0;
  // Per-sample labels (multi-label stores) and metadata, gathered only when a sample has some.
  let labelLists: number[][] | undefined;
  let meta: unknown[] | undefined;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    let info = scratch ? read(index, scratch, 0, epoch) : read(index, slot.data, count * outputBytes, epoch);
    if (isPromise<SampleInfo | undefined>(info)) info = await info;
    if (info === undefined) continue;
    const s = info.shape;
    if (s[0] !== shape[0] || s[1] !== shape[1] || s[2] !== shape[2]) {
      throw new ShapeMismatchError(
        index,
        `Sample ${index} has shape ${JSON.stringify(s)} but the batch holds ${JSON.stringify(shape)}; batching needs samples of one shape`,
      );
    }
    if (scratch) augmentInto(augment!, shape, scratch, slot.data, count * outputBytes, epoch, index);
    slot.labels[count] = info.label ?? -1;
    slot.indices[count] = index;
    if (info.labels !== undefined) (labelLists ??= [])[count] = info.labels;
    if (info.meta !== undefined) (meta ??= [])[count] = info.meta;
    if (normalize && slot.tensor) normalizeSample(normalize, output, slot.data, slot.tensor, count);
    count++;
    const paused = pause?.();
    if (paused) await paused;
  }
  // Dense arrays, one entry per sample in the batch: [] for a sample without labels, undefined without metadata.
  if (labelLists) for (let k = 0; k < count; k++) labelLists[k] ??= [];
  if (meta) meta.length = count;
  if (meta) for (let k = 0; k < count; k++) if (!(k in meta)) meta[k] = undefined;
  slot.labelLists = labelLists;
  slot.meta = meta;
  return count;
}

let scratchBuffer = new Uint8Array(0);

/** One scratch buffer per thread, grown to the largest sample seen. */
function scratchFor(bytes: number): Uint8Array {
  if (scratchBuffer.length < bytes) scratchBuffer = new Uint8Array(bytes);
  return scratchBuffer;
}
