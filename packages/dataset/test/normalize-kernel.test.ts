import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Shape } from '@imgstore/core';
import { normalizeSample, normalizeSpec, type Float32Output } from '../src/normalize.js';
import { BatchSlots } from '../src/batch-slots.js';
import { splitParams } from '../src/normalize-kernel.js';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { compileWasm, renderWasmModule } from '../../../tools/build-wasm.mjs';

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
const bits = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);
/** Position on the ordered float32 line: neighbours differ by 1. */
const order = (i: number) => (i < 0 ? -0x80000000 - i : i);

/** The first value more than `ulps` apart (0: any bit differs), or null. */
function firstDifference(a: Float32Array, b: Float32Array, ulps = 0): string | null {
  const x = bits(a);
  const y = bits(b);
  for (let i = 0; i < x.length; i++) {
    if (ulps === 0 ? x[i] !== y[i] : !(Math.abs(order(x[i]!) - order(y[i]!)) <= ulps)) return `value ${i}: ${a[i]} vs ${b[i]}`;
  }
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
      it(`matches the float64 reference: ${shape.join('×')} ${layout}, every spec, samples 0..2 of a batch`, () => {
        const [h, w, c] = shape;
        const n = h * w * c;
        const src = pixels(3, shape);
        for (const output of SPECS) {
          const mean = output.mean && c !== 3 ? Array(c).fill(output.mean[0]) : output.mean;
          const std = output.std && c !== 3 ? Array(c).fill(output.std[0]) : output.std;
          const spec = normalizeSpec({ ...output, ...(mean ? { mean, std } : {}), layout }, c);
          const dst = new Float32Array(3 * n).fill(Number.NaN);
          for (let k = 0; k < 3; k++) normalizeSample(spec, shape, src, dst, k);
          // 3 channels CHW: the float32 kernel, within 1 ulp (it is used: every spec here passes its check); else bit-equal.
          const fast = c === 3 && layout === 'CHW';
          expect(Boolean(spec.split)).toBe(fast);
          for (let k = 0; k < 3; k++) {
            expect(firstDifference(dst.subarray(k * n, (k + 1) * n), reference(spec, shape, src, k), fast ? 1 : 0)).toBeNull();
          }
          if (fast) {
            // Without its parameters, the same call takes the float64 kernel: bit-equal.
            const exact = new Float32Array(3 * n);
            for (let k = 0; k < 3; k++) normalizeSample({ ...spec, split: null }, shape, src, exact, k);
            for (let k = 0; k < 3; k++) expect(firstDifference(exact.subarray(k * n, (k + 1) * n), reference(spec, shape, src, k))).toBeNull();
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
      const slots = new BatchSlots(2, 3, shape, true, 'local');
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
          // In place and on a copy: the same kernel, the same bits.
          const copied = new Float32Array(3 * n);
          for (let k = 0; k < 3; k++) normalizeSample(spec, shape, slot.data.slice(), copied, k);
          expect(firstDifference(slot.tensor!.subarray(0, 3 * n), copied)).toBeNull();
          for (let k = 0; k < 3; k++) {
            expect(firstDifference(slot.tensor!.subarray(k * n, (k + 1) * n), reference(spec, shape, slot.data, k), spec.split ? 1 : 0)).toBeNull();
          }
        }
      }
    }
  });

  it('uses the float32 kernel only with parameters checked over every input: random specs stay within 1 ulp', () => {
    const shape: Shape = [16, 17, 3]; // 272 pixels: every value in every channel
    const src = pixels(1, shape);
    let random = 12345;
    const next = () => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let fast = 0;
    for (let i = 0; i < 200; i++) {
      const std = [0, 1, 2].map(() => (next() < 0.5 ? -1 : 1) * (0.001 + next() * 4));
      const mean = [0, 1, 2].map(() => next() * 4 - 2);
      const scale = next() < 0.5 ? 1 / 255 : next() * 3;
      const spec = normalizeSpec({ mean, std, scale }, 3);
      if (spec.split) fast++;
      const dst = new Float32Array(272 * 3);
      normalizeSample(spec, shape, src, dst, 0);
      expect(firstDifference(dst, reference(spec, shape, src, 0), spec.split ? 1 : 0)).toBeNull();
    }
    expect(fast).toBeGreaterThan(150);
    // A gain the float32 form cannot hold (the product leaves float32's range): the float64 kernel instead.
    expect(splitParams([1e39, 1, 1], [0, 0, 0])).toBeNull();
  });

  it.each(['normalize', 'normalize-shared'])('%s is what its AssemblyScript source compiles to (run `npm run build:wasm` after editing it)', async (name) => {
    const committed = readFileSync(new URL(`../src/${name}-wasm.ts`, import.meta.url), 'utf8');
    const bytes: Buffer = await compileWasm(name);
    expect(renderWasmModule(name, bytes)).toBe(committed);
  }, 60_000);
});
