import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImgstoreError, StoreDamagedError, type Sample } from '@imgstore/core';
import { createStoreWriter, openStore, verifyStore, type StoreReader } from '@imgstore/store';
import { recordKey, sealRecord } from '@imgstore/store/internal';
import { open as openLmdb } from 'lmdb';
import { DataLoader, SafeDataset, type SkippedSample } from '@imgstore/dataset';
import { makeTempDir, uniquePixels } from '../test-support/index.js';

const pixels = (seed: number) => uniquePixels(32 * 32 * 3, seed);

// A real store with bits flipped in data.mdb inside two records: every read path reports them by index.
const COUNT = 12;
const DAMAGED = [3, 8];
const shape: [number, number, number] = [32, 32, 3];

let tmp: ReturnType<typeof makeTempDir>;
let path: string;
let store: StoreReader;
// Both read engines (worker threads reopen with the same one).
const ENGINES = ['typescript', 'lmdb-js'] as const;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-damaged-');
  path = join(tmp.dir, 'damaged.lmdb');
  const writer = createStoreWriter(path, { shape, labelNames: ['x'] });
  for (let i = 0; i < COUNT; i++) await writer.append({ name: `${i}.png`, label: 0, shape, dtype: 'uint8', data: pixels(i) });
  await writer.finish();
  const bytes = readFileSync(join(path, 'data.mdb'));
  for (const index of DAMAGED) {
    const at = bytes.indexOf(Buffer.from(pixels(index)));
    bytes.writeUInt8(bytes.readUInt8(at + 1234) ^ 0x01, at + 1234);
  }
  writeFileSync(join(path, 'data.mdb'), bytes);
});
afterAll(() => tmp.cleanup());

describe.each(ENGINES)('engine %s', (engine) => {
  beforeAll(() => {
    store = openStore(path, { engine });
    expect(store.engine).toBe(engine);
  });
  afterAll(() => store.close());

  describe('a store with damaged records', () => {
    it('get() throws StoreDamagedError naming store and index; the others read', () => {
      for (let i = 0; i < COUNT; i++) {
        if (DAMAGED.includes(i)) {
          expect(() => store.get(i)).toThrow(StoreDamagedError);
          expect(() => store.get(i)).toThrow(`Store ${path} record ${i} (key 0000000${i.toString(16)}) is damaged: checksum mismatch`);
        } else {
          expect(Buffer.from(store.get(i).data).equals(Buffer.from(pixels(i)))).toBe(true);
        }
      }
    });

    it('SafeDataset skip reports each damaged record with its reason', async () => {
      const skipped: SkippedSample[] = [];
      const safe = new SafeDataset<Sample>(store, { onSkip: (s) => skipped.push(s) });
      const loaded = [];
      for (let i = 0; i < COUNT; i++) loaded.push(await safe.get(i));
      expect(loaded.map((s, i) => (s === undefined ? i : -1)).filter((i) => i >= 0)).toEqual(DAMAGED);
      expect(skipped.map((s) => s.index)).toEqual(DAMAGED);
      expect(skipped[0]!.reason).toMatch(/record 3 .* checksum mismatch/);
      expect(skipped[0]!.error).toBeInstanceOf(StoreDamagedError);
    });

    it('SafeDataset substitute serves the next intact record and says which', async () => {
      const safe = new SafeDataset<Sample>(store, { policy: 'substitute' });
      const sample = await safe.get(3);
      expect(sample!.index).toBe(4);
      expect(safe.skipped.get(3)).toMatchObject({ index: 3, substitute: 4 });
    });

    it('a DataLoader with 2 workers over SafeDataset skips them and relays each report to this thread', async () => {
      const skipped: number[] = [];
      const safe = new SafeDataset<Sample>(store, { onSkip: (s) => skipped.push(s.index) });
      const loader = new DataLoader(safe, { batchSize: 5, workers: 2 });
      const seen: number[] = [];
      try {
        for await (const batch of loader) seen.push(...batch.indices);
      } finally {
        await loader.close();
      }
      expect(seen.sort((a, b) => a - b)).toEqual([...Array(COUNT).keys()].filter((i) => !DAMAGED.includes(i)));
      expect(skipped.sort((a, b) => a - b)).toEqual(DAMAGED);
    });
  });

  describe('errors keep their class across worker threads', () => {
    it.each([0, 2])('a DataLoader with %i workers throws StoreDamagedError with the store, index and code', async (workers) => {
      const loader = new DataLoader(store, { batchSize: 4, workers });
      let error: unknown;
      try {
        for await (const _ of loader) void _;
      } catch (caught) {
        error = caught;
      } finally {
        await loader.close();
      }
      expect(error).toBeInstanceOf(StoreDamagedError);
      expect(error).toBeInstanceOf(ImgstoreError);
      expect(error).toMatchObject({ name: 'StoreDamagedError', code: 'ERR_IMGSTORE_STORE_DAMAGED', path, index: DAMAGED[0] });
      expect((error as Error).message).toContain(`record ${DAMAGED[0]} `);
    });
  });
});

