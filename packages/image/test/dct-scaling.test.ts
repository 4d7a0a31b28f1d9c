import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { DecodeFailedError } from '@imgstore/core';
import { DecodePool, Resampler, decodeImage, resampleRgb, type ResampleTarget } from '@imgstore/image';
import { dctDenominator } from '../src/plain-jpeg-decode.js';
import { scaledJpegDecoder } from '../src/scaled-jpeg-decoder.js';
import { samplesDir } from '../../../tools/test-support/index.js';

// Large plain JPEGs shrunk 8× or more: decoded at 1/2, 1/4 or 1/8 by libjpeg-turbo's DCT scaling, then
// resampled with the full-size geometry (see resample.ts); shrunk 4× to 8×, decoded at full size.
const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');

function differences(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** A real photo enlarged to an odd size, as a plain JPEG (sharp writes no EXIF and no ICC profile unless told). */
const source = readdirSync(join(samplesDir, 'landscapes')).find((name) => /\.jpe?g$/.test(name) && !name.includes('exif'))!;
const photo = await sharp(readFileSync(join(samplesDir, 'landscapes', source)))
  .resize(1203, 901, { fit: 'fill' })
  .jpeg({ quality: 90 })
  .toBuffer();
/** The same, large enough for 1/4 and 1/8 (the scaled decode keeps DCT_MIN_DECODED pixels on the output's shorter side). */
const large = await sharp(readFileSync(join(samplesDir, 'landscapes', source)))
  .resize(4101, 3101, { fit: 'fill' })
  .jpeg({ quality: 90 })
  .toBuffer();
const sizes = new Map([
  [photo, [1203, 901]],
  [large, [4101, 3101]],
]);

/** What the fast path must produce: the scaled decode, resampled as if from the full size. */
function scaledReference(jpeg: Buffer, width: number, height: number, to: ResampleTarget, denom: number): Uint8Array {
  const resampler = new Resampler();
  const pixels = resampler.prepare(width, height, to, denom);
  expect(scaledJpegDecoder()!.decode(jpeg, width, height, denom, pixels)).toBe(true);
  return resampler.run().data;
}

const pool = new DecodePool({ threads: 2 });
afterAll(() => pool.close());

const decoder = scaledJpegDecoder();

describe('DCT scaling of large plain JPEGs', () => {
  it('picks 1/2, 1/4, 1/8 only where the resampler keeps a shrink of 4 or more, and 384 pixels on the output\'s shorter side', () => {
    expect([1, 7.99, 8, 15.99, 16, 31.99, 32, 63].map((shrink) => dctDenominator(shrink))).toEqual([1, 1, 2, 2, 4, 4, 8, 8]);
    // To 96 pixels and more the shrink margin decides; below, the decode keeps 384 pixels: to 48, a margin of 8.
    expect([8, 16, 32].map((shrink) => dctDenominator(shrink, 96))).toEqual([2, 4, 8]);
    expect([15.99, 16, 31.99, 32, 63.99, 64].map((shrink) => dctDenominator(shrink, 48))).toEqual([1, 2, 2, 4, 4, 8]);
  });

  it.runIf(process.platform === 'linux')('is available where @julusian/jpeg-turbo loads libturbojpeg as a shared library (Linux)', () => {
    expect(decoder).not.toBeNull();
  });

  it.runIf(decoder !== null).each([
    ['1203×901', { width: 100, height: 75, fit: 'cover' }, 2],
    ['1203×901', { shorterSide: 60 }, 2],
    ['1203×901', { width: 50, height: 40, fit: 'fill' }, 2],
    ['1203×901', { width: 30, height: 25, fit: 'cover' }, 2],
    ['4101×3101', { width: 200, height: 150, fit: 'cover' }, 4],
    ['4101×3101', { width: 120, height: 96, fit: 'fill' }, 8],
  ] as const)('decodes at 1/d in decodeImage and on the pool\'s threads, within the bound of a full-size decode + Lanczos-3 (%s to %o, 1/%i)', async (from, to, denom) => {
    const image = from === '1203×901' ? photo : large;
    const [width, height] = sizes.get(image)!;
    const options = 'shorterSide' in to ? { shorterSide: to.shorterSide } : { width: to.width, height: to.height, fit: to.fit };
    const out = 'shorterSide' in to ? [to.shorterSide, to.shorterSide] : [to.width, to.height];
    const shrink = Math.min(width! / out[0]!, height! / out[1]!);
    expect(dctDenominator(shrink, Math.min(out[0]!, out[1]!))).toBe(denom);
    const expected = scaledReference(image, width!, height!, to, denom);
    const onThisThread = await decodeImage(image, options);
    const onPool = await pool.decode(image, options);
    // Byte for byte: sharp (where these went before) would differ.
    expect(Buffer.from(onThisThread.data).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(onPool.data).equals(Buffer.from(expected))).toBe(true);
    const full = turbo.decompressSync(image, { format: turbo.FORMAT_RGB });
    const reference = resampleRgb(full.data, full.width, full.height, to);
    expect([onPool.width, onPool.height]).toEqual([reference.width, reference.height]);
    const { mean, max } = differences(onPool.data, reference.data);
    expect(mean).toBeLessThanOrEqual(1.0);
    expect(max).toBeLessThanOrEqual(8);
  });

  it.runIf(decoder !== null).each([
    [{ width: 200, height: 150, fit: 'cover' }],
    [{ shorterSide: 120 }],
  ] as const)('decodes a photo shrunk 4× to 8× at full size on the fast path: equal to the full-size decode + Lanczos-3 (%o)', async (to) => {
    const options = 'shorterSide' in to ? { shorterSide: to.shorterSide } : { width: to.width, height: to.height, fit: to.fit };
    const full = turbo.decompressSync(photo, { format: turbo.FORMAT_RGB });
    const reference = resampleRgb(full.data, full.width, full.height, to);
    for (const image of [await decodeImage(photo, options), await pool.decode(photo, options)]) {
      expect(Buffer.from(image.data).equals(Buffer.from(reference.data))).toBe(true);
    }
  });

  it.runIf(decoder !== null)('takes photos shrunk 32× to 64× on the fast path, DCT-scaled (not to sharp): equal to the scaled decode + resample', async () => {
    const to = { width: 20, height: 15, fit: 'cover' } as const; // a shrink of 60; 1/2 keeps 450 rows for 15
    expect(dctDenominator(60, 15)).toBe(2);
    const expected = scaledReference(photo, 1203, 901, to, 2);
    const image = await pool.decode(photo, to);
    expect(Buffer.from(image.data).equals(Buffer.from(expected))).toBe(true);
  });

  it('resamples a 1/2-scale source with the full-size geometry: an odd width no longer shifts the output', () => {
    // A smooth pattern, 2×2-averaged as DCT scaling roughly does (the last odd column and row stand alone).
    const [w, h] = [515, 301];
    const full = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      full[(y * w + x) * 3 + c] = Math.round(127.5 + 127 * Math.sin(x / (5 + c)) * Math.cos(y / 7));
    }
    const [sw, sh] = [Math.ceil(w / 2), Math.ceil(h / 2)];
    const half = new Uint8Array(sw * sh * 3);
    for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) for (let c = 0; c < 3; c++) {
      const xs = [2 * x, Math.min(2 * x + 1, w - 1)];
      const ys = [2 * y, Math.min(2 * y + 1, h - 1)];
      let sum = 0;
      for (const yy of ys) for (const xx of xs) sum += full[(yy * w + xx) * 3 + c]!;
      half[(y * sw + x) * 3 + c] = Math.round(sum / 4);
    }
    const to = { width: 96, height: 96, fit: 'cover' } as const;
    const reference = resampleRgb(full, w, h, to).data;
    const resampler = new Resampler();
    resampler.prepare(w, h, to, 2).set(half);
    const scaled = differences(resampler.run().data, reference);
    const naive = differences(resampleRgb(half, sw, sh, to).data, reference);
    expect(scaled.mean).toBeLessThan(1.5);
    expect(naive.mean).toBeGreaterThan(3 * scaled.mean);
  });

  it.runIf(decoder !== null)('refuses a header that does not match the plan, or a buffer too small, without writing', () => {
    const out = new Uint8Array(Math.ceil(1203 / 2) * Math.ceil(901 / 2) * 3);
    expect(decoder!.decode(photo, 1204, 901, 2, out)).toBe(false);
    expect(decoder!.decode(photo, 1203, 901, 2, out.subarray(0, out.length - 1))).toBe(false);
    expect(out.every((v) => v === 0)).toBe(true);
  });

  it('still rejects a truncated JPEG shrunk 4× or more (libjpeg-turbo\'s complaint hands it to sharp)', async () => {
    const truncated = photo.subarray(0, photo.length >> 1);
    await expect(decodeImage(truncated, { width: 100, height: 75 })).rejects.toBeInstanceOf(DecodeFailedError);
    await expect(pool.decode(truncated, { width: 100, height: 75 })).rejects.toBeInstanceOf(DecodeFailedError);
  });
});
