import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DecodeFailedError } from '@imgstore/core';
import { decodeImage } from '@imgstore/image';
import { plainJpeg } from '../src/plain-jpeg.js';
import { makeImage } from '../../../tools/test-support/index.js';

// Which JPEGs conversion decodes with libjpeg-turbo (then resizes with sharp) and which it leaves to sharp.
const rgb = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 90, b: 30 } } });

/** The JPEG without its segments of `marker` (e.g. 0xe2, the ICC profile sharp writes with EXIF). */
function withoutSegments(jpeg: Buffer, marker: number): Buffer {
  const kept = [jpeg.subarray(0, 2)];
  let pos = 2;
  while (jpeg[pos + 1] !== 0xda) {
    const end = pos + 2 + jpeg.readUInt16BE(pos + 2);
    if (jpeg[pos + 1] !== marker) kept.push(jpeg.subarray(pos, end));
    pos = end;
  }
  return Buffer.concat([...kept, jpeg.subarray(pos)]);
}

/** A JPEG with an EXIF orientation tag and no ICC profile. */
async function oriented(orientation: number): Promise<Buffer> {
  const jpeg = withoutSegments(await makeImage(20, 10, 'jpeg', { orientation }), 0xe2);
  const meta = await sharp(jpeg).metadata();
  expect([meta.orientation, Boolean(meta.icc)]).toEqual([orientation, false]);
  return jpeg;
}

describe('plainJpeg', () => {
  it('accepts baseline, progressive and grey JPEGs, and EXIF orientation 1', async () => {
    expect(plainJpeg(await rgb(40, 30).jpeg().toBuffer())).toEqual({ width: 40, height: 30, components: 3 });
    expect(plainJpeg(await rgb(41, 31).jpeg({ progressive: true }).toBuffer())).toEqual({ width: 41, height: 31, components: 3 });
    expect(plainJpeg(await rgb(8, 9).toColourspace('b-w').jpeg().toBuffer())).toEqual({ width: 8, height: 9, components: 1 });
    expect(plainJpeg(await oriented(1))).toEqual({ width: 20, height: 10, components: 3 });
  });

  it('leaves to sharp what needs more than a plain decode, and anything malformed', async () => {
    for (const orientation of [2, 3, 5, 6, 8]) expect(plainJpeg(await oriented(orientation)), `orientation ${orientation}`).toBeNull();
    expect(plainJpeg(await rgb(16, 16).withIccProfile('p3').jpeg().toBuffer())).toBeNull();
    expect(plainJpeg(await rgb(16, 16).toColourspace('cmyk').jpeg().toBuffer())).toBeNull();
    expect(plainJpeg(await rgb(16, 16).png().toBuffer())).toBeNull();
    const jpeg = await rgb(16, 16).jpeg().toBuffer();
    for (const length of [0, 2, 3, 10, 20]) expect(plainJpeg(jpeg.subarray(0, length)), `cut at ${length}`).toBeNull();
    const badLength = Buffer.from(jpeg);
    badLength.writeUInt16BE(0xfff0, 4); // the first segment claims to run past the end
    expect(plainJpeg(badLength)).toBeNull();
  });
});

describe('decodeImage on plain JPEGs', () => {
  it('refuses a plain JPEG over the pixel limit from its header, before decoding', async () => {
    const jpeg = await rgb(300, 200).jpeg().toBuffer();
    await expect(decodeImage(jpeg, { width: 100, height: 100, limitInputPixels: 50_000 })).rejects.toThrow(DecodeFailedError);
    await expect(decodeImage(jpeg, { width: 100, height: 100, limitInputPixels: 50_000 })).rejects.toThrow(/too many pixels/);
  });

  it('gives the same size and nearly the same pixels as sharp alone', async () => {
    const jpeg = await makeImage(120, 90, 'jpeg', { seed: 4 });
    const fast = await decodeImage(jpeg, { width: 64, height: 48 });
    const viaSharp = await sharp(jpeg).resize(64, 48, { fit: 'cover' }).raw().toBuffer();
    expect(fast.data.length).toBe(viaSharp.length);
    let sum = 0;
    for (let i = 0; i < viaSharp.length; i++) sum += Math.abs(fast.data[i]! - viaSharp[i]!);
    expect(sum / viaSharp.length).toBeLessThan(3);
  });

  it('still rejects a truncated plain JPEG with sharp\'s reason', async () => {
    const jpeg = await makeImage(120, 90, 'jpeg', { seed: 5 });
    await expect(decodeImage(jpeg.subarray(0, jpeg.length >> 1), { width: 64, height: 48 })).rejects.toThrow(/truncated or corrupt|premature end/i);
  });
});
