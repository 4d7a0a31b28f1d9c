import { expectKnownKeys, expectOneOf, invalidOption, type Shape } from '@imgstore/core';
import { interleaved3, rgbToPlanes, splitParams, type SplitParams } from './normalize-kernel.js';

/** Float32 output: `(value * scale - mean[c]) / std[c]` per channel, laid out CHW (default) or HWC. */
export interface Float32Output {
  /** Per-channel mean, after scaling. Default 0 for every channel. */
  mean?: number[];
  /** Per-channel standard deviation, after scaling. Default 1 for every channel. */
  std?: number[];
  /** Multiplies the uint8 value first. Default 1/255 (so ImageNet's mean/std apply as published). */
  scale?: number;
  /** Default `'CHW'` (what PyTorch and ONNX models take). */
  layout?: 'CHW' | 'HWC';
  /**
   * Batches that workers fill live in one shared memory, where each worker's kernel writes the tensor in
   * place: faster with workers (measured 1.5× the in-thread rate with 2 workers on 2 cores, where without it
   * workers were no faster), but such a batch's `data` and `tensor` are views of a SharedArrayBuffer, which
   * some consumers refuse (onnxruntime-node: "Invalid argument"). Default false: plain ArrayBuffers.
   */
  shared?: boolean;
}

export interface NormalizeSpec {
  /** value → value * gain[c] + offset[c], i.e. (value * scale - mean[c]) / std[c]. */
  gain: number[];
  offset: number[];
  layout: 'CHW' | 'HWC';
  /** For 3 channels CHW: the float32 kernel's parameters, when it is within 1 ulp for every input (splitParams). */
  split?: SplitParams | null;
}

/** Checks the option once and folds scale, mean and std into one multiply-add per channel. */
export function normalizeSpec(output: Float32Output, channels: number): NormalizeSpec {
  if (typeof output !== 'object' || output === null) throw invalidOption('float32', 'object', output);
  expectKnownKeys('float32', output, ['mean', 'std', 'scale', 'layout', 'shared']);
  if (output.shared !== undefined && typeof output.shared !== 'boolean') throw invalidOption('float32.shared', 'boolean', output.shared);
  const perChannel = (name: 'mean' | 'std', fallback: number) => {
    const value = output[name] ?? Array<number>(channels).fill(fallback);
    if (!Array.isArray(value) || value.length !== channels || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw invalidOption(`float32.${name}`, `${channels} finite numbers (one per channel)`, value);
    }
    if (name === 'std' && value.some((v) => v === 0)) throw invalidOption('float32.std', 'non-zero numbers', value);
    return value;
  };
  const mean = perChannel('mean', 0);
  const std = perChannel('std', 1);
  const scale = output.scale ?? 1 / 255;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw invalidOption('float32.scale', 'finite number', scale);
  const layout = expectOneOf('float32.layout', output.layout ?? 'CHW', ['CHW', 'HWC'] as const);
  const gain = std.map((s) => scale / s);
  const offset = mean.map((m, c) => -m / std[c]!);
  return { gain, offset, layout, split: channels === 3 && layout === 'CHW' ? splitParams(gain, offset) : null };
}

/**
 * Writes sample `k` of a batch as float32, straight from its uint8 pixels in the batch: one multiply-add
 * per value, by the WebAssembly SIMD kernels for 1 and 3 channels (in place when the batch lives in a
 * kernel arena, see BatchSlots). 3 channels CHW: in float32 arithmetic, within 1 ulp of
 * normalizeSampleReference (checked for every input by normalizeSpec, else as below); otherwise in
 * float64, equal to it bit for bit.
 */
export function normalizeSample(spec: NormalizeSpec, shape: Shape, src: Uint8Array, dst: Float32Array, k: number): void {
  const [h, w, c] = shape;
  const pixels = h * w;
  const from = k * pixels * c;
  const { gain, offset } = spec;
  if (c === 3 && spec.layout === 'CHW') rgbToPlanes(src, from, dst, from, pixels, gain, offset, spec.split);
  else if (c === 3) interleaved3(src, from, dst, from, pixels * 3, gain, offset);
  else if (c === 1) interleaved3(src, from, dst, from, pixels, [gain[0]!, gain[0]!, gain[0]!], [offset[0]!, offset[0]!, offset[0]!]);
  else normalizeSampleReference(spec, shape, src, dst, k);
}

/** The plain per-value definition (and the path for 2 or 4 channels): `dst = src * gain[c] + offset[c]`. */
export function normalizeSampleReference(spec: NormalizeSpec, shape: Shape, src: Uint8Array, dst: Float32Array, k: number): void {
  const [h, w, c] = shape;
  const pixels = h * w;
  const from = k * pixels * c;
  const end = from + pixels * c;
  const { gain, offset } = spec;
  for (let ch = 0; ch < c; ch++) {
    const g = gain[ch]!;
    const b = offset[ch]!;
    const step = spec.layout === 'CHW' ? 1 : c;
    let o = spec.layout === 'CHW' ? from + ch * pixels : from + ch;
    for (let i = from + ch; i < end; i += c, o += step) dst[o] = src[i]! * g + b;
  }
}
