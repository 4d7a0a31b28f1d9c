import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { InvalidOptionError } from '@imgstore/core';
import { Resampler, resampleRgb, type ResampleTarget } from '@imgstore/image';
import { planAxis } from '../src/resample.js';
import { makeTempDir, referenceAxis, referenceResample, samplesDir } from '../../../tools/test-support/index.js';

const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');

const photos = readdirSync(samplesDir, { recursive: true, encoding: 'utf8' })
  .filter((name) => /\.jpe?g$/i.test(name))
  .map((name) => ({ name, ...turbo.decompressSync(readFileSync(join(samplesDir, name)), { format: turbo.FORMAT_RGB }) }));

function meanAbsoluteDifference(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

const target: fc.Arbitrary<ResampleTarget> = fc.oneof(
  fc.record({ width: fc.integer({ min: 1, max: 48 }), height: fc.integer({ min: 1, max: 48 }), fit: fc.constantFrom('cover' as const, 'fill' as const) }),
  fc.record({ shorterSide: fc.integer({ min: 1, max: 48 }) }),
);

describe('resampleRgb (WebAssembly SIMD kernels)', () => {
  it('equals the written-out definition exactly, for any size, fit and content', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), target, fc.integer(), (width, height, to, seed) => {
        const pixels = new Uint8Array(width * height * 3);
        let s = seed >>> 0;
        for (let i = 0; i < pixels.length; i++) pixels[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
        const ours = resampleRgb(pixels, width, height, to);
        const expected = referenceResample(pixels, width, height, to);
        expect([ours.width, ours.height, ours.channels]).toEqual([expected.width, expected.height, 3]);
        expect(Buffer.from(ours.data).equals(Buffer.from(expected.data))).toBe(true);
      }),
      { numRuns: 300, seed: 20261125 },
    );
  });

  it('plans every axis with the definition\'s first taps and weights, at the sizes of real photos too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 1200 }), fc.constantFrom(3 as const, 4 as const), (length, n, lanes) => {
        const f = length / n;
        const expected = referenceAxis(length, n, f);
        const taps = expected[0]!.weights.length;
        const entry = 16 + Math.ceil(taps / 2) * 16;
        const memory = new ArrayBuffer(entry * n + 16);
        const { first, last } = planAxis(length, n, f, memory, 16, lanes);
        expect([first, last]).toEqual([expected[0]!.first, expected[n - 1]!.first]);
        const i32 = new Int32Array(memory, 16);
        const i16 = new Int16Array(memory, 16);
        for (let i = 0; i < n; i++) {
          expect(i32[(i * entry) / 4]).toBe(expected[i]!.first - first);
          const pair = (k: number) => [0, 1, 2, 3, 4, 5, 6, 7].map((lane) => i16[(i * entry + 16) / 2 + (k >> 1) * 8 + lane]);
          for (let k = 0; k < taps; k += 2) {
            const [w0, w1] = [expected[i]!.weights[k]! | 0, (expected[i]!.weights[k + 1] ?? 0) | 0]; // | 0: Math.round gives -0
            expect(pair(k)).toEqual(lanes === 4 ? [w0, w1, w0, w1, w0, w1, w0, w1] : [w0, w1, w0, w1, w0, w1, 0, 0]);
          }
        }
      }),
      { numRuns: 200, seed: 20261201 },
    );
  });

  it.each([
    [{ width: 256, height: 256, fit: 'cover' }],
    [{ width: 224, height: 160, fit: 'fill' }],
    [{ shorterSide: 96 }],
    [{ width: 700, height: 500, fit: 'cover' }], // upscaling
  ] as const)('equals the definition on the sample photos (%o)', (to) => {
    for (const photo of photos) {
      const ours = resampleRgb(photo.data, photo.width, photo.height, to);
      const expected = referenceResample(photo.data, photo.width, photo.height, to);
      expect(Buffer.from(ours.data).equals(Buffer.from(expected.data)), photo.name).toBe(true);
    }
  });

  it('keeps a flat colour flat: every output pixel sums weights of exactly 1', () => {
    for (const [width, height, to] of [
      [100, 80, { width: 17, height: 9, fit: 'cover' }],
      [5, 3, { width: 40, height: 40, fit: 'fill' }],
      [1, 1, { shorterSide: 7 }],
      [333, 77, { shorterSide: 20 }],
    ] as const) {
      const out = resampleRgb(new Uint8Array(width * height * 3).fill(201), width, height, to);
      expect(out.data.every((v) => v === 201)).toBe(true);
    }
  });

  it('is Lanczos-3 as sharp applies it: close to sharp where both sample at the same places', async () => {
    // fit 'fill' downscaling: sharp and imgstore map output pixels to the same source positions.
    for (const photo of photos.slice(0, 6)) {
      const ours = resampleRgb(photo.data, photo.width, photo.height, { width: 64, height: 48, fit: 'fill' });
      const theirs = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
        .resize(64, 48, { fit: 'fill' })
        .raw()
        .toBuffer();
      expect(meanAbsoluteDifference(ours.data, theirs), photo.name).toBeLessThan(1.5);
    }
  });

  const python = '/usr/bin/python3';
  const pil = spawnSync(python, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0;
  const mustRun = process.env.CI === 'true' || process.env.CI === '1';
  it.runIf(pil || mustRun)("matches Pillow's LANCZOS resize (Python's reference resampler), up and down", () => {
    const tmp = makeTempDir();
    try {
      for (const photo of photos.slice(0, 4)) {
        for (const [width, height] of [[64, 48], [300, 500]] as const) {
          const source = join(tmp.dir, 'source.raw');
          const resized = join(tmp.dir, 'pil.raw');
          writeFileSync(source, photo.data);
          const script =
            'import sys\nfrom PIL import Image\n' +
            `im = Image.frombytes('RGB', (${photo.width}, ${photo.height}), open(sys.argv[1], 'rb').read())\n` +
            `open(sys.argv[2], 'wb').write(im.resize((${width}, ${height}), Image.LANCZOS).tobytes())\n`;
          const run = spawnSync(python, ['-c', script, source, resized], { encoding: 'utf8' });
          expect(run.status, run.stderr).toBe(0);
          const ours = resampleRgb(photo.data, photo.width, photo.height, { width, height, fit: 'fill' });
          expect(meanAbsoluteDifference(ours.data, readFileSync(resized)), `${photo.name} → ${width}×${height}`).toBeLessThan(0.5);
        }
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses pixels that do not match the stated size', () => {
    expect(() => resampleRgb(new Uint8Array(10), 2, 2, { shorterSide: 4 })).toThrow(InvalidOptionError);
  });

  it('a Resampler keeps its memory between images of the same size', () => {
    const resampler = new Resampler();
    const photo = photos[0]!;
    resampler.prepare(photo.width, photo.height, { width: 32, height: 32, fit: 'cover' }).set(photo.data);
    const first = resampler.run();
    const bytes = resampler.memoryBytes;
    for (let i = 0; i < 20; i++) {
      resampler.prepare(photo.width, photo.height, { width: 32, height: 32, fit: 'cover' }).set(photo.data);
      expect(Buffer.from(resampler.run().data).equals(Buffer.from(first.data))).toBe(true);
    }
    expect(resampler.memoryBytes).toBe(bytes);
  });
});
