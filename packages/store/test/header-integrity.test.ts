import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { open } from 'lmdb';
import { HEADER_CRC_KEY, HEADER_KEY, StoreFormatError, type StoreFormatReason } from '@imgstore/core';
import { packPlain, unpackPlain } from '@imgstore/codec';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

// The header is sealed with a CRC-32 beside it in meta; stores written before it (no CRC key) still
// read, held to the same cross-checks; every header claim that sizes memory or time is checked.

const COUNT = 6;
const shape: [number, number, number] = [4, 5, 3];
let tmp: ReturnType<typeof makeTempDir>;
let pristine: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-header-');
  pristine = join(tmp.dir, 'pristine.lmdb');
  const writer = createStoreWriter(pristine, { shape, labelNames: ['a', 'b', 'c'] });
  for (let i = 0; i < COUNT; i++) await writer.append({ name: `${i}.png`, label: i % 3, shape, dtype: 'uint8', data: uniquePixels(60, i) });
  await writer.finish();
});
afterAll(() => tmp.cleanup());

let copies = 0;
/** A copy of the pristine store with its meta database edited by `edit` (raw lmdb, as a foreign tool would). */
async function edited(edit: (meta: { get(key: string): Buffer | undefined; put(key: string, value: Buffer): void; remove(key: string): void }) => void) {
  const path = join(tmp.dir, `copy-${copies++}.lmdb`);
  cpSync(pristine, path, { recursive: true });
  const env = open({ path, noSubdir: false, maxDbs: 8 });
  const db = env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
  env.transactionSync(() =>
    edit({
      get: (key) => db.getBinary(Buffer.from(key)) as Buffer | undefined,
      put: (key, value) => db.putSync(Buffer.from(key), value),
      remove: (key) => db.removeSync(Buffer.from(key)),
    }),
  );
  await env.close();
  return path;
}

/** Rewrites the header with `fields` changed and, as a store written before the CRC, no CRC key. */
const withoutCrc = (fields: Record<string, unknown>, remove: string[] = []) =>
  edited((meta) => {
    const header = { ...(unpackPlain(meta.get(HEADER_KEY)!) as Record<string, unknown>), ...fields };
    for (const key of remove) delete header[key];
    meta.put(HEADER_KEY, packPlain(header));
    meta.remove(HEADER_CRC_KEY);
  });

function refusal(path: string): StoreFormatError {
  try {
    openStore(path);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreFormatError);
    return error as StoreFormatError;
  }
  throw new Error(`${path} opened`);
}

function expectRefused(path: string, reason: StoreFormatReason, message: string | RegExp) {
  const error = refusal(path);
  expect(error.reason).toBe(reason);
  expect(error.path).toBe(path);
  expect(error.message).toContain(`Store ${path} `);
  expect(error.message).toMatch(message);
}

