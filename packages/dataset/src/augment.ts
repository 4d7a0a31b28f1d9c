import {
  InvalidOptionError,
  expectBoolean,
  expectKnownKeys,
  expectOneOf,
  expectPositiveInteger,
  invalidOption,
  isVariableShape,
  type Shape,
} from '@imgstore/core';
import { createRandom, mixSeed } from './seeded-shuffle.js';

/** Training augmentations applied while a batch is filled (in the workers when there are any). */
export interface Augment {
  /** Crop to [height, width]: at a random position per sample and epoch (training), or see `cropAt`. */
  crop?: [number, number];
  /**
   * `'random'` (default) or `'center'`: the same middle window every time (evaluation), placed as
   * torchvision's CenterCrop places it (offset `round((h - crop) / 2)`, halves rounded to even).
   */
  cropAt?: CropPosition;
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
}

export const CROP_POSITIONS = ['random', 'center'] as const;
export type CropPosition = (typeof CROP_POSITIONS)[number];

export interface AugmentSpec {
  crop: [number, number] | null;
  cropAt: CropPosition;
  flip: boolean;
  seed: number;
}

/**
 * Checks the option against the sample shape and returns the spec and the output shape. A variable
 * sample shape ([0, 0, c]) needs a crop, checked against each sample as it is read.
 */
export function augmentSpec(augment: Augment, shape: Shape, seed: number): { spec: AugmentSpec; output: Shape } {
  if (typeof augment !== 'object' || augment === null) throw invalidOption('augment', 'object', augment);
  expectKnownKeys('augment', augment, ['crop', 'cropAt', 'flip']);
  const flip = expectBoolean('augment.flip', augment.flip ?? false);
  const cropAt = expectOneOf('augment.cropAt', augment.cropAt ?? 'random', CROP_POSITIONS);
  let crop: [number, number] | null = null;
  if (augment.crop !== undefined) {
    const c = augment.crop;
    if (!Array.isArray(c) || c.length !== 2) throw invalidOption('augment.crop', '[height, width]', c);
    crop = [expectPositiveInteger('augment.crop[0]', c[0]), expectPositiveInteger('augment.crop[1]', c[1])];
    if (!isVariableShape(shape) && (crop[0] > shape[0] || crop[1] > shape[1])) {
      throw invalidOption('augment.crop', `at most the sample size [${shape[0]}, ${shape[1]}]`, c);
    }
  }
  if (!crop && isVariableShape(shape)) throw variableNeedsCrop('augment.crop');
  return { spec: { crop, cropAt, flip, seed }, output: crop ? [crop[0], crop[1], shape[2]] : shape };
}

/** The error for batching samples of varying size without a transform that gives them one size. */
export function variableNeedsCrop(option: string): InvalidOptionError {
  return new InvalidOptionError(
    option,
    'The samples vary in size (a store converted with --size shorter:N or original): a batch needs one size, ' +
      'so give the DataLoader a transform that makes it, e.g. augment: { crop: [224, 224] }',
  );
}

/**
 * Copies sample pixels from `src` (shape `shape`) into `dst` at `offset` with this epoch's crop and flip
 * for `index`. The draws depend only on (seed, epoch, index), so any worker makes the same ones.
 */
export function augmentInto(spec: AugmentSpec, shape: Shape, src: Uint8Array, dst: Uint8Array, offset: number, epoch: number, index: number): void {
  const [h, w, c] = shape;
  const next = createRandom(mixSeed(mixSeed(spec.seed, epoch), index));
  const [oh, ow] = spec.crop ?? [h, w];
  const centered = spec.cropAt === 'center';
  const top = !spec.crop ? 0 : centered ? centerOffset(h - oh) : next() % (h - oh + 1);
  const left = !spec.crop ? 0 : centered ? centerOffset(w - ow) : next() % (w - ow + 1);
  const mirror = spec.flip && next() % 2 === 1;
  const rowBytes = ow * c;
  for (let y = 0; y < oh; y++) {
    const from = ((top + y) * w + left) * c;
    const to = offset + y * rowBytes;
    if (!mirror) {
      dst.set(src.subarray(from, from + rowBytes), to);
      continue;
    }
    for (let x = 0; x < ow; x++) {
      const s = from + (ow - 1 - x) * c;
      for (let ch = 0; ch < c; ch++) dst[to + x * c + ch] = src[s + ch]!;
    }
  }
}

/**
 * Offset of a centred window that leaves `spare` pixels: `round(spare / 2)` with halves rounded to even,
 * as torchvision's CenterCrop (Python's round), so a model evaluated there sees the same pixels here.
 */
export function centerOffset(spare: number): number {
  const half = spare >> 1;
  return spare & 1 && half & 1 ? half + 1 : half;
}
