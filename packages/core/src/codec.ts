import type { SampleRecord } from './sample.js';

/** What a reader allows a codec to produce, from the store header: decoders refuse more before allocating. */
export interface DecodeLimits {
  /** Most bytes a decoded record (its msgpack bytes) may take. */
  maxDecodedBytes: number;
}

/** Room for a record's non-pixel fields (name, label, shape, dtype) on top of its pixels. */
export const RECORD_OVERHEAD_BYTES = 64 * 1024;

/**
 * Turns a record into the bytes stored in LMDB and back. The store wraps these bytes in its own
 * checksum envelope, so a codec needs no integrity check of its own.
 */
export interface Codec {
  /** Stable id written into the store header; the reader resolves the codec by it. */
  readonly id: string;
  /** One line for `--help` and error messages. */
  readonly description: string;
  encode(record: SampleRecord): Uint8Array;
  /**
   * Decodes bytes produced by `encode`. The returned `data` must not alias `bytes`: the store passes
   * a buffer that the next read overwrites. Throws on malformed input; never returns partial data.
   * A codec that expands its input (compression) must refuse output beyond `limits.maxDecodedBytes`
   * before allocating it.
   */
  decode(bytes: Uint8Array, limits?: DecodeLimits): SampleRecord;
  /**
   * Optional: like `decode`, but `data` may be a view into `bytes` (no copy). Readers that copy the
   * pixels straight into a batch use it to save a copy per sample.
   */
  decodeView?(bytes: Uint8Array, limits?: DecodeLimits): SampleRecord;
}
