import { describe, expect, it } from 'vitest';
import { describeCodecContract } from './codec-contract.js';
import { lz4Codec, rawCodec } from '@imgstore/codec';

describeCodecContract(lz4Codec);
describeCodecContract(rawCodec);

describe('lz4 codec framing', () => {
  const record = { name: 'a', label: 0, shape: [4, 4, 3] as const, dtype: 'uint8' as const, data: new Uint8Array(48).fill(9) };

  it('refuses bytes after the frame', () => {
    const encoded = Buffer.concat([lz4Codec.encode(record), Buffer.from([1, 2, 3])]);
    expect(() => lz4Codec.decode(encoded)).toThrow('3 bytes after the LZ4 frame');
  });

  it('writes standard LZ4 frames (magic 04 22 4D 18)', () => {
    expect(Buffer.from(lz4Codec.encode(record)).subarray(0, 4).toString('hex')).toBe('04224d18');
  });
});
