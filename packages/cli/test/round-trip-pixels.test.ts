import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { openStore } from '@imgstore/store';
import { decodeImage } from '@imgstore/image';
import { makeTempDir, referenceResample, runImgstore, samplesDir } from '../../../tools/test-support/index.js';

const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');
/** DCT scaling is there where libturbojpeg is a shared library (Linux; packages/image/test/dct-scaling.test.ts). */
const dctScaling = process.platform === 'linux';

/**
 * The documented decode, written out independently of @imgstore/image where it can be: a plain JPEG
 * (8-bit, grey or colour, no EXIF rotation, no ICC profile, judged here by sharp's metadata) shrunk by less
 * than 4×, with fit cover or fill, is decoded by libjpeg-turbo and resampled by imgstore's resampler (its
 * definition: tools/test-support/reference-resample.ts). Shrunk 8× or more (up to 64×) where DCT scaling is
 * available (Linux), it is decoded at 1/2, 1/4 or 1/8 and resampled from there with the full-size geometry:
 * that path is image's own (packages/image/test/dct-scaling.test.ts), so the store must equal decodeImage's
 * output exactly, and stay within the documented mean error of the full-size decode. Anything else goes
 * through sharp alone.
 */
async function expectedPixels(path: string, width: number, height: number, fit: 'cover' | 'contain' | 'fill') {
  const meta = await sharp(path).metadata();
  const shrink = Math.min(meta.width! / width, meta.height! / height);
  const scaled = dctScaling && shrink >= 4;
  const plain =
    meta.format === 'jpeg' &&
    (meta.orientation ?? 1) === 1 &&
    !meta.icc &&
    (meta.channels === 1 || meta.channels === 3) &&
    fit !== 'contain' &&
    shrink < (dctScaling ? 32 : 4);
  if (plain) {
    const jpeg = readFileSync(path);
    const decoded = turbo.decompressSync(jpeg, { format: turbo.FORMAT_RGB });
    const full = Buffer.from(referenceResample(decoded.data, decoded.width, decoded.height, { width, height, fit }).data);
    if (!scaled) return { pixels: full, plain };
    return { pixels: Buffer.from((await decodeImage(jpeg, { width, height, fit })).data), plain, full };
  }
  const pixels = await sharp(path, { autoOrient: true })
    .resize(width, height, { fit, background: { r: 0, g: 0, b: 0 } })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
  return { pixels, plain };
}

const sampleFiles = readdirSync(samplesDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());

let tmp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  tmp = makeTempDir();
});
afterAll(() => tmp.cleanup());

describe('round trip on the bundled photos', () => {
  it('the bundled sample folder holds real photos in class folders', () => {
    expect(sampleFiles.length).toBeGreaterThanOrEqual(20);
    expect(readdirSync(samplesDir).length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['cover', 64, 48],
    ['contain', 40, 56],
    ['fill', 33, 33],
  ] as const)('every pixel equals the documented decode and resize (fit %s, %i×%i)', async (fit, width, height) => {
    const store = join(tmp.dir, `${fit}.lmdb`);
    const run = await runImgstore(['convert', samplesDir, store, '--size', `${width}x${height}`, '--fit', fit, '-q']);
    expect(run.code, run.stderr).toBe(0);
    const reader = openStore(store);
    try {
      expect(reader.length).toBe(sampleFiles.length);
      expect(reader.header.rejected).toBe(0);
      const paths = { plain: 0, scaled: 0, sharp: 0 };
      let scaledError = 0;
      for (const sample of reader) {
        expect(sample.shape).toEqual([height, width, 3]);
        const { pixels, plain, full } = await expectedPixels(join(samplesDir, sample.name), width, height, fit);
        expect(Buffer.from(sample.data).equals(pixels), sample.name).toBe(true);
        expect(reader.header.labelNames![sample.label!]).toBe(sample.name.split('/')[0]);
        paths[full ? 'scaled' : plain ? 'plain' : 'sharp']++;
        if (full) for (let i = 0; i < full.length; i++) scaledError += Math.abs(full[i]! - sample.data[i]!) / full.length;
      }
      // Every decoder is exercised (for cover and fill): plain JPEGs at full size and, where DCT scaling is
      // available, scaled ones; and PNG/WebP/rotated ones through sharp.
      if (fit !== 'contain') expect(paths.plain).toBeGreaterThan(0);
      if (fit !== 'contain' && dctScaling) expect(paths.scaled).toBeGreaterThan(0);
      expect(paths.sharp).toBeGreaterThan(0);
      // The documented bound of DCT scaling: a mean error of at most 1 level against the full-size decode.
      if (paths.scaled) expect(scaledError / paths.scaled).toBeLessThanOrEqual(1);
    } finally {
      await reader.close();
    }
  });

  // --channels: grey is sharp's b-w conversion, RGBA keeps the input's alpha (255 where it has none).
  it.each([
    [1, (image: Sharp) => image.removeAlpha().toColourspace('b-w')],
    [4, (image: Sharp) => image.toColourspace('srgb').ensureAlpha(1)],
  ] as const)('--channels %i: every pixel equals sharp\'s own conversion', async (channels, convert) => {
    const store = join(tmp.dir, `channels-${channels}.lmdb`);
    const run = await runImgstore(['convert', samplesDir, store, '--size', '24x20', '--channels', String(channels), '-q']);
    expect(run.code, run.stderr).toBe(0);
    const reader = openStore(store);
    try {
      expect(reader.header.shape).toEqual([20, 24, channels]);
      let withAlpha = 0;
      for (const sample of reader) {
        const resized = sharp(join(samplesDir, sample.name), { autoOrient: true }).resize(24, 20, { fit: 'cover' });
        const expected = await convert(resized).raw({ depth: 'uchar' }).toBuffer();
        expect(Buffer.from(sample.data).equals(expected), sample.name).toBe(true);
        if (channels === 4 && sample.data.some((v, i) => i % 4 === 3 && v < 255)) withAlpha++;
      }
      if (channels === 4) expect(withAlpha).toBe(1); // objects/cups-2-rgba.png keeps its alpha gradient
    } finally {
      await reader.close();
    }
  });
});