describe('the header checksum', () => {
  it('is written beside the header: CRC-32 of its bytes, 4 bytes little-endian', async () => {
    const env = open({ path: pristine, noSubdir: false, maxDbs: 8, readOnly: true });
    const meta = env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
    const header = meta.getBinary(Buffer.from(HEADER_KEY))!;
    const crc = meta.getBinary(Buffer.from(HEADER_CRC_KEY))!;
    expect(crc.length).toBe(4);
    expect(Buffer.from(crc).readUInt32LE(0)).toBe(zlibCrc32(header));
    await env.close();
  });

  it('a store written before it (no CRC key) still reads, every record', async () => {
    const path = await edited((meta) => meta.remove(HEADER_CRC_KEY));
    const store = openStore(path);
    expect(store.length).toBe(COUNT);
    for (let i = 0; i < COUNT; i++) expect(Buffer.from(store.get(i).data)).toEqual(Buffer.from(uniquePixels(60, i)));
    await store.close();
  });

  it('a flipped header byte is refused as damage, even where the header still decodes', async () => {
    const path = await edited((meta) => {
      const header = Buffer.from(meta.get(HEADER_KEY)!);
      const at = header.indexOf(Buffer.from('toolVersion')) + 2; // a key's bytes: decodes, into something else
      header.writeUInt8(header.readUInt8(at) ^ 0x01, at);
      meta.put(HEADER_KEY, header);
    });
    expectRefused(path, 'damaged', /has a damaged header: checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
  });

  it('a checksum value of the wrong length is damage', async () => {
    const path = await edited((meta) => meta.put(HEADER_CRC_KEY, Buffer.from([1, 2, 3])));
    expectRefused(path, 'damaged', `its checksum (meta/${HEADER_CRC_KEY}) has 3 bytes, not 4`);
  });
});

describe('header claims, cross-checked (stores without a CRC key)', () => {
  it('a count far above the records database', async () => {
    expectRefused(await withoutCrc({ count: 4_000_000_000 }), 'damaged', `field "count" says 4000000000 but the store holds ${COUNT} records`);
  });

  it('a count below the records database', async () => {
    expectRefused(await withoutCrc({ count: 2 }), 'damaged', `field "count" says 2 but the store holds ${COUNT} records`);
  });

  it('rejected against the rejects database', async () => {
    expectRefused(await withoutCrc({ rejected: 9 }), 'damaged', 'field "rejected" says 9 but the store holds 0 rejects');
  });

  it('label counts that do not add up to the count', async () => {
    expectRefused(await withoutCrc({ labelCounts: [2, 2, 3] }), 'damaged', 'field "labelCounts" sums to 7 but field "count" says 6');
  });

  it('a shape that its records do not have (first and last record as witnesses)', async () => {
    expectRefused(
      await withoutCrc({ shape: [5000, 5000, 3] }),
      'damaged',
      'field "shape" says [5000,5000,3] but the store holds record 0 of shape [4,5,3] (60 bytes) and record 5 of shape [4,5,3] (60 bytes)',
    );
  });

  it('a variable-size header whose maxSampleBytes its records exceed', async () => {
    expectRefused(await withoutCrc({ shape: [0, 0, 3], maxSampleBytes: 10 }), 'damaged', /field "maxSampleBytes" says 10 but the store holds record 0 of shape \[4,5,3\]/);
  });

  it.each([
    ['count', -1, /field "count" must be an integer from 0 to 4294967295, found -1 \(number\)/],
    ['count', 1.5, /field "count" must be an integer/],
    ['count', '6', /field "count" must be an integer.*found "6" \(string\)/],
    ['count', [6], /field "count" must be an integer.*found \[6\] \(array\)/],
    ['count', undefined, /field "count" must be an integer.*found nothing \(the field is missing\)/],
    ['shape', [100000, 100000, 3], /field "shape" must be \[height, width, channels\] with sides from 1 to 65535/],
    ['shape', [60000, 60000, 3], /field "shape" must be a sample of at most 1073741824 bytes/],
    ['shape', [4, 5, 0], /field "shape" must be/],
    ['shape', [4, 5, 9], /field "shape" must be/],
    ['shape', [4, 0, 3], /field "shape" must be/],
    ['shape', [[4], 5, 3], /field "shape" must be/],
    ['shape', { 0: 4 }, /field "shape" must be/],
    ['maxSampleBytes', 7, /field "maxSampleBytes" must be absent in a fixed-shape store/],
    ['codec', 7, /field "codec" must be a codec id/],
    ['rejected', -3, /field "rejected" must be an integer/],
    ['labelNames', [1, 2, 3], /field "labelNames" must be an array of strings/],
    ['labelCounts', [1, 2], /field "labelCounts" must be absent, or an array of 3 integers/],
    ['dtype', 'float64', /field "dtype" must be "uint8"/],
    ['provenance', 'me', /field "provenance" must be a map/],
    ['version', 'one', /field "version" must be a positive integer/],
  ])('field %s = %j: a StoreFormatError naming the field', async (field, value, message) => {
    const path = await withoutCrc(value === undefined ? {} : { [field]: value }, value === undefined ? [field] : []);
    expectRefused(path, 'damaged', message);
  });

  it('NaN, huge and nested values too', async () => {
    expectRefused(await withoutCrc({ count: Number.NaN }), 'damaged', /field "count" must be an integer.*found NaN \(number\)/);
    expectRefused(await withoutCrc({ rejected: 2 ** 60 }), 'damaged', /field "rejected" must be an integer/);
    expectRefused(await withoutCrc({ shape: [4, 5, { c: 3 }] }), 'damaged', /field "shape" must be/);
  });
});
