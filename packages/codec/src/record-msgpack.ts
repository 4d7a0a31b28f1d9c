import { DecodeFailedError, MAX_META_BYTES, invalidOption, type SampleRecord, type Shape, shapeByteLength } from '@imgstore/core';
import { packPlain, unpackPlain } from './plain-msgpack.js';

/**
 * Serializes a record as a msgpack map {name, label, shape, dtype, [labels], [meta], data}; see FORMAT.md.
 * `data` stays last: readers split the pixels from the rest of the record (unpackRecordHead).
 */
export function packRecord(record: SampleRecord): Uint8Array {
  return packPlain({ ...recordFields(record), data: record.data });
}

const NO_BYTES = new Uint8Array(0);

/**
 * packRecord's bytes after `headroom` free bytes, in one buffer the pixels are copied into once (packRecord
 * then a copy behind a header copies them twice): the fields are packed with an empty "data", whose bin8
 * header is replaced by the pixels' (bin8, bin16 or bin32, as msgpack and packRecord choose by length).
 */
export function packRecordWithHeadroom(record: SampleRecord, headroom: number): Buffer {
  const head = packPlain({ ...recordFields(record), data: NO_BYTES });
  const fields = head.length - 2; // up to the empty bin8 (0xc4 0x00) that ends the head
  const n = record.data.length;
  const binHeader = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const out = Buffer.allocUnsafe(headroom + fields + binHeader + n);
  out.set(head.subarray(0, fields), headroom);
  let at = headroom + fields;
  out[at] = binHeader === 2 ? 0xc4 : binHeader === 3 ? 0xc5 : 0xc6;
  if (binHeader === 2) out[at + 1] = n;
  else if (binHeader === 3) out.writeUInt16BE(n, at + 1);
  else out.writeUInt32BE(n, at + 1);
  at += binHeader;
  out.set(record.data, at);
  return out;
}

/** The fields before the pixels, format 1.1's `labels` and `meta` only when the record has them. */
function recordFields(record: Omit<SampleRecord, 'data'>): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    name: record.name,
    label: record.label,
    shape: [record.shape[0], record.shape[1], record.shape[2]],
    dtype: record.dtype,
  };
  const { labels, meta } = record;
  if (labels === undefined && meta === undefined) return fields;
  if (labels !== undefined) {
    if (!Array.isArray(labels) || !labels.every((n) => Number.isInteger(n) && n >= 0)) {
      throw invalidOption('record.labels', 'array of non-negative integers', labels);
    }
    fields.labels = labels;
  }
  if (meta !== undefined) fields.meta = meta;
  // Readers allow a record only so many bytes beside its pixels (RECORD_OVERHEAD_BYTES).
  const extra = packPlain([labels ?? null, meta ?? null]).length;
  if (extra > MAX_META_BYTES) {
    throw invalidOption('record.meta', `labels and meta of at most ${MAX_META_BYTES} bytes as msgpack`, `${extra} bytes`);
  }
  return fields;
}

/**
 * Parses and checks a msgpack record. `data` in the result is a view into `bytes` (no copy);
 * callers that hand it out must copy it when `bytes` is reused.
 */
export function unpackRecord(bytes: Uint8Array, source = 'record'): SampleRecord {
  return checkRecord(unpackMessage(bytes, source), source);
}

function unpackMessage(bytes: Uint8Array, source: string): unknown {
  try {
    return unpackPlain(bytes);
  } catch (cause) {
    throw new DecodeFailedError(source, `Cannot decode ${source}: malformed msgpack (${(cause as Error).message})`, {
      cause,
    });
  }
}

function fail(source: string, what: string): never {
  throw new DecodeFailedError(source, `Cannot decode ${source}: ${what}`);
}

function checkRecord(value: unknown, source: string): SampleRecord {
  const record = checkRecordFields(value, source, 'data');
  const expected = shapeByteLength(record.shape);
  if (record.data.length !== expected) {
    fail(source, `field "data" has ${record.data.length} bytes but shape ${JSON.stringify(record.shape)} needs ${expected}`);
  }
  return record;
}

