import {
  HEADER_CRC_KEY,
  RECORD_OVERHEAD_BYTES,
  StoreFormatError,
  isVariableShape,
  shapeByteLength,
  type Shape,
  type StoreHeader,
} from '@imgstore/core';
import type { CodecRegistry } from '@imgstore/codec';
import { crc32 } from './crc32.js';
import { hex, openRecord } from './record-envelope.js';
import { recordKey } from './record-key.js';
import { checkHeaderFields, parseHeaderMap } from './store-header.js';
import type { StoreSnapshot } from './store-snapshot.js';
import { APPEND_KEY } from './writer-state.js';

/**
 * Records a header may count beyond those the records database holds: a few missing records are record
 * damage, reported by index on read (and by verify); more is a header that does not describe this store.
 * Bounded so that nothing sized from `count` (a permutation, a verify pass) outgrows the store itself.
 */
export function missingRecordAllowance(entries: number): number {
  return Math.max(16, Math.floor(entries / 100));
}

/**
 * Reads a finished store's header from `bytes` (meta/header of `snapshot`): checks its CRC-32 when the
 * store has one (stores written before it do not), decodes it (types and hard bounds, see decodeHeader),
 * then holds each claim that sizes memory or time to what the store holds: the record and reject counts
 * against LMDB's entry counts, the label counts against the record count, the sample shape against the
 * first and last records. A claim that fails is StoreFormatError, reason `damaged`, naming the field.
 */
export function readHeader(path: string, snapshot: StoreSnapshot, bytes: Uint8Array, codecs: CodecRegistry): StoreHeader {
  const damaged = (message: string) => new StoreFormatError(path, 'damaged', `Store ${path} has a damaged header: ${message}`);
  const stored = snapshot.meta(HEADER_CRC_KEY);
  let mismatch: string | null = null;
  if (stored !== undefined) {
    const actual = crc32(bytes);
    const expected = stored.length === 4 ? Buffer.from(stored.buffer, stored.byteOffset, 4).readUInt32LE(0) : null;
    if (expected === null) mismatch = `its checksum (meta/${HEADER_CRC_KEY}) has ${stored.length} bytes, not 4`;
    else if (expected !== actual) mismatch = `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)} over its ${bytes.length} bytes)`;
  }
  let map: Record<string, unknown>;
  try {
    map = parseHeaderMap(path, bytes);
  } catch (error) {
    // A newer version is reported as such; anything else about bytes that fail their checksum is damage.
    if (mismatch === null || (error as StoreFormatError).reason === 'version') throw error;
    throw damaged(mismatch);
  }
  if (mismatch !== null) throw damaged(mismatch);
  const header = checkHeaderFields(path, map);
  const says = (field: string, value: unknown, holds: string) =>
    damaged(`field "${field}" says ${JSON.stringify(value)} but the store holds ${holds}`);

  const { records, rejects } = lmdbRead(path, () => snapshot.counts());
  // While an append runs (or after one was killed), records and rejects past the header's are the
  // append's: the header still describes the store as it was (see APPEND_KEY).
  const appending = snapshot.meta(APPEND_KEY) !== undefined;
  if ((header.count < records && !appending) || header.count > records + missingRecordAllowance(records)) {
    throw says('count', header.count, `${records} records`);
  }
  if (appending ? header.rejected > rejects : header.rejected !== rejects) throw says('rejected', header.rejected, `${rejects} rejects`);
  if (header.labelCounts !== undefined) {
    const sum = header.labelCounts.reduce((a, b) => a + b, 0);
    if (sum !== header.count) throw damaged(`field "labelCounts" sums to ${sum} but field "count" says ${header.count}`);
  }
  checkShapeAgainstRecords(path, header, snapshot, codecs, says);
  return header;
}

/**
 * The first and last records (one record when the store has one) are witnesses of the sample shape:
 * when every intact witness disagrees with the header, the header is wrong. One record alone that
 * disagrees while the other agrees is that record's damage, reported when it is read.
 */
function checkShapeAgainstRecords(
  path: string,
  header: StoreHeader,
  snapshot: StoreSnapshot,
  codecs: CodecRegistry,
  says: (field: string, value: unknown, holds: string) => StoreFormatError,
): void {
  if (header.count === 0 || !codecs.has(header.codec)) return; // an unknown codec is reported by the caller
  const codec = codecs.get(header.codec);
  const variable = isVariableShape(header.shape);
  const limit = (variable ? header.maxSampleBytes! : shapeByteLength(header.shape)) + RECORD_OVERHEAD_BYTES;
  const witnesses: { index: number; shape: Shape }[] = [];
  for (const index of new Set([0, header.count - 1])) {
    let value: Uint8Array | undefined;
    try {
      value = lmdbRead(path, () => snapshot.record(recordKey(index)));
    } catch (error) {
      // A damaged page on the way to this record is the record's damage, reported by index when it is
      // read (as a checksum mismatch is): no witness, and no reason to refuse the whole store.
      if (error instanceof StoreFormatError && error.reason === 'damaged') continue;
      throw error;
    }
    if (value === undefined) continue;
    const payload = openRecord(value);
    if (typeof payload === 'string') continue;
    try {
      witnesses.push({ index, shape: codec.decode(payload, { maxDecodedBytes: limit }).shape });
    } catch {
      // A record that does not decode within the header's limit is no witness; reading it reports it.
    }
  }
  if (witnesses.length === 0) return;
  const fits = (shape: Shape) =>
    variable
      ? shape[2] === header.shape[2] && shapeByteLength(shape) <= header.maxSampleBytes!
      : shape[0] === header.shape[0] && shape[1] === header.shape[1] && shape[2] === header.shape[2];
  if (witnesses.some((w) => fits(w.shape))) return;
  const held = witnesses.map((w) => `record ${w.index} of shape ${JSON.stringify(w.shape)} (${shapeByteLength(w.shape)} bytes)`).join(' and ');
  if (variable && witnesses.every((w) => w.shape[2] === header.shape[2])) throw says('maxSampleBytes', header.maxSampleBytes, held);
  throw says('shape', header.shape, held);
}

/** LMDB's own errors on damaged pages (MDB_CORRUPTED, MDB_BAD_TXN, ...) are a damaged store, said so. */
function lmdbRead<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof StoreFormatError) throw cause;
    throw new StoreFormatError(path, 'damaged', `Store ${path} is damaged: LMDB cannot read its databases (${(cause as Error).message})`, { cause });
  }
}
