import { describe, expect, it } from 'vitest';
import { DecodeFailedError, type Codec, type SampleRecord } from '@imgstore/core';

function sampleRecord(height: number, width: number, seed: number): SampleRecord {
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 7 + (i >> 5)) & 0xff;
  return { name: `class/${seed}-photo é.jpg`, label: seed % 3, shape: [height, width, 3], dtype: 'uint8', data };
}

/** The behaviour every codec must have; run it against each implementation. */
export function describeCodecContract(codec: Codec): void {
  describe(`codec contract: ${codec.id}`, () => {
    it('round-trips every field', () => {
      for (const [h, w, seed] of [[1, 1, 0], [8, 5, 1], [64, 48, 2]] as const) {
        const record = sampleRecord(h, w, seed);
        const decoded = codec.decode(codec.encode(record));
        expect(decoded.name).toBe(record.name);
        expect(decoded.label).toBe(record.label);
        expect([...decoded.shape]).toEqual([...record.shape]);
        expect(decoded.dtype).toBe('uint8');
        expect(Buffer.from(decoded.data).equals(Buffer.from(record.data))).toBe(true);
      }
    });

    it('round-trips an unlabeled record', () => {
      const record = { ...sampleRecord(4, 4, 5), label: null };
      expect(codec.decode(codec.encode(record)).label).toBeNull();
    });

    it('returns pixels that do not alias the input bytes', () => {
      const encoded = Buffer.from(codec.encode(sampleRecord(16, 16, 3)));
      const decoded = codec.decode(encoded);
      const before = Buffer.from(decoded.data);
      encoded.fill(0);
      expect(Buffer.from(decoded.data).equals(before)).toBe(true);
    });

    it('rejects every truncation with a DecodeFailedError', () => {
      const encoded = codec.encode(sampleRecord(6, 7, 4));
      for (let length = 0; length < encoded.length; length++) {
        expect(() => codec.decode(encoded.subarray(0, length)), `truncated to ${length}`).toThrow(DecodeFailedError);
      }
    });

    it('rejects garbage with a DecodeFailedError', () => {
      expect(() => codec.decode(new Uint8Array([0xc1, 0xff, 0x00, 0x12]))).toThrow(DecodeFailedError);
      expect(() => codec.decode(Buffer.from('not a record at all'))).toThrow(DecodeFailedError);
    });
  });
}
