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
  luts: Float32Array[];
  layout: 'CHW' | 'HWC';
}

/** Checks the option once and precomputes one 256-entry table per channel. */
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
  const luts = mean.map((m, c) => Float32Array.from({ length: 256 }, (_, v) => (v * scale - m) / std[c]!));
  return { luts, layout };
}

/**
 * Writes sample `k` of a batch as float32 through the per-channel tables: one table lookup per value, no
 * arithmetic, straight from the uint8 pixels already in the batch.
 */
export function normalizeSample(spec: NormalizeSpec, shape: Shape, src: Uint8Array, dst: Float32Array, k: number): void {
  const [h, w, c] = shape;
  const pixels = h * w;
  const from = k * pixels * c;
  if (spec.layout === 'HWC' || c === 1) {
    for (let ch = 0; ch < c; ch++) {
      const lut = spec.luts[ch]!;
      for (let i = from + ch, end = from + pixels * c; i < end; i += c) dst[i] = lut[src[i]!]!;
    }
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    const lut = spec.luts[ch]!;
    let o = from + ch * pixels;
    for (let i = from + ch, end = from + pixels * c; i < end; i += c) dst[o++] = lut[src[i]!]!;
  }
}
