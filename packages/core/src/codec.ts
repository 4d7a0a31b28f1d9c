import type { SampleRecord, Shape } from './sample.js';

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
  /**
   * Optional: decodes the pixels straight into `target` at `offset` (exactly the record's shape in bytes)
   * and returns the rest of the record with `data` left out. Codecs that decompress or decode images use
   * it to write into a batch with no intermediate buffer. `target` is untouched beyond those bytes.
   */
  decodeInto?(bytes: Uint8Array, target: Uint8Array, offset: number, limits?: DecodeLimits): Omit<SampleRecord, 'data'>;
  /**
   * Optional: the record without its pixels, and without decoding them (no image decode, no pixel copy),
   * for tools that need names, labels or metadata only (an append's list of the names a store holds).
   */
  decodeFields?(bytes: Uint8Array, limits?: DecodeLimits): Omit<SampleRecord, 'data'>;
  /**
   * Where worker threads load this codec from: a module URL or path whose exports include it. Codecs
   * that are not built into @imgstore/codec set it so that a DataLoader's workers can read their stores.
   */
  readonly module?: string;
  /** Optional: throws InvalidOptionError when this codec cannot store records of `shape` (writers ask first). */
  checkShape?(shape: Shape): void;
}

/** True when `value` has a codec's shape (id, encode, decode): for modules that export codecs. */
export function isCodec(value: unknown): value is Codec {
  const codec = value as Partial<Codec> | null;
  return (
    typeof codec === 'object' &&
    codec !== null &&
    typeof codec.id === 'string' &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function'
  );
}
