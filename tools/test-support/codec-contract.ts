import { describe, expect, it } from 'vitest';
import { DecodeFailedError, shapeByteLength, type Codec, type SampleRecord } from '@imgstore/core';

export interface CodecContractOptions {
  /**
   * Largest mean absolute pixel error a round trip may have (lossy codecs, on smooth test images).
   * Default 0: the pixels come back byte for byte.
   */
  maxMeanError?: number;
  /** Channel counts the codec stores. Default [1, 3, 4]. */
  channels?: readonly number[];
}

/** A smooth gradient with a little deterministic texture: what photos look like to a lossy codec. */
function sampleRecord(height: number, width: number, seed: number, channels = 3): SampleRecord {
  const data = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const i = (y * width + x) * channels + c;
        data[i] = (40 + ((x * 90) / width) + ((y * 80) / height) + c * 30 + seed * 7 + ((x * 7 + y * 3 + seed) % 5)) & 0xff;
      }
    }
  }
  return { name: `class/${seed}-photo é.jpg`, label: seed % 3, shape: [height, width, channels], dtype: 'uint8', data };
}

function meanError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** The behaviour every codec must have; run it against each implementation. */
export function describeCodecContract(codec: Codec, options: CodecContractOptions = {}): void {
  const maxMeanError = options.maxMeanError ?? 0;
  const channelCounts = options.channels ?? [1, 3, 4];
  const expectPixels = (decoded: Uint8Array, original: Uint8Array) => {
    expect(decoded.length).toBe(original.length);
    if (maxMeanError === 0) expect(Buffer.from(decoded).equals(Buffer.from(original))).toBe(true);
    else expect(meanError(decoded, original)).toBeLessThanOrEqual(maxMeanError);
  };

  describe(`codec contract: ${codec.id}`, () => {
    it('round-trips every field', () => {
      for (const [h, w, seed] of [[1, 1, 0], [8, 5, 1], [64, 48, 2]] as const) {
        for (const channels of channelCounts) {
          const record = sampleRecord(h, w, seed, channels);
          const decoded = codec.decode(codec.encode(record));
          expect(decoded.name).toBe(record.name);
          expect(decoded.label).toBe(record.label);
          expect([...decoded.shape]).toEqual([...record.shape]);
          expect(decoded.dtype).toBe('uint8');
          expectPixels(decoded.data, record.data);
        }
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

    it('decodeView and decodeInto, when present, give the pixels decode gives', () => {
      const record = sampleRecord(24, 20, 6);
      const encoded = codec.encode(record);
      const expected = codec.decode(encoded).data;
      if (codec.decodeView) expect(Buffer.from(codec.decodeView(encoded).data).equals(Buffer.from(expected))).toBe(true);
      if (codec.decodeInto) {
        // Written at an offset, between canaries that must survive.
        const bytes = shapeByteLength(record.shape);
        const target = new Uint8Array(bytes + 20).fill(0xa5);
        const info = codec.decodeInto(encoded, target, 10);
        expect(info.name).toBe(record.name);
        expect(info.label).toBe(record.label);
        expect([...info.shape]).toEqual([...record.shape]);
        expect(Buffer.from(target.subarray(10, 10 + bytes)).equals(Buffer.from(expected))).toBe(true);
        expect([...target.subarray(0, 10), ...target.subarray(10 + bytes)].every((b) => b === 0xa5)).toBe(true);
        expect(() => codec.decodeInto!(encoded, new Uint8Array(bytes + 9), 10)).toThrow(DecodeFailedError);
      }
    });

    it('rejects every truncation with a DecodeFailedError', () => {
      const encoded = codec.encode(sampleRecord(6, 7, 4));
      for (let length = 0; length < encoded.length; length++) {
        expect(() => codec.decode(encoded.subarray(0, length)), `truncated to ${length}`).toThrow(DecodeFailedError);
        if (codec.decodeInto) {
          expect(() => codec.decodeInto!(encoded.subarray(0, length), new Uint8Array(6 * 7 * 3), 0), `decodeInto, truncated to ${length}`).toThrow(
            DecodeFailedError,
          );
        }
      }
    });

    it('rejects garbage with a DecodeFailedError', () => {
      expect(() => codec.decode(new Uint8Array([0xc1, 0xff, 0x00, 0x12]))).toThrow(DecodeFailedError);
      expect(() => codec.decode(Buffer.from('not a record at all'))).toThrow(DecodeFailedError);
    });

    it("refuses a record larger than the reader's limits allow", () => {
      const encoded = codec.encode(sampleRecord(32, 32, 7));
      expect(codec.decode(encoded, { maxDecodedBytes: 32 * 32 * 3 + 1024 }).data.length).toBe(32 * 32 * 3);
      // Raw records carry their pixels, so only expanding codecs can exceed the stored size.
      if (encoded.length < 32 * 32 * 3) {
        expect(() => codec.decode(encoded, { maxDecodedBytes: 32 * 32 })).toThrow(DecodeFailedError);
      }
    });
  });
}
