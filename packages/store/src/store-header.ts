import { packPlain, unpackPlain } from '@imgstore/codec';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  MAX_CHANNELS,
  MAX_RECORDS,
  MAX_SAMPLE_BYTES,
  MAX_SAMPLE_SIDE,
  StoreFormatError,
  type StoreHeader,
} from '@imgstore/core';

export function encodeHeader(header: StoreHeader): Buffer {
  return packPlain(header);
}

/** A header value for an error message: short, whatever its type. */
export function describeHeaderValue(value: unknown): string {
  let text: string;
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'bigint') text = `${value}`;
  else if (typeof value === 'number') text = String(value); // NaN and Infinity, which JSON would print as null
  else if (value instanceof Uint8Array) text = `${value.length} bytes of binary`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${text.length > 60 ? `${text.slice(0, 57)}...` : text} (${type})`;
}

const isInt = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * Parses a header's msgpack and checks that it is an imgstore header of a version this reader reads:
 * `format` and `version` come first, whatever else is wrong (a newer version may lay out the rest, its
 * checksum included, differently).
 */
export function parseHeaderMap(path: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = unpackPlain(bytes);
  } catch (cause) {
    throw new StoreFormatError(path, 'not-a-store', `Store ${path} has an unreadable header (not msgpack)`, { cause });
  }
  if (!isMap(value) || value.format !== FORMAT_NAME) {
    throw new StoreFormatError(path, 'not-a-store', `${path} is an LMDB environment but not an imgstore store`);
  }
  if (typeof value.version === 'number' && Number.isInteger(value.version) && value.version > FORMAT_VERSION) {
    throw new StoreFormatError(path, 'version', `Store ${path} has format version ${value.version}; this reader reads ${FORMAT_VERSION}`);
  }
  return value;
}

/**
 * Parses and checks a header; `path` names the store in errors. Every field a reader uses is checked for
 * its type and range before anything is sized from it: a wrong one is a StoreFormatError (reason
 * `damaged`) naming the field, what was expected and what the header holds. Unknown fields are ignored.
 */
export function decodeHeader(path: string, bytes: Uint8Array): StoreHeader {
  return checkHeaderFields(path, parseHeaderMap(path, bytes));
}

/** The field checks of decodeHeader, on a map from parseHeaderMap. */
export function checkHeaderFields(path: string, value: Record<string, unknown>): StoreHeader {
  const h = value;
  const bad = (field: string, expected: string) =>
    new StoreFormatError(
      path,
      'damaged',
      `Store ${path} has a malformed header: field "${field}" must be ${expected}, found ${describeHeaderValue(h[field])}`,
    );
  if (typeof h.version !== 'number' || !Number.isInteger(h.version) || h.version < 1) throw bad('version', 'a positive integer');
  if (typeof h.codec !== 'string' || h.codec.length === 0 || h.codec.length > 256) throw bad('codec', 'a codec id (a non-empty string)');
  if (!isInt(h.count, 0, MAX_RECORDS)) throw bad('count', `an integer from 0 to ${MAX_RECORDS}`);
  const shape = h.shape;
  const sides = `[height, width, channels] with sides from 1 to ${MAX_SAMPLE_SIDE} (or both 0: variable size) and 1 to ${MAX_CHANNELS} channels`;
  if (!Array.isArray(shape) || shape.length !== 3 || !isInt(shape[0], 0, MAX_SAMPLE_SIDE) || !isInt(shape[1], 0, MAX_SAMPLE_SIDE)) {
    throw bad('shape', sides);
  }
  if (!isInt(shape[2], 1, MAX_CHANNELS) || (shape[0] === 0) !== (shape[1] === 0)) throw bad('shape', sides);
  const variable = shape[0] === 0;
  if (shape[0] * shape[1] * shape[2] > MAX_SAMPLE_BYTES) {
    throw bad('shape', `a sample of at most ${MAX_SAMPLE_BYTES} bytes (1 GiB), [height, width, channels]`);
  }
  if (variable) {
    if (!isInt(h.maxSampleBytes, shape[2], MAX_SAMPLE_BYTES)) {
      throw bad('maxSampleBytes', `an integer from ${shape[2]} to ${MAX_SAMPLE_BYTES} (1 GiB) in a variable-size store`);
    }
  } else if (h.maxSampleBytes !== undefined) {
    throw bad('maxSampleBytes', 'absent in a fixed-shape store');
  }
  // Format 1.1 fields (FORMAT.md section 7): a reader decides how to read labels from multiLabel.
  if (h.minorVersion !== undefined && !isInt(h.minorVersion, 0, Number.MAX_SAFE_INTEGER)) throw bad('minorVersion', 'absent, or an integer of at least 0');
  if (h.multiLabel !== undefined && typeof h.multiLabel !== 'boolean') throw bad('multiLabel', 'absent, or a boolean');
  if (h.dtype !== 'uint8') throw bad('dtype', '"uint8"');
  if (h.layout !== 'HWC') throw bad('layout', '"HWC"');
  if (h.colorSpace !== 'srgb') throw bad('colorSpace', '"srgb"');
  const labelNames = h.labelNames;
  if (labelNames !== null && !(Array.isArray(labelNames) && labelNames.every((n) => typeof n === 'string'))) {
    throw bad('labelNames', 'an array of strings, or nil');
  }
  if (!isInt(h.rejected, 0, MAX_RECORDS)) throw bad('rejected', `an integer from 0 to ${MAX_RECORDS}`);
  if (
    h.labelCounts !== undefined &&
    !(
      Array.isArray(h.labelCounts) &&
      labelNames !== null &&
      h.labelCounts.length === labelNames.length &&
      h.labelCounts.every((n) => isInt(n, 0, MAX_RECORDS))
    )
  ) {
    throw bad('labelCounts', `absent, or an array of ${labelNames?.length ?? 0} integers of at least 0 (one per label name)`);
  }
  const provenance = h.provenance;
  if (
    !isMap(provenance) ||
    typeof provenance.tool !== 'string' ||
    typeof provenance.toolVersion !== 'string' ||
    typeof provenance.createdAt !== 'string' ||
    (provenance.source !== undefined && typeof provenance.source !== 'string') ||
    (provenance.settings !== undefined && !isMap(provenance.settings))
  ) {
    throw bad('provenance', 'a map of strings tool, toolVersion, createdAt (optional: source, a string; settings, a map)');
  }
  return h as unknown as StoreHeader;
}
