import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Shape } from '@imgstore/core';
import { normalizeSample, normalizeSpec, type Float32Output } from '../src/normalize.js';
import { BatchSlots } from '../src/batch-slots.js';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { compileNormalizeWasm, renderNormalizeModule } from '../../../tools/build-normalize-wasm.mjs';

const IMAGENET: Float32Output = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
// Means that cancel the product almost exactly, odd scales, negative gains: where float32 arithmetic
// would differ from the float64 reference by many ulps.
const SPECS: Float32Output[] = [
  IMAGENET,
  {},
  { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  { scale: 1, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
  { scale: 0.0039215686, mean: [0.1234567, 0.7654321, 0.3333333], std: [-0.017, 3.3e-5, 1234.5] },
];

/** Batch of `batch` samples whose bytes run through every value 0..255 in every channel (then wrap). */
function pixels(batch: number, shape: Shape, into: Uint8Array = new Uint8Array(batch * shape[0] * shape[1] * shape[2])): Uint8Array {
  for (let i = 0; i < into.length; i++) into[i] = (i * 7) & 255; // 21 per pixel, odd: 256 pixels take every value in every channel
  return into;
}

/** The definition: each value x of channel c is (x * scale - mean[c]) / std[c] as gain/offset, float64, rounded once. */
function reference(spec: ReturnType<typeof normalizeSpec>, shape: Shape, src: Uint8Array, k: number): Float32Array {
  const [h, w, c] = shape;
  const n = h * w * c;
  const out = new Float32Array(n);
  for (let p = 0; p < h * w; p++) {
    for (let ch = 0; ch < c; ch++) {
      const x = src[k * n + p * c + ch]!;
      out[spec.layout === 'CHW' ? ch * h * w + p : p * c + ch] = Math.fround(x * spec.gain[ch]! + spec.offset[ch]!);
    }
  }
  return out;
}

/** Bit patterns, so that -0 vs 0 and NaN payloads would count as differences. */
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function firstDifference(a: Float32Array, b: Float32Array): string | null {
  const x = bits(a);
  const y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `value ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

describe('normalize kernel (WebAssembly SIMD)', () => {
  const shapes: Shape[] = [
    [1, 1, 3],
    [1, 15, 3],
    [1, 16, 3],
    [1, 17, 3],
    [7, 37, 3], // 259 pixels: every value 0..255 in every channel
    [3, 5, 1],
    [9, 31, 1],
    [65, 67, 3], // more pixels than one scratch chunk (4096), with a tail
    [5, 7, 4], // 4 channels: the plain loop
  ];
  for (const layout of ['CHW', 'HWC'] as const) {
    for (const shape of shapes) {
      it(`equals the float64 reference bit for bit: ${shape.join('×')} ${layout}, every spec, samples 0..2 of a batch`, () => {
        const [h, w, c] = shape;
        const n = h * w * c;
        const src = pixels(3, shape);
        for (const output of SPECS) {
          const mean = output.mean && c !== 3 ? Array(c).fill(output.mean[0]) : output.mean;
          const std = output.std && c !== 3 ? Array(c).fill(output.std[0]) : output.std;
          const spec = normalizeSpec({ ...output, ...(mean ? { mean, std } : {}), layout }, c);
          const dst = new Float32Array(3 * n).fill(Number.NaN);
          for (let k = 0; k < 3; k++) normalizeSample(spec, shape, src, dst, k);
          for (let k = 0; k < 3; k++) {
            expect(firstDifference(dst.subarray(k * n, (k + 1) * n), reference(spec, shape, src, k))).toBeNull();
          }
        }
      });
    }
  }

  it('covers all 256 values of every channel in the test data', () => {
    const src = pixels(1, [7, 37, 3]);
    for (let c = 0; c < 3; c++) {
      const seen = new Set<number>();
      for (let i = c; i < src.length; i += 3) seen.add(src[i]!);
      expect(seen.size).toBe(256);
    }
  });

  it('works in place on batch slots that stay in this thread (pixels and tensor in one WebAssembly memory)', () => {
    for (const shape of [[7, 37, 3], [5, 3, 1], [3, 3, 3]] as Shape[]) {
      const [h, w, c] = shape;
      // 3 samples of an odd pixel count: the tensors must still be 4-byte aligned.
      const slots = new BatchSlots(2, 3, shape, true, true);
      for (const slot of slots.slots) {
        expect(slot.tensor!.buffer).toBe(slot.data.buffer);
        expect(slot.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
        pixels(3, shape, slot.data);
        const mean = Array(c).fill(0.45);
        const std = Array(c).fill(0.226);
        for (const layout of ['CHW', 'HWC'] as const) {
          const spec = normalizeSpec({ mean, std, layout }, c);
          slot.tensor!.fill(Number.NaN);
          for (let k = 0; k < 3; k++) normalizeSample(spec, shape, slot.data, slot.tensor!, k);
          const n = h * w * c;
          for (let k = 0; k < 3; k++) {
            expect(firstDifference(slot.tensor!.subarray(k * n, (k + 1) * n), reference(spec, shape, slot.data, k))).toBeNull();
          }
        }
      }
    }
  });

  it('is what its AssemblyScript source compiles to (run `npm run build:wasm` after editing it)', async () => {
    const committed = readFileSync(new URL('../src/normalize-wasm.ts', import.meta.url), 'utf8');
    const bytes: Buffer = await compileNormalizeWasm();
    expect(renderNormalizeModule(bytes)).toBe(committed);
  }, 60_000);
});
