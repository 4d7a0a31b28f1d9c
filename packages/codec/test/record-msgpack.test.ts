import { describe, expect, it } from 'vitest';
import { DecodeFailedError, type SampleRecord } from '@imgstore/core';
import { packPlain, packRecord, packRecordWithHeadroom, unpackRecord, unpackRecordHead } from '@imgstore/codec';

describe('msgpack records', () => {
  it('are plain msgpack maps (no msgpackr record extension)', () => {
    const bytes = packRecord({ name: 'a', label: 1, shape: [1, 1, 3], dtype: 'uint8', data: new Uint8Array(3) });
    // fixmap with 5 entries: 0x85. msgpackr records would start with an extension marker instead.
    expect(bytes[0]).toBe(0x85);
  });

  it('refuses a record whose pixel count disagrees with its shape', () => {
    const bytes = packPlain({ name: 'a', label: 0, shape: [2, 2, 3], dtype: 'uint8', data: new Uint8Array(5) });
    expect(() => unpackRecord(bytes)).toThrow(DecodeFailedError);
    expect(() => unpackRecord(bytes)).toThrow('field "data" has 5 bytes but shape [2,2,3] needs 12');
  });

  it.each([
    [{ name: 1, label: 0, shape: [1, 1, 3], dtype: 'uint8', data: new Uint8Array(3) }, 'field "name"'],
    [{ name: 'a', label: -1, shape: [1, 1, 3], dtype: 'uint8', data: new Uint8Array(3) }, 'field "label"'],
    [{ name: 'a', label: 0, shape: [1, 3], dtype: 'uint8', data: new Uint8Array(3) }, 'field "shape"'],
    [{ name: 'a', label: 0, shape: [1, 1, 3], dtype: 'float32', data: new Uint8Array(3) }, 'field "dtype"'],
    [{ name: 'a', label: 0, shape: [1, 1, 3], dtype: 'uint8', data: 'xyz' }, 'field "data"'],
    [[1, 2, 3], 'expected a msgpack map'],
  ])('refuses a malformed record (%#)', (value, message) => {
    expect(() => unpackRecord(packPlain(value))).toThrow(message);
  });
});

describe('hostile msgpack records are refused fast, with memory bounded', () => {
  const valid = () =>
    Buffer.from(packRecord({ name: 'a', label: 0, shape: [2, 2, 3], dtype: 'uint8', data: new Uint8Array(12).fill(5) }));

  it('trailing bytes after the record', () => {
    const bytes = Buffer.concat([valid(), Buffer.from([0xc0, 0xc0])]);
    expect(() => unpackRecord(bytes)).toThrow(DecodeFailedError);
    expect(() => unpackRecord(bytes)).toThrow(/malformed msgpack/);
  });

  it.each([
    ['a bin32 that claims 4 GB of pixels', [0x81, 0xa4, ...Buffer.from('data'), 0xc6, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3]],
    ['an array32 that claims 4 billion items', [0xdd, 0xff, 0xff, 0xff, 0xf0, 1]],
    ['a map32 that claims 4 billion entries', [0xdf, 0xff, 0xff, 0xff, 0xf0, 0xa1, 0x61]],
    ['a str32 that claims 4 GB of name', [0x81, 0xa4, ...Buffer.from('name'), 0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]],
  ])('%s', (_, bytes) => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) expect(() => unpackRecord(Buffer.from(bytes))).toThrow(DecodeFailedError);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a "__proto__" key: refused, and nothing reaches Object.prototype', () => {
    // {__proto__: {polluted: true}, name: ..., ...}: msgpack written by hand, as an attacker would.
    const record = valid();
    const entries = record.readUInt8(0) & 0x0f;
    const proto = Buffer.from([0xa9, ...Buffer.from('__proto__'), 0x81, 0xa8, ...Buffer.from('polluted'), 0xc3]);
    const crafted = Buffer.concat([Buffer.from([0x80 | (entries + 1)]), proto, record.subarray(1)]);
    expect(() => unpackRecord(crafted)).toThrow('forbidden key "__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('unpackRecordHead (a raw record whose pixels were read elsewhere)', () => {
  // bin8, bin16 and bin32 headers: packRecord picks the smallest that holds the pixel count.
  it.each([
    [[2, 2, 3]],
    [[100, 100, 3]],
    [[256, 256, 3]],
  ] as [[number, number, number]][])('gives the fields of a record of shape %j from the bytes before its pixels', (shape) => {
    const pixels = shape[0] * shape[1] * shape[2];
    const bytes = packRecord({ name: 'cat/1.jpg', label: 4, shape, dtype: 'uint8', data: new Uint8Array(pixels).fill(9) });
    const head = bytes.subarray(0, bytes.length - pixels);
    expect(unpackRecordHead(head, pixels)).toEqual({ name: 'cat/1.jpg', label: 4, shape, dtype: 'uint8' });
    // The head is left as it was (the fields are read from a copy).
    expect(Buffer.from(head).equals(Buffer.from(bytes.subarray(0, head.length)))).toBe(true);
  });

  it('refuses a head that does not end with "data" of that many bytes, or whose shape disagrees', () => {
    const bytes = packRecord({ name: 'a', label: null, shape: [2, 2, 3], dtype: 'uint8', data: new Uint8Array(12) });
    expect(() => unpackRecordHead(bytes.subarray(0, bytes.length - 12), 13)).toThrow(DecodeFailedError);
    expect(() => unpackRecordHead(bytes.subarray(0, bytes.length - 13), 12)).toThrow(/last field is not "data"/);
    // "data" first, then the other fields: another writer's layout, not a prefix this reads.
    const reordered = packPlain({ data: new Uint8Array(12), name: 'a', label: null, shape: [2, 2, 3], dtype: 'uint8' });
    expect(() => unpackRecordHead(reordered.subarray(0, reordered.length - 12), 12)).toThrow(DecodeFailedError);
    const wrongShape = packPlain({ name: 'a', label: null, shape: [2, 2, 1], dtype: 'uint8', data: new Uint8Array(12) });
    expect(() => unpackRecordHead(wrongShape.subarray(0, wrongShape.length - 12), 12)).toThrow(/needs 4/);
  });
});

describe('packRecordWithHeadroom (the writer packs a raw record once, behind its checksum)', () => {
  // bin8, bin16 and bin32 pixel lengths; names of every msgpack str length class; labels and meta.
  it.each([
    [[2, 2, 3], 'a', 3, {}],
    [[100, 100, 3], 'n'.repeat(40), null, { labels: [0, 7] }],
    [[256, 256, 3], 'é/'.repeat(200), 1, { meta: { boxes: [[1, 2, 3, 4]], caption: 'x' } }],
    [[300, 300, 1], 'x'.repeat(70000), null, {}],
  ] as [[number, number, number], string, number | null, Partial<SampleRecord>][])('gives packRecord\'s bytes after the headroom (shape %j)', (shape, name, label, extra) => {
    const data = new Uint8Array(shape[0] * shape[1] * shape[2]).map((_, i) => i * 31);
    const record: SampleRecord = { name, label, shape, dtype: 'uint8', data, ...extra };
    const expected = packRecord(record);
    for (const headroom of [0, 4]) {
      const packed = packRecordWithHeadroom(record, headroom);
      expect(packed.length).toBe(headroom + expected.length);
      expect(Buffer.from(packed.subarray(headroom)).equals(Buffer.from(expected))).toBe(true);
    }
  });
});
