import { MAX_RECORDS, RECORD_KEY_BYTES, invalidOption } from '@imgstore/core';

/** The LMDB key of record `index`: 4-byte big-endian, so key order is index order. Fresh buffer. */
export function recordKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(RECORD_KEY_BYTES);
  writeRecordKey(key, index);
  return key;
}

/** Writes record `index`'s key into `key` (4 bytes), for read loops that reuse one key buffer. */
export function writeRecordKey(key: Buffer, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_RECORDS) {
    throw invalidOption('index', `integer from 0 to ${MAX_RECORDS}`, index);
  }
  key.writeUInt32BE(index, 0);
}
