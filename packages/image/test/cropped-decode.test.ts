import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { DecodePool, Resampler, resampleRgb, type ResampleTarget } from '@imgstore/image';
import { scaledJpegDecoder } from '../src/scaled-jpeg-decoder.js';
import { samplesDir } from '../../../tools/test-support/index.js';

// A `cover` resample reads a centre crop of the source: the fast path decodes only that (and a margin),
// with TurboJPEG 3's cropping region, and its pixels must equal the full decode's.
const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');
const decoder = scaledJpegDecoder();
const photo = readFileSync(join(samplesDir, 'landscapes', 'sunset-1.jpg')); // 640×341
/** The same photo turned portrait, 4:2:0 and 4:4:4 (other iMCU widths). */
const portrait = await sharp(photo).rotate(90).jpeg({ quality: 85 }).toBuffer();
const portrait444 = await sharp(photo).rotate(90).jpeg({ quality: 85, chromaSubsampling: '4:4:4' }).toBuffer();

const pool = new DecodePool({ threads: 1 });
afterAll(() => pool.close());

describe.runIf(decoder !== null)('decoding only the pixels a resample reads', () => {
  it.each([
    ['landscape, cover', photo, { width: 100, height: 100, fit: 'cover' }],
    ['portrait 4:2:0, cover', portrait, { width: 120, height: 90, fit: 'cover' }],
    ['portrait 4:4:4, cover', portrait444, { width: 64, height: 64, fit: 'cover' }],
    ['landscape, fill (nothing cropped)', photo, { width: 90, height: 70, fit: 'fill' }],
  ] as const)('%s: equal to a full decode + Lanczos-3, on the pool too', async (_, jpeg, to: ResampleTarget) => {
    const full = turbo.decompressSync(jpeg, { format: turbo.FORMAT_RGB });
    const reference = resampleRgb(full.data, full.width, full.height, to).data;
    const resampler = new Resampler();
    const pixels = resampler.prepare(full.width, full.height, to);
    pixels.fill(0x55); // what lies outside the decoded region must not matter
    expect(decoder!.decode(jpeg, full.width, full.height, 1, pixels, resampler.sourceRegion)).toBe(true);
    expect(Buffer.from(resampler.run().data).equals(Buffer.from(reference))).toBe(true);
    const onPool = await pool.decode(jpeg, to as { width: number; height: number; fit: 'cover' | 'fill' });
    expect(Buffer.from(onPool.data).equals(Buffer.from(reference))).toBe(true);
  });

  it('leaves the pixels outside the region (and its margin) unwritten, and writes the full decode inside it', () => {
    const full = turbo.decompressSync(portrait, { format: turbo.FORMAT_RGB });
    const [w, h] = [full.width, full.height];
    const resampler = new Resampler();
    const pixels = resampler.prepare(w, h, { width: 100, height: 100, fit: 'cover' });
    const region = resampler.sourceRegion;
    // A portrait photo shrunk to a square: its middle rows, every column.
    expect([region.x, region.width]).toEqual([0, w]);
    expect(region.y).toBeGreaterThan(10);
    expect(region.y + region.height).toBeLessThan(h - 10);
    pixels.fill(0x55);
    expect(decoder!.decode(portrait, w, h, 1, pixels, region)).toBe(true);
    const row = (buffer: Uint8Array, y: number) => Buffer.from(buffer.subarray(y * w * 3, (y + 1) * w * 3));
    for (const y of [0, region.y - 3, region.y + region.height + 2, h - 1]) expect(row(pixels, y).every((v) => v === 0x55), `row ${y}`).toBe(true);
    for (let y = region.y; y < region.y + region.height; y++) expect(row(pixels, y).equals(row(full.data, y)), `row ${y}`).toBe(true);
  });
});
