import { packPlain, unpackPlain } from '@imgstore/codec';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  StoreFormatError,
  isVariableShape,
  type Shape,
  type StoreHeader,
} from '@imgstore/core';

export function encodeHeader(header: StoreHeader): Buffer {
  return packPlain(header);
}

/** Parses and checks a header; `path` names the store in errors. */
export function decodeHeader(path: string, bytes: Uint8Array): StoreHeader {
  let value: unknown;
  try {
    value = unpackPlain(bytes);
  } catch (cause) {
    throw new StoreFormatError(path, 'not-a-store', `Store ${path} has an unreadable header (not msgpack)`, { cause });
  }
  const h = value as Partial<StoreHeader> | null;
  if (typeof h !== 'object' || h === null || h.format !== FORMAT_NAME) {
    throw new StoreFormatError(path, 'not-a-store', `${path} is an LMDB environment but not an imgstore store`);
  }
  if (typeof h.version !== 'number' || h.version > FORMAT_VERSION) {
    throw new StoreFormatError(
      path,
      'version',
      `Store ${path} has format version ${String(h.version)}; this reader reads ${FORMAT_VERSION}`,
    );
  }
  const bad = (field: string) =>
    new StoreFormatError(path, 'not-a-store', `Store ${path} has a malformed header: field "${field}"`);
  if (typeof h.codec !== 'string') throw bad('codec');
  if (typeof h.count !== 'number' || !Number.isInteger(h.count) || h.count < 0) throw bad('count');
  if (!isShape(h.shape)) throw bad('shape');
  if (isVariableShape(h.shape) ? !(Number.isInteger(h.maxSampleBytes) && h.maxSampleBytes! > 0) : h.maxSampleBytes !== undefined) {
    throw bad('maxSampleBytes');
  }
  if (h.labelNames !== null && !(Array.isArray(h.labelNames) && h.labelNames.every((n) => typeof n === 'string'))) {
    throw bad('labelNames');
  }
  if (
    h.labelCounts !== undefined &&
    !(
      Array.isArray(h.labelCounts) &&
      h.labelCounts.length === (h.labelNames?.length ?? -1) &&
      h.labelCounts.every((n) => Number.isInteger(n) && n >= 0)
    )
  ) {
    throw bad('labelCounts');
  }
  return h as StoreHeader;
}

function isShape(value: unknown): value is Shape {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    value.every((n, i) => typeof n === 'number' && Number.isInteger(n) && (n > 0 || (i < 2 && value[0] === 0 && value[1] === 0)))
  );
}
