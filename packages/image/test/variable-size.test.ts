import { describe, expect, it } from 'vitest';
import { DecodeFailedError, InvalidOptionError } from '@imgstore/core';
import { decodeImage } from '@imgstore/image';
import { makeImage } from '../../../tools/test-support/index.js';

describe('decodeImage without a fixed size', () => {
  it('shorterSide keeps the aspect ratio, scaling down and up', async () => {
    const wide = await decodeImage(await makeImage(300, 200, 'png'), { shorterSide: 100 });
    expect([wide.width, wide.height, wide.data.length]).toEqual([150, 100, 150 * 100 * 3]);
    const tall = await decodeImage(await makeImage(40, 80, 'jpeg'), { shorterSide: 60 });
    expect([tall.width, tall.height]).toEqual([60, 120]);
  });

  it('originalSize keeps the size, after EXIF orientation', async () => {
    const plain = await decodeImage(await makeImage(37, 23, 'png'), { originalSize: true, channels: 1 });
    expect([plain.width, plain.height, plain.channels, plain.data.length]).toEqual([37, 23, 1, 37 * 23]);
    // Orientation 6 (rotate 90°): the stored 40×20 image is 20 wide and 40 tall upright.
    const rotated = await decodeImage(await makeImage(40, 20, 'jpeg', { orientation: 6 }), { originalSize: true });
    expect([rotated.width, rotated.height]).toEqual([20, 40]);
  });

  it('takes exactly one size', async () => {
    const input = await makeImage(8, 8, 'png');
    for (const options of [{ width: 4, height: 4, shorterSide: 4 }, { shorterSide: 4, originalSize: true }, {}]) {
      await expect(decodeImage(input, options)).rejects.toThrow(InvalidOptionError);
    }
    await expect(decodeImage(input, { shorterSide: 0 })).rejects.toThrow('Expected positive integer for shorterSide');
  });

  it('refuses an image that resizing would blow up past the pixel limit', async () => {
    // 4×400 with the shorter side to 100: 100×10000 = 1,000,000 pixels, over a 500,000 limit.
    const thin = await makeImage(4, 400, 'png');
    await expect(decodeImage(thin, { shorterSide: 100, limitInputPixels: 500_000 })).rejects.toThrow(DecodeFailedError);
    await expect(decodeImage(thin, { shorterSide: 100, limitInputPixels: 500_000 })).rejects.toThrow(/exceeds the pixel limit/);
  });
});
