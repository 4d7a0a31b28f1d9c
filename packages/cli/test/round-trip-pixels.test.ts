import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openStore } from '@imgstore/store';
import { makeTempDir, runImgstore, samplesDir } from '../../../tools/test-support/index.js';

/** sharp's own pipeline for the same options, written out independently of @imgstore/image. */
function expectedPixels(path: string, width: number, height: number, fit: 'cover' | 'contain' | 'fill') {
  return sharp(path, { autoOrient: true })
    .resize(width, height, { fit, background: { r: 0, g: 0, b: 0 } })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
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
  ] as const)('every pixel equals sharp\'s own resize (fit %s, %i×%i)', async (fit, width, height) => {
    const store = join(tmp.dir, `${fit}.lmdb`);
    const run = await runImgstore(['convert', samplesDir, store, '--size', `${width}x${height}`, '--fit', fit, '-q']);
    expect(run.code, run.stderr).toBe(0);
    const reader = openStore(store);
    try {
      expect(reader.length).toBe(sampleFiles.length);
      expect(reader.header.rejected).toBe(0);
      for (const sample of reader) {
        expect(sample.shape).toEqual([height, width, 3]);
        const expected = await expectedPixels(join(samplesDir, sample.name), width, height, fit);
        expect(Buffer.from(sample.data).equals(expected), sample.name).toBe(true);
        expect(reader.header.labelNames![sample.label!]).toBe(sample.name.split('/')[0]);
      }
    } finally {
      await reader.close();
    }
  });
});
