import { crc32 } from './crc32.js';
import { RECORD_CHECKSUM_BYTES } from '@imgstore/core';

/**
 * Every stored value is `crc32(payload) as uint32 LE || payload`, where payload is the codec's bytes.
 * CRC-32 is zlib's (ISO-HDLC), so Python checks it with `zlib.crc32`.
 */
export function sealRecord(payload: Uint8Array): Buffer {
  const sealed = Buffer.allocUnsafe(RECORD_CHECKSUM_BYTES + payload.length);
  sealed.writeUInt32LE(crc32(payload), 0);
  sealed.set(payload, RECORD_CHECKSUM_BYTES);
  return sealed;
}

/**
 * Seals in place a value whose payload already follows RECORD_CHECKSUM_BYTES free bytes (e.g. from
 * packRecordWithHeadroom): the same bytes as sealRecord(payload), without copying the payload.
 */
export function sealRecordInPlace(value: Buffer): Buffer {
  value.writeUInt32LE(crc32(value.subarray(RECORD_CHECKSUM_BYTES)), 0);
  return value;
}

/**
 * Returns the payload of a sealed value (a view, no copy), or a string saying what is wrong with it.
 * With `check` false the CRC is not computed (a record this reader has already verified).
 * `value` may be a Buffer or, for large values, lmdb-js's plain Uint8Array view into the memory map.
 */
export function openRecord(value: Uint8Array, check = true): Uint8Array | string {
  if (value.length < RECORD_CHECKSUM_BYTES) {
    return `value has ${value.length} bytes, fewer than the ${RECORD_CHECKSUM_BYTES}-byte checksum`;
  }
  const payload = value.subarray(RECORD_CHECKSUM_BYTES);
  if (!check) return payload;
  const stored = (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0;
  const actual = crc32(payload);
  if (stored !== actual) {
    return `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`;
  }
  return payload;
}

/**
 * Checks a sealed value read in two parts, `head` (the checksum and the payload's first bytes) and
 * `tail` (the rest of the payload), without joining them: null when intact, else what is wrong.
 */
export function checkSplitRecord(head: Uint8Array, tail: Uint8Array): string | null {
  const stored = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const actual = crc32(tail, crc32(head.subarray(RECORD_CHECKSUM_BYTES)));
  return stored === actual ? null : `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`;
}

/** A checksum as messages print it: 0x and eight hex digits. */
export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
