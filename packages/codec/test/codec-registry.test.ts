import { describe, expect, it } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InvalidOptionError, UnknownCodecError, type Codec } from '@imgstore/core';
import { CodecRegistry, DEFAULT_CODEC_ID, defaultCodecs, getCodec, lz4Codec, packRecord, rawCodec, unpackRecord } from '@imgstore/codec';
import { describeCodecContract } from '../../../tools/test-support/codec-contract.js';

// A user-defined codec, written in this file: msgpack record, gzip-compressed.
const gzipCodec: Codec = {
  id: 'test-gzip',
  description: 'msgpack record, gzip',
  encode: (record) => gzipSync(packRecord(record)),
  decode: (bytes, limits) => {
    let plain: Buffer;
    try {
      // A decompressing codec refuses output beyond the reader's limits before producing it.
      plain = gunzipSync(bytes, limits ? { maxOutputLength: limits.maxDecodedBytes } : {});
    } catch (cause) {
      return unpackRecord(new Uint8Array(0), `gzip record (${(cause as Error).message})`);
    }
    return unpackRecord(plain);
  },
};

describeCodecContract(gzipCodec);

describe('CodecRegistry', () => {
  it('holds lz4 and raw by default and resolves them by id', () => {
    expect(defaultCodecs.ids()).toEqual(['lz4', 'raw']);
    expect(DEFAULT_CODEC_ID).toBe('raw');
    expect(getCodec('lz4')).toBe(lz4Codec);
    expect(getCodec('raw')).toBe(rawCodec);
  });

  it('refuses an unknown id, listing the registered ones', () => {
    const registry = new CodecRegistry([lz4Codec]);
    expect(() => registry.get('zstd')).toThrow(UnknownCodecError);
    expect(() => registry.get('zstd')).toThrow('Unknown codec "zstd"; registered codecs: lz4');
  });

  it('says which package provides a codec that lives outside this one', () => {
    expect(() => new CodecRegistry([rawCodec]).get('jpeg')).toThrow(
      /Unknown codec "jpeg"; registered codecs: raw\. Codec "jpeg" stores JPEG-encoded pixels and is provided by @imgstore\/codec-jpeg: install it .*registerJpegCodec\(\)/,
    );
  });

  it('registers a user codec, and refuses a different codec under a taken id', () => {
    const registry = new CodecRegistry([lz4Codec]);
    registry.register(gzipCodec);
    expect(registry.get('test-gzip')).toBe(gzipCodec);
    expect(() => registry.register({ ...gzipCodec })).toThrow(InvalidOptionError);
    expect(() => registry.register({ ...gzipCodec, id: '' })).toThrow('Expected non-empty string for codec.id');
  });
});
