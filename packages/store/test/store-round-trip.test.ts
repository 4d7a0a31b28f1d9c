import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { StoreExistsError, StoreWriteError, InvalidOptionError, type SampleRecord } from '@imgstore/core';
import { createStoreWriter, openStore, sealRecord } from '@imgstore/store/internal';
import { makeTempDir } from '../../../tools/test-support/index.js';

function record(i: number, shape: [number, number, number] = [6, 5, 3]): SampleRecord {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let j = 0; j < data.length; j++) data[j] = (i * 13 + j) & 0xff;
  return { name: `c${i % 3}/img-${i}.jpg`, label: i % 3, shape, dtype: 'uint8', data };
}

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

describe.each(['lz4', 'raw'])('store round trip with codec %s', (codec) => {
  it('reads back every record, field and pixel, by index and by iteration', async () => {
    const path = join(tmp.dir, 'train.lmdb');
    const writer = createStoreWriter(path, { shape: [6, 5, 3], codec, labelNames: ['a', 'b', 'c'], recordsPerCommit: 7 });
    for (let i = 0; i < 50; i++) expect(await writer.append(record(i))).toBe(i);
    await writer.reject('c0/broken.jpg', 'truncated');
    const header = await writer.finish();
    expect(header).toMatchObject({ format: 'imgstore', version: 1, codec, count: 50, rejected: 1, labelNames: ['a', 'b', 'c'] });

    const store = openStore(path);
    try {
      expect(store.length).toBe(50);
      expect(store.header.shape).toEqual([6, 5, 3]);
      for (const i of [0, 17, 49]) {
        const sample = store.get(i);
        const expected = record(i);
        expect(sample).toMatchObject({ index: i, name: expected.name, label: expected.label, dtype: 'uint8' });
        expect(Buffer.from(sample.data).equals(Buffer.from(expected.data))).toBe(true);
      }
      const kept = store.get(3).data;
      store.get(4); // a later read must not overwrite data the caller kept
      expect(Buffer.from(kept).equals(Buffer.from(record(3).data))).toBe(true);
      expect([...store].map((s) => s.index)).toEqual([...Array(50).keys()]);
      expect(store.rejects()).toEqual([{ name: 'c0/broken.jpg', reason: 'truncated' }]);
    } finally {
      await store.close();
    }
  });
});

describe('StoreWriter', () => {
  it('getStoredBytes / getStoredView give exactly the sealed value, small values (lmdb-js shared buffer) included', async () => {
    for (const codec of ['raw', 'lz4']) {
      const path = join(tmp.dir, `stored-${codec}.lmdb`);
      const writer = createStoreWriter(path, { shape: [6, 5, 3], codec, labelNames: ['a', 'b', 'c'] });
      for (let i = 0; i < 3; i++) await writer.append(record(i));
      await writer.finish();
      const store = openStore(path);
      for (let i = 0; i < 3; i++) {
        const expected = sealRecord(store.codec.encode(record(i)));
        expect(store.getStoredBytes(i).equals(expected)).toBe(true);
        expect(Buffer.from(store.getStoredView(i)).equals(expected)).toBe(true);
      }
      await store.close();
    }
  });

  it('refuses an existing store unless overwrite is set, then replaces it', async () => {
    const path = join(tmp.dir, 's');
    const first = createStoreWriter(path, { shape: [6, 5, 3], labelNames: ['a', 'b', 'c'] });
    await first.append(record(1));
    await first.finish();
    expect(() => createStoreWriter(path, { shape: [6, 5, 3] })).toThrow(StoreExistsError);
    expect(() => createStoreWriter(path, { shape: [6, 5, 3] })).toThrow(/already exists; pass overwrite/);
    const second = createStoreWriter(path, { shape: [6, 5, 3], overwrite: true, labelNames: ['a', 'b', 'c'] });
    await second.finish();
    const store = openStore(path);
    expect(store.length).toBe(0);
    await store.close();
  });

  it('refuses to write into a folder that holds other files', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const path = join(tmp.dir, 'photos');
    mkdirSync(path);
    writeFileSync(join(path, 'holiday.jpg'), 'x');
    expect(() => createStoreWriter(path, { shape: [1, 1, 3], overwrite: true })).toThrow(/not an imgstore store; refusing/);
  });

  it('reports an unwritable location as a StoreWriteError naming the path', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(tmp.dir, 'file'), 'x');
    const path = join(tmp.dir, 'file', 'store');
    expect(() => createStoreWriter(path, { shape: [1, 1, 3] })).toThrow(StoreWriteError);
    expect(() => createStoreWriter(path, { shape: [1, 1, 3] })).toThrow(path);
  });

  it('validates options and records', async () => {
    const path = join(tmp.dir, 'v');
    expect(() => createStoreWriter(path, { shape: [0, 1, 3] as never })).toThrow(InvalidOptionError);
    expect(() => createStoreWriter(path, { shape: [1, 1, 3], recordsPerComit: 3 } as never)).toThrow(
      'Unknown option recordsPerComit',
    );
    const writer = createStoreWriter(path, { shape: [6, 5, 3] });
    await expect(writer.append(record(0, [5, 6, 3]))).rejects.toThrow(/record\.shape/);
    await writer.close();
  });
});

