import { expectKnownKeys, expectOneOf, invalidOption, type Shape } from '@imgstore/core';

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
}

export interface NormalizeSpec {
  /** value → value * gain[c] + offset[c], i.e. (value * scale - mean[c]) / std[c]. */
  gain: number[];
  offset: number[];
  layout: 'CHW' | 'HWC';
}

/** Checks the option once and folds scale, mean and std into one multiply-add per channel. */
export function normalizeSpec(output: Float32Output, channels: number): NormalizeSpec {
  if (typeof output !== 'object' || output === null) throw invalidOption('float32', 'object', output);
  expectKnownKeys('float32', output, ['mean', 'std', 'scale', 'layout']);
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
  return { gain: std.map((s) => scale / s), offset: mean.map((m, c) => -m / std[c]!), layout };
}

/**
 * Writes sample `k` of a batch as float32, straight from its uint8 pixels in the batch: one multiply-add
 * per value (measured ~2x faster than a 256-entry lookup table: 116 vs 221 µs per 256x256x3 sample).
 */
export function normalizeSample(spec: NormalizeSpec, shape: Shape, src: Uint8Array, dst: Float32Array, k: number): void {
  const [h, w, c] = shape;
  const pixels = h * w;
  const from = k * pixels * c;
  const end = from + pixels * c;
  const { gain, offset } = spec;
  if (spec.layout === 'CHW' && c === 3) {
    // The common case in one pass over the pixels, three output planes.
    const [g0, g1, g2] = gain as [number, number, number];
    const [b0, b1, b2] = offset as [number, number, number];
    let o0 = from;
    let o1 = from + pixels;
    let o2 = from + 2 * pixels;
    for (let i = from; i < end; i += 3) {
      dst[o0++] = src[i]! * g0 + b0;
      dst[o1++] = src[i + 1]! * g1 + b1;
      dst[o2++] = src[i + 2]! * g2 + b2;
    }
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    const g = gain[ch]!;
    const b = offset[ch]!;
    const step = spec.layout === 'CHW' ? 1 : c;
    let o = spec.layout === 'CHW' ? from + ch * pixels : from + ch;
    for (let i = from + ch; i < end; i += c, o += step) dst[o] = src[i]! * g + b;
  }
}
