import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { DecodeFailedError, type Codec } from '@imgstore/core';
import { lz4FrameLength } from './lz4-frame-length.js';
import { packRecord, unpackRecord } from './record-msgpack.js';

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** msgpack record inside a standard LZ4 frame (Python's `lz4.frame` reads it). */
export const lz4Codec: Codec = {
  id: 'lz4',
  description: 'msgpack record in an LZ4 frame',
  encode(record) {
    return compressFrameSync(asBuffer(packRecord(record)));
  },
  decode(bytes) {
    const length = lz4FrameLength(bytes);
    if (typeof length === 'string') throw new DecodeFailedError('record', `Cannot decode record: ${length}`);
    if (length !== bytes.length) {
      throw new DecodeFailedError('record', `Cannot decode record: ${bytes.length - length} bytes after the LZ4 frame`);
    }
    let plain: Buffer;
    try {
      plain = decompressFrameSync(asBuffer(bytes));
    } catch (cause) {
      throw new DecodeFailedError('record', `Cannot decode record: invalid LZ4 frame (${(cause as Error).message})`, {
        cause,
      });
    }
    // `plain` is a fresh buffer, so the pixel view into it is already the caller's own.
    return unpackRecord(plain);
  },
};
