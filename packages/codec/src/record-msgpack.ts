import { DecodeFailedError, type SampleRecord, type Shape, shapeByteLength } from '@imgstore/core';
import { packPlain, unpackPlain } from './plain-msgpack.js';

/** Serializes a record as a msgpack map {name, label, shape, dtype, data}; see FORMAT.md. */
export function packRecord(record: SampleRecord): Uint8Array {
  return packPlain({
    name: record.name,
    label: record.label,
    shape: [record.shape[0], record.shape[1], record.shape[2]],
    dtype: record.dtype,
    data: record.data,
  });
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
  const { name, label, shape, dtype, data } = checkRecordFields(value, source, 'data');
  const expected = shapeByteLength(shape);
  if (data.length !== expected) {
    fail(source, `field "data" has ${data.length} bytes but shape ${JSON.stringify(shape)} needs ${expected}`);
  }
  return { name, label, shape, dtype, data };
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
  return { name, label: label as number | null, shape: shape as unknown as Shape, dtype, data };
}

/**
 * For codecs that store pixels in another form (an encoded image, a compressed block): the same msgpack
 * map as a plain record, with the pixels' encoded bytes under `field` (e.g. "jpeg") instead of "data".
 */
export function packEncodedRecord(record: Omit<SampleRecord, 'data'>, field: string, payload: Uint8Array): Uint8Array {
  return packPlain({
    name: record.name,
    label: record.label,
    shape: [record.shape[0], record.shape[1], record.shape[2]],
    dtype: record.dtype,
    [field]: payload,
  });
}

/** Parses and checks a record written by `packEncodedRecord`; `data` is the view of `field`'s bytes. */
export function unpackEncodedRecord(bytes: Uint8Array, field: string, source = 'record'): SampleRecord {
  return checkRecordFields(unpackMessage(bytes, source), source, field);
}
