import {
  DecodeFailedError,
  InvalidOptionError,
  expectKnownKeys,
  invalidOption,
  shapeByteLength,
  type Codec,
  type DecodeLimits,
  type SampleRecord,
  type Shape,
} from '@imgstore/core';
import { defaultCodecs, packEncodedRecord, registerCodec, unpackEncodedRecord } from '@imgstore/codec';
import { turbo } from './libjpeg-turbo.js';

/** Where the JPEG bytes sit in the record's msgpack map (instead of "data"; see FORMAT.md). */
export const JPEG_FIELD = 'jpeg';
export const DEFAULT_JPEG_QUALITY = 90;

export interface JpegCodecOptions {
  /** libjpeg quality, 1–100. Default 90. Only encoding uses it: any quality decodes. */
  quality?: number;
}

/**
 * A codec storing each record's pixels as a baseline JPEG (4:2:0 chroma for RGB, grey for 1 channel):
 * stores ~10× smaller than raw on photos, lossy, decoded with libjpeg-turbo on every read.
 * Every instance has the id "jpeg"; quality is an encoding choice, recorded in the JPEG itself.
 */
export function createJpegCodec(options: JpegCodecOptions = {}): Codec {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, ['quality']);
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw invalidOption('quality', 'integer from 1 to 100', quality);
  return {
    id: 'jpeg',
    description: `JPEG-encoded pixels (lossy, quality ${quality} when written), decoded with libjpeg-turbo`,
    module: import.meta.url,
    checkShape,
    encode: (record) => encodeJpegRecord(record, quality),
    decode(bytes, limits) {
      const record = unpackJpegRecord(bytes, limits);
      const data = new Uint8Array(shapeByteLength(record.shape));
      decodeJpegPixels(record, data, 0);
      return { ...record, data };
    },
    decodeInto(bytes, target, offset, limits) {
      const record = unpackJpegRecord(bytes, limits);
      if (offset + shapeByteLength(record.shape) > target.length) {
        throw new DecodeFailedError('record', `Cannot decode record: shape ${JSON.stringify(record.shape)} does not fit the ${target.length - offset} bytes left in the target`);
      }
      decodeJpegPixels(record, target, offset);
      return { name: record.name, label: record.label, shape: record.shape, dtype: record.dtype };
    },
  };
}

/** The "jpeg" codec at the default quality (90). */
export const jpegCodec: Codec = createJpegCodec();

/** JPEG holds grey or RGB: a shape with 2 or 4 channels is refused when the writer is created. */
function checkShape(shape: Shape): void {
  if (shape[2] !== 1 && shape[2] !== 3) {
    throw new InvalidOptionError('channels', `The jpeg codec stores 1 or 3 channels, not ${shape[2]}: JPEG has no alpha (use codec raw or lz4 for RGBA)`);
  }
  if (shape[0] > 65_535 || shape[1] > 65_535) throw invalidOption('shape', 'at most 65535×65535 for the jpeg codec', shape);
}

function encodeJpegRecord(record: SampleRecord, quality: number): Uint8Array {
  const [height, width, channels] = record.shape;
  checkShape(record.shape);
  const pixels = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
  const t = turbo();
  const jpeg = t.compressSync(pixels, {
    format: channels === 1 ? t.FORMAT_GRAY : t.FORMAT_RGB,
    subsampling: channels === 1 ? t.SAMP_GRAY : t.SAMP_420,
    width,
    height,
    quality,
  });
  return packEncodedRecord(record, JPEG_FIELD, jpeg);
}

function unpackJpegRecord(bytes: Uint8Array, limits: DecodeLimits | undefined): SampleRecord {
  const record = unpackEncodedRecord(bytes, JPEG_FIELD);
  const channels = record.shape[2];
  if (channels !== 1 && channels !== 3) throw new DecodeFailedError('record', `Cannot decode record: a JPEG record has 1 or 3 channels, not ${channels}`);
  const pixelBytes = shapeByteLength(record.shape);
  // The record's shape decides the allocation: a crafted shape must not exceed what the store allows.
  if (limits && pixelBytes > limits.maxDecodedBytes) {
    throw new DecodeFailedError('record', `Cannot decode record: shape ${JSON.stringify(record.shape)} claims ${pixelBytes} bytes, more than a record may hold (${limits.maxDecodedBytes})`);
  }
  return record;
}

/**
 * Decodes the record's JPEG (its `data`) into `target` at `offset`; its size must equal the record's shape.
 * libjpeg-turbo's synchronous call decodes a 256×256 record in ~0.25 ms, straight into the caller's
 * buffer, where sharp needs ~1.2 ms and a promise per image (measured in issue 6's note).
 */
function decodeJpegPixels(record: SampleRecord, target: Uint8Array, offset: number): void {
  const [height, width, channels] = record.shape;
  const byteLength = height * width * channels;
  const out = Buffer.from(target.buffer, target.byteOffset + offset, byteLength);
  let decoded: { width: number; height: number };
  const t = turbo();
  try {
    const jpeg = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
    decoded = t.decompressSync(jpeg, out, { format: channels === 1 ? t.FORMAT_GRAY : t.FORMAT_RGB });
  } catch (cause) {
    // A buffer too small means the JPEG is larger than the record says; the binding's other messages
    // (often "No error" for a truncated stream) say little, so the reason is stated plainly.
    const detail = /insufficient output/i.test((cause as Error).message) ? `its JPEG is larger than ${width}×${height}` : 'corrupt or truncated JPEG data';
    throw new DecodeFailedError('record', `Cannot decode record: ${detail}`, { cause });
  }
  if (decoded.width !== width || decoded.height !== height) {
    throw new DecodeFailedError('record', `Cannot decode record: its JPEG is ${decoded.width}×${decoded.height}, the record says ${width}×${height}`);
  }
}

/**
 * Registers this package's codecs ("jpeg") in @imgstore/codec's default registry, so that `openStore`
 * reads stores written with them. Safe to call more than once.
 */
export function registerImageCodecs(): void {
  if (!defaultCodecs.has(jpegCodec.id)) registerCodec(jpegCodec);
}