/** Checks a record map's name, label, shape, dtype and its binary `field`; the caller checks the bytes. */
function checkRecordFields(value: unknown, source: string, field: string): SampleRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, 'expected a msgpack map');
  // msgpackr renames a `__proto__` key to `__proto_` so it cannot reach Object.prototype; a record with
  // either is crafted, not written by any imgstore writer, and is refused.
  if (Object.hasOwn(value, '__proto_') || Object.hasOwn(value, '__proto__')) fail(source, 'forbidden key "__proto__"');
  const { name, label, shape, dtype } = value as Record<string, unknown>;
  const data = Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
  if (typeof name !== 'string') fail(source, 'field "name" is not a string');
  if (label !== null && !(typeof label === 'number' && Number.isInteger(label) && label >= 0)) {
    fail(source, 'field "label" is neither null nor a non-negative integer');
  }
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0)
  ) {
    fail(source, 'field "shape" is not three positive integers');
  }
  if (dtype !== 'uint8') fail(source, `field "dtype" is ${JSON.stringify(dtype)}, expected "uint8"`);
  if (!(data instanceof Uint8Array)) fail(source, `field "${field}" is not binary`);
  const record: SampleRecord = { name, label: label as number | null, shape: shape as unknown as Shape, dtype, data };
  // Format 1.1: present only in records that have them.
  const { labels, meta } = value as Record<string, unknown>;
  if (labels !== undefined) {
    if (!Array.isArray(labels) || !labels.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) {
      fail(source, 'field "labels" is not an array of non-negative integers');
    }
    if (label !== null) fail(source, 'fields "label" and "labels" are both set');
    record.labels = labels as number[];
  }
  if (meta !== undefined) record.meta = meta;
  return record;
}

/**
 * For codecs that store pixels in another form (an encoded image, a compressed block): the same msgpack
 * map as a plain record, with the pixels' encoded bytes under `field` (e.g. "jpeg") instead of "data".
 */
export function packEncodedRecord(record: Omit<SampleRecord, 'data'>, field: string, payload: Uint8Array): Uint8Array {
  return packPlain({ ...recordFields(record), [field]: payload });
}

/** Parses and checks a record written by `packEncodedRecord`; `data` is the view of `field`'s bytes. */
export function unpackEncodedRecord(bytes: Uint8Array, field: string, source = 'record'): SampleRecord {
  return checkRecordFields(unpackMessage(bytes, source), source, field);
}

/** The msgpack encoding of the key "data" (fixstr of 4 bytes). */
const DATA_KEY = [0xa4, 0x64, 0x61, 0x74, 0x61];

/**
 * Parses a raw record whose pixels were read elsewhere: `head` is the record up to and including the
 * binary header of its last field "data" (as packRecord writes it), and the `pixelBytes` that follow it
 * are not in `head`. Returns the other fields, checked as unpackRecord checks them, or throws
 * DecodeFailedError when `head` is not such a prefix (the caller then reads the record whole).
 */
export function unpackRecordHead(head: Uint8Array, pixelBytes: number, source = 'record'): Omit<SampleRecord, 'data'> {
  // The bin header that ends the head: bin32, bin16 or bin8, whichever packRecord chose for the length.
  const n = head.length;
  let lengthBytes = 0;
  if (n >= 5 && head[n - 5] === 0xc6 && readBigEndian(head, n - 4, 4) === pixelBytes) lengthBytes = 4;
  else if (n >= 3 && head[n - 3] === 0xc5 && readBigEndian(head, n - 2, 2) === pixelBytes) lengthBytes = 2;
  else if (n >= 2 && head[n - 2] === 0xc4 && head[n - 1] === pixelBytes) lengthBytes = 1;
  const key = n - 1 - lengthBytes - DATA_KEY.length;
  if (lengthBytes === 0 || key < 1 || DATA_KEY.some((byte, i) => head[key + i] !== byte)) {
    fail(source, `its last field is not "data" with ${pixelBytes} bytes`);
  }
  // The same map with an empty "data": a valid msgpack document to check the other fields with.
  const copy = Uint8Array.prototype.slice.call(head) as Uint8Array;
  copy.fill(0, n - lengthBytes);
  const record = checkRecordFields(unpackMessage(copy, source), source, 'data');
  if (shapeByteLength(record.shape) !== pixelBytes) {
    fail(source, `field "data" has ${pixelBytes} bytes but shape ${JSON.stringify(record.shape)} needs ${shapeByteLength(record.shape)}`);
  }
  const { name, label, shape, dtype, labels, meta } = record;
  return { name, label, shape, dtype, ...(labels === undefined ? {} : { labels }), ...(meta === undefined ? {} : { meta }) };
}

function readBigEndian(bytes: Uint8Array, at: number, length: number): number {
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[at + i]!;
  return value;
}
