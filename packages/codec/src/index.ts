export { packPlain, unpackPlain } from './plain-msgpack.js';
export { packRecord, packRecordWithHeadroom, unpackRecord, unpackRecordHead, packEncodedRecord, unpackEncodedRecord } from './record-msgpack.js';
export { rawCodec } from './raw-codec.js';
export { lz4Codec, LZ4_MAX_DECODED_BYTES } from './lz4-codec.js';
export { CodecRegistry, DEFAULT_CODEC_ID, defaultCodecs, registerCodec, getCodec } from './codec-registry.js';
export type { Codec, SampleRecord } from '@imgstore/core';
