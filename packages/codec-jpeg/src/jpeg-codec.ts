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
import { decodeJpegInto } from './wasm-jpeg-decoder.js';
import { encodeJpeg } from './wasm-jpeg-encoder.js';

/** Where the JPEG bytes sit in the record's msgpack map (instead of "data"; see FORMAT.md). */
export const JPEG_FIELD = 'jpeg';
export const DEFAULT_JPEG_QUALITY = 90;

export interface JpegCodecOptions {
  /** libjpeg quality, 1–100. Default 90. Only encoding uses it: any quality decodes. */
  quality?: number;
}

/**
 * A codec storing each record's pixels as a baseline JPEG (4:2:0 chroma for RGB, grey for 1 channel):
 * stores ~10× smaller than raw on photos, lossy, decoded with libjpeg-turbo (WebAssembly) on every read.
 * Every instance has the id "jpeg"; quality is an encoding choice, recorded in the JPEG itself.
 */
export function createJpegCodec(options: JpegCodecOptions = {}): Codec {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, ['quality']);
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw invalidOption('quality', 'integer from 1 to 100', quality);
  return {
    id: 'jpeg',
    description: `JPEG-encoded pixels (lossy, quality ${quality} when written), decoded with libjpeg-turbo (WebAssembly)`,
    module: import.meta.url,
    checkShape,
    encode: (record) => encodeJpegRecord(record, quality),
    decode(bytes, limits) {
      const record = unpackJpegRecord(bytes, limits);
      const data = new Uint8Array(shapeByteLength(record.shape));
      decodeJpegPixels(record, data, 0);
      return { ...record, data };
    },
    decodeFields(bytes, limits) {
      // The JPEG stays undecoded.
      const { data: _jpeg, ...fields } = unpackJpegRecord(bytes, limits);
      return fields;
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
  // packEncodedRecord copies the JPEG out of WebAssembly memory before the next encode reuses it.
  return packEncodedRecord(record, JPEG_FIELD, encodeJpeg(record.data, width, height, channels as 1 | 3, quality));
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
 * One synchronous libjpeg-turbo call and one copy of the pixels into the caller's buffer; see the
 * README for the decoders measured.
 */
function decodeJpegPixels(record: SampleRecord, target: Uint8Array, offset: number): void {
  const [height, width, channels] = record.shape;
  let decoded: { width: number; height: number };
  try {
    decoded = decodeJpegInto(record.data, target, offset, width, height, channels as 1 | 3);
  } catch (cause) {
    // libjpeg-turbo's own messages say little here, so the reason is stated plainly.
    throw new DecodeFailedError('record', 'Cannot decode record: corrupt or truncated JPEG data', { cause });
  }
  if (decoded.width !== width || decoded.height !== height) {
    throw new DecodeFailedError('record', `Cannot decode record: its JPEG is ${decoded.width}×${decoded.height}, the record says ${width}×${height}`);
  }
}

/**
 * Registers the "jpeg" codec in @imgstore/codec's default registry, so that `openStore` reads jpeg
 * stores. Safe to call more than once.
 */
export function registerJpegCodec(): void {
  if (!defaultCodecs.has(jpegCodec.id)) registerCodec(jpegCodec);
}