// A damaged LMDB page (not the record's bytes): the TypeScript engine checks each page it reads, and the
// reader reports the record behind it by index. lmdb-js does not check pages, so this case is its alone.
describe('a records page with an impossible header (TypeScript engine)', () => {
  // 1728-byte records: two to a leaf page (larger ones would sit on overflow pages).
  const small: [number, number, number] = [24, 24, 3];
  const smallPixels = (i: number) => uniquePixels(1728, i);

  /** A store of COUNT small records whose leaf page holding record `index` has its free-space start past its end. */
  async function storeWithDamagedPage(name: string, index: number): Promise<{ path: string; page: number }> {
    const path = join(tmp.dir, name);
    const writer = createStoreWriter(path, { shape: small, labelNames: ['x'] });
    for (let i = 0; i < COUNT; i++) await writer.append({ name: `${i}.png`, label: 0, shape: small, dtype: 'uint8', data: smallPixels(i) });
    await writer.finish();
    const bytes = readFileSync(join(path, 'data.mdb'));
    const pageSize = bytes.readUInt32LE(40);
    const page = Math.floor(bytes.indexOf(Buffer.from(smallPixels(index))) / pageSize);
    bytes.writeUInt16LE(pageSize - 8, page * pageSize + 12);
    writeFileSync(join(path, 'data.mdb'), bytes);
    return { path, page };
  }

  it('get() throws StoreDamagedError naming the index; verifyStore lists it; records on other pages read', async () => {
    const { path: damagedPage, page } = await storeWithDamagedPage('damaged-page.lmdb', 6);
    const reader = openStore(damagedPage, { engine: 'typescript' });
    try {
      const failed: number[] = [];
      for (let i = 0; i < COUNT; i++) {
        try {
          expect(Buffer.from(reader.get(i).data).equals(Buffer.from(smallPixels(i)))).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(StoreDamagedError);
          expect(error).toMatchObject({ index: i });
          expect((error as Error).message).toMatch(new RegExp(`record ${i} \\(key [0-9a-f]{8}\\) cannot be read: .*page ${page} has an impossible free space`));
          failed.push(i);
        }
      }
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThan(COUNT);
      const report = await verifyStore(damagedPage, { engine: 'typescript' });
      expect(report.problems.map((p) => p.index)).toEqual(failed);
    } finally {
      await reader.close();
    }
  });

  it('on the page of record 0 (one the open reads to check the header shape) still opens: the record is damaged, by index', async () => {
    const { path: damagedFirst } = await storeWithDamagedPage('damaged-first-page.lmdb', 0);
    const reader = openStore(damagedFirst, { engine: 'typescript' });
    try {
      expect(() => reader.get(0)).toThrow(StoreDamagedError);
      expect(Buffer.from(reader.get(COUNT - 1).data).equals(Buffer.from(smallPixels(COUNT - 1)))).toBe(true);
    } finally {
      await reader.close();
    }
  });
});

describe('a record value longer than any record of the store can be (TypeScript engine)', () => {
  it('is that record damage, by index, before anything is allocated for it', async () => {
    const path = join(tmp.dir, 'oversized.lmdb');
    const tiny: [number, number, number] = [4, 4, 3];
    const writer = createStoreWriter(path, { shape: tiny });
    for (let i = 0; i < 5; i++) await writer.append({ name: `${i}`, label: null, shape: tiny, dtype: 'uint8', data: uniquePixels(48, i) });
    await writer.finish();
    // Record 2 replaced by a 1 MiB value (a damaged length or a crafted file): far more than 48 pixels allow.
    const env = openLmdb({ path, noSubdir: false, maxDbs: 8 });
    const records = env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' });
    await records.put(recordKey(2), sealRecord(new Uint8Array(1 << 20)));
    await env.close();
    const reader = openStore(path, { engine: 'typescript' });
    try {
      expect(() => reader.get(2)).toThrow(StoreDamagedError);
      expect(() => reader.get(2)).toThrow(/record 2 .*a record value of 1048580 bytes, more than a record of this store can hold/);
      expect(Buffer.from(reader.get(3).data).equals(Buffer.from(uniquePixels(48, 3)))).toBe(true);
    } finally {
      await reader.close();
    }
  });
});
