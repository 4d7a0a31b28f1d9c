import { describe, expect, it } from 'vitest';
import { DecodeFailedError } from '@imgstore/core';
import { packPlain, packRecord, unpackRecord } from '@imgstore/codec';

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
