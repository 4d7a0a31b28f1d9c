import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DecodeFailedError, InvalidOptionError } from '@imgstore/core';
import { packEncodedRecord, rawCodec } from '@imgstore/codec';
import { createJpegCodec, jpegCodec, JPEG_FIELD } from '../src/index.js';
import { describeCodecContract } from '../../../tools/test-support/codec-contract.js';
import { makeImage } from '../../../tools/test-support/index.js';

describeCodecContract(jpegCodec, { maxMeanError: 3, channels: [1, 3] });
describeCodecContract(createJpegCodec({ quality: 60 }), { maxMeanError: 6, channels: [1, 3] });

describe('jpeg codec', () => {
  it('stores a real JPEG of the pixels, decoded by sharp to the same pixels', async () => {
    const image = { data: await sharp(await makeImage(64, 48, 'jpeg', { seed: 3 })).resize(32, 24).raw().toBuffer() };
    const record = { name: 'a.jpg', label: 1, shape: [24, 32, 3] as const, dtype: 'uint8' as const, data: image.data };
    const encoded = jpegCodec.encode(record);
    const decoded = jpegCodec.decode(encoded);
    // The stored field is a plain JPEG file: any decoder (sharp here, PIL in Python) reads it alike.
    const jpegStart = Buffer.from(encoded).indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    const viaSharp = await sharp(Buffer.from(encoded).subarray(jpegStart)).raw().toBuffer({ resolveWithObject: true });
    expect([viaSharp.info.width, viaSharp.info.height, viaSharp.info.channels]).toEqual([32, 24, 3]);
    let diff = 0;
    for (let i = 0; i < viaSharp.data.length; i++) diff = Math.max(diff, Math.abs(viaSharp.data[i]! - decoded.data[i]!));
    expect(diff).toBeLessThanOrEqual(4); // two decoders (IDCT, chroma upsampling) of the same file
  });

  it('is several times smaller than raw on photo-like pixels, and smaller at lower quality', async () => {
    const image = { data: await sharp(await makeImage(512, 512, 'jpeg', { seed: 9 })).resize(256, 256).raw().toBuffer() };
    const record = { name: 'p.jpg', label: null, shape: [256, 256, 3] as const, dtype: 'uint8' as const, data: image.data };
    const raw = rawCodec.encode(record).length;
    const q90 = jpegCodec.encode(record).length;
    const q50 = createJpegCodec({ quality: 50 }).encode(record).length;
    expect(q90).toBeLessThan(raw / 2);
    expect(q50).toBeLessThan(q90);
  });

  it('refuses what JPEG cannot hold, and bad options, naming them', () => {
    expect(() => jpegCodec.checkShape!([8, 8, 4])).toThrow(InvalidOptionError);
    expect(() => jpegCodec.checkShape!([8, 8, 4])).toThrow('The jpeg codec stores 1 or 3 channels, not 4: JPEG has no alpha');
    expect(() => createJpegCodec({ quality: 101 })).toThrow('Expected integer from 1 to 100 for quality but received 101');
    expect(() => createJpegCodec({ qualty: 80 } as never)).toThrow(/qualty/);
  });

  it('refuses a JPEG whose size differs from the record, and a crafted shape beyond the limits', () => {
    const small = jpegCodec.encode({ name: 'x', label: null, shape: [8, 8, 3], dtype: 'uint8', data: new Uint8Array(192).fill(90) });
    const jpeg = Buffer.from(small).subarray(Buffer.from(small).indexOf(Buffer.from([0xff, 0xd8, 0xff])));
    const lying = packEncodedRecord({ name: 'x', label: null, shape: [16, 8, 3], dtype: 'uint8' }, JPEG_FIELD, jpeg);
    expect(() => jpegCodec.decode(lying)).toThrow('its JPEG is 8×8, the record says 8×16');
    const bigger = packEncodedRecord({ name: 'x', label: null, shape: [4, 4, 3], dtype: 'uint8' }, JPEG_FIELD, jpeg);
    expect(() => jpegCodec.decode(bigger)).toThrow('its JPEG is 8×8, the record says 4×4');
    const huge = packEncodedRecord({ name: 'x', label: null, shape: [60000, 60000, 3], dtype: 'uint8' }, JPEG_FIELD, jpeg);
    expect(() => jpegCodec.decode(huge, { maxDecodedBytes: 1 << 20 })).toThrow(DecodeFailedError);
    expect(() => jpegCodec.decode(huge, { maxDecodedBytes: 1 << 20 })).toThrow(/claims 10800000000 bytes/);
  });
});
