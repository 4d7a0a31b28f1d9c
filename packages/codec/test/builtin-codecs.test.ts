import { describe, expect, it } from 'vitest';
import { describeCodecContract } from '../../../tools/test-support/codec-contract.js';
import { DecodeFailedError } from '@imgstore/core';
import { lz4Codec, packRecord, rawCodec } from '@imgstore/codec';

describeCodecContract(lz4Codec);
describeCodecContract(rawCodec);

describe('lz4 codec block format', () => {
  const record = { name: 'a', label: 0, shape: [4, 4, 3] as const, dtype: 'uint8' as const, data: new Uint8Array(48).fill(9) };

  it('writes a 4-byte little-endian size prefix, then the block', () => {
    const encoded = Buffer.from(lz4Codec.encode(record));
    const plain = packRecord(record);
    expect(encoded.readUInt32LE(0)).toBe(plain.length);
  });

  it('refuses a block that claims more than a record may hold, before allocating', () => {
    const encoded = Buffer.from(lz4Codec.encode(record));
    encoded.writeUInt32LE(0xfffffff0, 0);
    expect(() => lz4Codec.decode(encoded)).toThrow(/claims 4294967280 bytes/);
  });

  it("refuses a block larger than the reader's limits allow (the store header's sample size)", () => {
    const encoded = Buffer.from(lz4Codec.encode(record));
    expect([...lz4Codec.decode(encoded, { maxDecodedBytes: encoded.readUInt32LE(0) }).data]).toEqual([...record.data]);
    expect(() => lz4Codec.decode(encoded, { maxDecodedBytes: encoded.readUInt32LE(0) - 1 })).toThrow(
      `claims ${encoded.readUInt32LE(0)} bytes, more than a record may hold (${encoded.readUInt32LE(0) - 1})`,
    );
  });

  it('refuses a block whose size prefix lies', () => {
    const encoded = Buffer.from(lz4Codec.encode(record));
    encoded.writeUInt32LE(encoded.readUInt32LE(0) - 1, 0);
    expect(() => lz4Codec.decode(encoded)).toThrow(DecodeFailedError);
  });
});