describe('large records', () => {
  it.each(['lz4', 'raw'])('reads 256×256×3 records (lmdb-js returns views into the map for these) with %s', async (codec) => {
    const path = join(tmp.dir, `big-${codec}`);
    const shape: [number, number, number] = [256, 256, 3];
    const writer = createStoreWriter(path, { shape, codec });
    for (let i = 0; i < 3; i++) await writer.append({ ...record(i, shape), label: null });
    await writer.finish();
    const store = openStore(path);
    try {
      const kept = store.get(0).data;
      for (let i = 0; i < 3; i++) {
        expect(Buffer.from(store.get(i).data).equals(Buffer.from(record(i, shape).data))).toBe(true);
      }
      expect(Buffer.from(kept).equals(Buffer.from(record(0, shape).data))).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('store size', () => {
  it('the data file grows with the records, not with the map (1 TiB of address space by default)', async () => {
    const { statSync } = await import('node:fs');
    const path = join(tmp.dir, 'small-file');
    const writer = createStoreWriter(path, { shape: [6, 5, 3], labelNames: ['a', 'b', 'c'] });
    for (let i = 0; i < 10; i++) await writer.append(record(i));
    await writer.finish();
    expect(statSync(join(path, 'data.mdb')).size).toBeLessThan(1 << 20);
  });

  it('a store that outgrows its map fails with StoreWriteError naming it; earlier commits stay intact', async () => {
    const path = join(tmp.dir, 'full');
    const shape: [number, number, number] = [128, 128, 3];
    const writer = createStoreWriter(path, { shape, mapSize: 4 << 20, recordsPerCommit: 8 });
    let error: unknown;
    let appended = 0;
    try {
      for (; appended < 200; appended++) await writer.append({ ...record(appended, shape), label: null });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreWriteError);
    expect((error as Error).message).toContain(`Cannot write to store ${path}`);
    expect(appended).toBeLessThan(200);
    await writer.close().catch(() => undefined);
    // The store is an unfinished conversion whose committed records are all there.
    const committed = (() => {
      try {
        openStore(path);
      } catch (e) {
        return Number(/has no header: its conversion did not finish \((\d+) records committed\)/.exec((e as Error).message)?.[1]);
      }
      return -1;
    })();
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThanOrEqual(appended);
    const partial = openStore(path, { allowIncomplete: true });
    expect(partial.complete).toBe(false);
    expect(partial.length).toBe(committed);
    for (let i = 0; i < committed; i++) expect(partial.get(i).name).toBe(`c${i % 3}/img-${i}.jpg`);
    await partial.close();
    // and the checkpoint agrees with the file, so the conversion can be resumed (with more room)
    const resumed = createStoreWriter(path, { shape, resume: true });
    expect(resumed.count).toBe(committed);
    await resumed.close();
  });
});

describe('labels are checked when written', () => {
  it.each([
    ['-1', -1, ['a', 'b', 'c']],
    ['1.5', 1.5, ['a', 'b', 'c']],
    ['past the names', 3, ['a', 'b', 'c']],
    ['NaN', Number.NaN, ['a', 'b', 'c']],
    ['any label on an unlabeled store', 0, null],
  ])('refuses label %s before storing it, and the store stays readable', async (_, label, labelNames) => {
    const path = join(tmp.dir, 'labels.lmdb');
    const writer = createStoreWriter(path, { shape: [6, 5, 3], labelNames });
    await writer.append({ ...record(0), label: labelNames ? 1 : null });
    await expect(writer.append({ ...record(1), label: label as number })).rejects.toThrow(InvalidOptionError);
    await expect(writer.append({ ...record(1), label: label as number })).rejects.toThrow(/record\.label/);
    await writer.finish();
    const store = openStore(path);
    try {
      expect(store.length).toBe(1);
      expect(store.get(0).label).toBe(labelNames ? 1 : null);
    } finally {
      await store.close();
    }
  });
});
