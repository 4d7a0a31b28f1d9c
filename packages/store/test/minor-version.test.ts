import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { open } from 'lmdb';
import { FORMAT_MINOR_VERSION, HEADER_CRC_KEY, HEADER_KEY, InvalidOptionError, StoreFormatError } from '@imgstore/core';
import { packPlain, unpackPlain } from '@imgstore/codec';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

// Format 1.1 (FORMAT.md section 7): the writer marks its minor version and multi-label stores; readers
// read any minor version of version 1 (unknown header fields and record keys ignored) and refuse version 2.

const shape: [number, number, number] = [2, 3, 3];
const pixels = (i: number) => uniquePixels(18, i);
let tmp: ReturnType<typeof makeTempDir>;
let single: string;
let multi: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-minor-');
  single = join(tmp.dir, 'single.lmdb');
  const writer = createStoreWriter(single, { shape, labelNames: ['a', 'b'] });
  for (let i = 0; i < 4; i++) await writer.append({ name: `${i}.png`, label: i % 2, meta: { id: i, box: [i, 1.5] }, shape, dtype: 'uint8', data: pixels(i) });
  await writer.finish();
  multi = join(tmp.dir, 'multi.lmdb');
  const many = createStoreWriter(multi, { shape, labelNames: ['x', 'y', 'z'], multiLabel: true });
  for (let i = 0; i < 3; i++) await many.append({ name: `${i}.png`, label: null, labels: [[], [0, 2], [1]][i]!, shape, dtype: 'uint8', data: pixels(i) });
  await many.finish();
});
afterAll(() => tmp.cleanup());

/** A copy of `store` with its header changed by `fields` (CRC rewritten) and record 1 replaced by `record`, as another writer would. */
async function edited(store: string, fields: Record<string, unknown>, record?: Record<string, unknown>): Promise<string> {
  const path = join(tmp.dir, `edited-${Math.random().toString(36).slice(2)}.lmdb`);
  cpSync(store, path, { recursive: true });
  const env = open({ path, noSubdir: false, maxDbs: 8 });
  const meta = env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
  const records = env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' });
  env.transactionSync(() => {
    const map: Record<string, unknown> = { ...(unpackPlain(meta.getBinary(Buffer.from(HEADER_KEY))!) as object), ...fields };
    for (const key of Object.keys(fields)) if (fields[key] === undefined) delete map[key]; // as a 1.0 writer, without the key
    const header = packPlain(map);
    meta.putSync(Buffer.from(HEADER_KEY), header);
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(crc32(header));
    meta.putSync(Buffer.from(HEADER_CRC_KEY), sum);
    if (record) {
      const payload = packPlain(record);
      const value = Buffer.alloc(4 + payload.length);
      value.writeUInt32LE(crc32(payload));
      payload.copy(value, 4);
      records.putSync(Buffer.from([0, 0, 0, 1]), value);
    }
  });
  await env.close();
  return path;
}

describe('format 1.1', () => {
  it('the writer marks its minor version; records keep their meta', async () => {
    const store = openStore(single);
    expect([store.header.version, store.header.minorVersion, store.header.multiLabel, store.header.labelCounts]).toEqual([1, FORMAT_MINOR_VERSION, undefined, [2, 2]]);
    expect(store.get(3)).toMatchObject({ name: '3.png', label: 1, meta: { id: 3, box: [3, 1.5] } });
    expect('labels' in store.get(0)).toBe(false);
    await store.close();
  });

  it('a multi-label store: header multiLabel, no labelCounts, label lists read back', async () => {
    const store = openStore(multi);
    expect([store.header.multiLabel, store.header.labelCounts]).toEqual([true, undefined]);
    expect([0, 1, 2].map((i) => [store.get(i).label, store.get(i).labels])).toEqual([[null, []], [null, [0, 2]], [null, [1]]]);
    await store.close();
  });

  it('the writer refuses a single label, a missing list or an index past the names in a multi-label store, and a list elsewhere', async () => {
    const base = { name: 'x', shape, dtype: 'uint8' as const, data: pixels(9) };
    const writer = createStoreWriter(join(tmp.dir, 'refusals.lmdb'), { shape, labelNames: ['x', 'y'], multiLabel: true });
    await expect(writer.append({ ...base, label: 0, labels: [0] })).rejects.toThrow(InvalidOptionError);
    await expect(writer.append({ ...base, label: null })).rejects.toThrow(/record\.labels/);
    await expect(writer.append({ ...base, label: null, labels: [2] })).rejects.toThrow(/integers from 0 to 1/);
    await writer.close();
    const plain = createStoreWriter(join(tmp.dir, 'refusals-single.lmdb'), { shape, labelNames: null });
    await expect(plain.append({ ...base, label: null, labels: [0] })).rejects.toThrow(/not a multi-label store/);
    await plain.close();
    expect(() => createStoreWriter(join(tmp.dir, 'refusals-none.lmdb'), { shape, multiLabel: true })).toThrow(InvalidOptionError);
  });

  it('a reader reads a later minor version (unknown header fields and record keys ignored) and refuses version 2', async () => {
    const later = await edited(single, { minorVersion: 7, somethingNew: { a: 1 } }, { name: 'new.png', label: 0, shape, dtype: 'uint8', future: [1, 2], meta: 'caption', data: pixels(1) });
    const store = openStore(later);
    expect(store.get(1)).toMatchObject({ name: 'new.png', label: 0, meta: 'caption' });
    expect(Buffer.from(store.get(1).data)).toEqual(Buffer.from(pixels(1)));
    await store.close();
    const next = await edited(single, { version: 2 });
    expect(() => openStore(next)).toThrow(StoreFormatError);
    expect(() => openStore(next)).toThrow(/has format version 2; this reader reads 1/);
  });

  it('a header whose 1.1 fields have the wrong type is damage naming the field', async () => {
    for (const [field, value] of [['minorVersion', '1'], ['minorVersion', -1], ['multiLabel', 1]] as const) {
      const path = await edited(multi, { [field]: value });
      expect(() => openStore(path), `${field}: ${value}`).toThrow(new RegExp(`malformed header: field "${field}" must be absent, or`));
    }
  });

  it('a store of format 1.0 (no minorVersion) reads as before', async () => {
    const older = await edited(single, { minorVersion: undefined });
    const store = openStore(older);
    expect([store.header.minorVersion, store.length, store.get(0).label]).toEqual([undefined, 4, 0]);
    await store.close();
  });

  it('a record whose label list names a label the header lacks is damage, by index', async () => {
    const bad = await edited(multi, {}, { name: 'bad.png', label: null, labels: [0, 3], shape, dtype: 'uint8', data: pixels(1) });
    const store = openStore(bad);
    expect(() => store.get(1)).toThrow(/record 1 .* has labels \[0,3\] but the header names only 3 labels/);
    await store.close();
  });
});
