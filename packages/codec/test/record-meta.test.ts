import { describe, expect, it } from 'vitest';
import { DecodeFailedError, InvalidOptionError, MAX_META_BYTES, type SampleRecord } from '@imgstore/core';
import { lz4Codec, packEncodedRecord, packPlain, packRecord, rawCodec, unpackEncodedRecord, unpackPlain, unpackRecord, unpackRecordHead } from '@imgstore/codec';

// Format 1.1: a record's `meta` (any JSON-like value) and `labels` (multi-label), before the pixels.

const meta = { caption: 'a cat on a mat', boxes: [[1, 2, 30.5, 40]], id: 12345678901, ok: true, none: null };
const record: SampleRecord = { name: 'a.jpg', label: null, labels: [0, 3], meta, shape: [2, 2, 3], dtype: 'uint8', data: Uint8Array.from({ length: 12 }, (_, i) => i) };

describe('records with meta and labels', () => {
  it('round-trip through the raw and lz4 codecs, and "data" stays the last field', () => {
    for (const codec of [rawCodec, lz4Codec]) {
      const back = codec.decode(codec.encode(record));
      expect({ ...back, data: [...back.data] }).toEqual({ ...record, data: [...record.data] });
    }
    const bytes = packRecord(record);
    expect(Object.keys(unpackPlain(bytes) as object)).toEqual(['name', 'label', 'shape', 'dtype', 'labels', 'meta', 'data']);
    // The split read (pixels apart from the rest) sees the same fields.
    const head = bytes.subarray(0, bytes.length - 12);
    expect(unpackRecordHead(head, 12)).toEqual({ name: 'a.jpg', label: null, labels: [0, 3], meta, shape: [2, 2, 3], dtype: 'uint8' });
  });

  it('an encoded record (the jpeg codec layout) carries them too', () => {
    const { data: _pixels, ...fields } = record;
    const back = unpackEncodedRecord(packEncodedRecord(fields, 'jpeg', new Uint8Array([9, 9])), 'jpeg');
    expect([back.labels, back.meta, [...back.data]]).toEqual([[0, 3], meta, [9, 9]]);
  });

  it('a record without them is laid out as in format 1.0, byte for byte', () => {
    const plain = { name: 'b', label: 2, shape: [1, 1, 3] as const, dtype: 'uint8' as const, data: new Uint8Array(3) };
    expect(Buffer.from(packRecord(plain))).toEqual(Buffer.from(packPlain({ name: 'b', label: 2, shape: [1, 1, 3], dtype: 'uint8', data: new Uint8Array(3) })));
    expect('meta' in unpackRecord(packRecord(plain))).toBe(false);
  });

  it('refuses metadata larger than a record has room for, when writing', () => {
    const big = { ...record, meta: 'x'.repeat(MAX_META_BYTES) };
    expect(() => packRecord(big)).toThrow(InvalidOptionError);
    expect(() => packRecord(big)).toThrow(/labels and meta of at most 49152 bytes as msgpack/);
    expect(() => packRecord({ ...record, labels: [1, -1] })).toThrow(InvalidOptionError);
  });

  it.each([
    [{ labels: [1, 'b'] }, 'field "labels" is not an array of non-negative integers'],
    [{ labels: 3 }, 'field "labels" is not an array of non-negative integers'],
    [{ labels: [1], label: 1 }, 'fields "label" and "labels" are both set'],
  ])('refuses a malformed record (%#)', (fields, message) => {
    const bytes = packPlain({ name: 'a', label: null, shape: [1, 1, 3], dtype: 'uint8', ...fields, data: new Uint8Array(3) });
    expect(() => unpackRecord(bytes)).toThrow(DecodeFailedError);
    expect(() => unpackRecord(bytes)).toThrow(message);
  });
});
