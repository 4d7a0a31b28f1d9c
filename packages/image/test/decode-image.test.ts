import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { DecodeFailedError, InvalidOptionError } from '@imgstore/core';
import { decodeImage, describeDecodeError } from '@imgstore/image';
import { makeImage, makeTempDir } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

/** A 40×20 PNG: left half red, right half blue. Lossless, so colours survive exactly. */
async function halves(): Promise<Buffer> {
  const px = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) px.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  return sharp(px, { raw: { width: 40, height: 20, channels: 3 } }).png().toBuffer();
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) =>
  [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('decodeImage', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const)('decodes %s to RGB uint8 of the exact size', async (format) => {
    const image = await decodeImage(await makeImage(64, 48, format), { width: 32, height: 16 });
    expect([image.width, image.height, image.channels, image.data.length]).toEqual([32, 16, 3, 32 * 16 * 3]);
  });

  it('recognises the format by content, not by file name', async () => {
    const path = join(tmp.dir, 'really-a-png.jpg');
    writeFileSync(path, await halves());
    const image = await decodeImage(path, { width: 40, height: 20, fit: 'fill' });
    expect(pixel(image, 0, 0)).toEqual([255, 0, 0]);
  });

  it('applies EXIF orientation (6 = rotate 90° clockwise)', async () => {
    const rotated = await sharp(await halves()).withMetadata({ orientation: 6 }).png().toBuffer();
    // Stored 40×20 with orientation 6 displays as 20×40: red on top, blue at the bottom.
    const image = await decodeImage(rotated, { width: 20, height: 40, fit: 'fill' });
    // Both top corners red and both bottom corners blue: unrotated, the left side would be red.
    expect([pixel(image, 2, 2), pixel(image, 17, 2)]).toEqual([[255, 0, 0], [255, 0, 0]]);
    expect([pixel(image, 2, 37), pixel(image, 17, 37)]).toEqual([[0, 0, 255], [0, 0, 255]]);
  });

  it('turns grayscale into three equal channels', async () => {
    const image = await decodeImage(await makeImage(16, 16, 'png', { channels: 1 }), { width: 8, height: 8 });
    expect(image.channels).toBe(3);
    const [r, g, b] = pixel(image, 3, 3);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });

  it('drops alpha', async () => {
    const image = await decodeImage(await makeImage(16, 16, 'png', { channels: 4 }), { width: 8, height: 8 });
    expect(image.channels).toBe(3);
    expect(image.data.length).toBe(8 * 8 * 3);
  });

  it('cover crops, contain letterboxes with black, fill stretches', async () => {
    const src = await halves(); // 40×20, red | blue
    const cover = await decodeImage(src, { width: 10, height: 10, fit: 'cover' });
    expect(pixel(cover, 0, 5)).toEqual([255, 0, 0]);
    expect(pixel(cover, 9, 5)).toEqual([0, 0, 255]);
    const contain = await decodeImage(src, { width: 40, height: 40, fit: 'contain' });
    expect(pixel(contain, 20, 0)).toEqual([0, 0, 0]); // letterbox band
    expect(pixel(contain, 5, 20)).toEqual([255, 0, 0]);
    const fill = await decodeImage(src, { width: 4, height: 8, fit: 'fill' });
    expect(pixel(fill, 0, 4)).toEqual([255, 0, 0]);
    expect(pixel(fill, 3, 4)).toEqual([0, 0, 255]);
  });

  it('rejects a truncated JPEG with DecodeFailedError saying so', async () => {
    const jpeg = await makeImage(64, 64, 'jpeg');
    await expect(decodeImage(jpeg.subarray(0, jpeg.length >> 1), { width: 8, height: 8 })).rejects.toThrow(
      /truncated or corrupt image/,
    );
  });

  it('rejects text named .jpg as not an image', async () => {
    const path = join(tmp.dir, 'notes.jpg');
    writeFileSync(path, 'these are not pixels');
    const error = await decodeImage(path, { width: 8, height: 8 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodeFailedError);
    expect((error as DecodeFailedError).source).toBe(path);
    expect((error as Error).message).toBe(`Cannot decode ${path}: not an image (unsupported or unrecognised format)`);
  });

  it('rejects an image over the pixel limit before decoding', async () => {
    const image = await makeImage(100, 100, 'png');
    await expect(decodeImage(image, { width: 8, height: 8, limitInputPixels: 100 * 99 })).rejects.toThrow(/too many pixels/);
  });

  it('reports a missing file', async () => {
    await expect(decodeImage(join(tmp.dir, 'gone.jpg'), { width: 8, height: 8 })).rejects.toThrow(DecodeFailedError);
  });

  it('validates options, naming the option', async () => {
    await expect(decodeImage(Buffer.alloc(1), { width: 0, height: 8 })).rejects.toThrow(
      'Expected positive integer for width but received 0 of type number',
    );
    await expect(decodeImage(Buffer.alloc(1), { width: 8, height: 8, fit: 'cove' as never })).rejects.toThrow(InvalidOptionError);
    await expect(decodeImage(Buffer.alloc(1), { width: 8, height: 8, hieght: 3 } as never)).rejects.toThrow(
      'Unknown option hieght',
    );
  });
});

describe('reject reasons', () => {
  it.each([
    ['VipsJpeg: premature end of JPEG image', 'truncated or corrupt image (VipsJpeg: premature end of JPEG image)'],
    // libvips sometimes reports a truncated JPEG's warning late; sharp then says only this (seen under load).
    ['Warning treated as error due to failOn setting', 'truncated or corrupt image (the decoder reported damaged data)'],
    // A loader that read past the end of the bytes (seen for a truncated JPEG when several images fail at once).
    ['source: bad seek to 1024', 'truncated or corrupt image (source: bad seek to 1024)'],
    ['Input file contains unsupported image format', 'not an image (unsupported or unrecognised format)'],
    ['Input image exceeds pixel limit', 'too many pixels (Input image exceeds pixel limit)'],
  ])('%s → %s', (message, reason) => {
    expect(describeDecodeError(new Error(message))).toBe(reason);
  });

  it('a truncated JPEG gets the same clear reason at every cut, whichever way libvips reports it', async () => {
    const jpeg = await makeImage(64, 64, 'jpeg', { seed: 3 });
    for (const fraction of [0.3, 0.5, 0.7, 0.9]) {
      const error = await decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * fraction)), { width: 8, height: 8 }).catch(
        (e: unknown) => e as Error,
      );
      expect((error as Error).message, `cut at ${fraction}`).toMatch(/: truncated or corrupt image \(/);
    }
  });
});
