import type { Codec } from '@imgstore/core';
import { packRecord, unpackRecord } from './record-msgpack.js';

/** Uncompressed msgpack records: the fastest read path, the largest store. */
export const rawCodec: Codec = {
  id: 'raw',
  description: 'msgpack record, pixels uncompressed',
  encode: packRecord,
  // No expansion: the record is at most as large as the stored bytes, so `limits` needs no check.
  decodeView: (bytes) => unpackRecord(bytes),
  decodeFields(bytes) {
    const { data: _pixels, ...fields } = unpackRecord(bytes);
    return fields;
  },
  decode(bytes) {
    const record = unpackRecord(bytes);
    // The pixels are a view into `bytes`, which the store reuses: copy them out.
    return { ...record, data: Uint8Array.prototype.slice.call(record.data) };
  },
};
