import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createStoreWriter, openStore } from '@imgstore/store';
import { DataLoader, SafeDataset } from '@imgstore/dataset';
import { makeTempDir, uniquePixels } from '../test-support/index.js';

// Format 1.1 records carry per-sample metadata and, in multi-label stores, label lists: the DataLoader
// gives them with each batch (batch.meta, batch.labelLists), whoever read the batch (this thread or a
// worker) and whichever path read the pixels (split raw reads, the codec's decodeInto, get + crop).
const shape: [number, number, number] = [4, 5, 3];
const count = 23;
const metaOf = (i: number) => (i % 4 === 3 ? undefined : { id: i, box: [i, i + 0.5], caption: `sample ${i}` });
const labelsOf = (i: number) => [[], [0], [1, 2], [0, 2]][i % 4]!;
let tmp: ReturnType<typeof makeTempDir>;
const stores: Record<string, string> = {};

beforeAll(async () => {
  tmp = makeTempDir('imgstore-loader-meta-');
  for (const codec of ['raw', 'lz4']) {
    const path = (stores[`meta-${codec}`] = join(tmp.dir, `meta-${codec}.lmdb`));
    const writer = createStoreWriter(path, { shape, codec, labelNames: ['a', 'b'] });
    for (let i = 0; i < count; i++) {
      const meta = metaOf(i);
      await writer.append({ name: `${i}.png`, label: i % 2, ...(meta ? { meta } : {}), shape, dtype: 'uint8', data: uniquePixels(60, i) });
    }
    await writer.finish();
  }
  const multi = (stores.multi = join(tmp.dir, 'multi.lmdb'));
  const writer = createStoreWriter(multi, { shape, labelNames: ['x', 'y', 'z'], multiLabel: true });
  for (let i = 0; i < count; i++) await writer.append({ name: `${i}.png`, label: null, labels: labelsOf(i), shape, dtype: 'uint8', data: uniquePixels(60, i) });
  await writer.finish();
  const plain = (stores.plain = join(tmp.dir, 'plain.lmdb'));
  const plainWriter = createStoreWriter(plain, { shape, labelNames: ['a', 'b'] });
  for (let i = 0; i < count; i++) await plainWriter.append({ name: `${i}.png`, label: i % 2, shape, dtype: 'uint8', data: uniquePixels(60, i) });
  await plainWriter.finish();
});
afterAll(() => tmp.cleanup());

async function gather(path: string, workers: number, extra: Record<string, unknown> = {}) {
  const store = openStore(path);
  const loader = new DataLoader(new SafeDataset(store), { batchSize: 4, shuffle: true, seed: 2, workers, ...extra });
  const out: Array<{ index: number; meta: unknown; labels: number[] | undefined; label: number }> = [];
  let batches = 0;
  let withMeta = 0;
  let withLists = 0;
  try {
    for (let epoch = 0; epoch < 2; epoch++) {
      for await (const b of loader) {
        batches++;
        if (b.meta) withMeta++;
        if (b.labelLists) withLists++;
        if (b.meta) expect(b.meta).toHaveLength(b.shape[0]);
        if (b.labelLists) expect(b.labelLists).toHaveLength(b.shape[0]);
        b.indices.forEach((index, k) => out.push({ index, meta: b.meta?.[k], labels: b.labelLists?.[k], label: b.labels[k]! }));
      }
    }
  } finally {
    await loader.close();
    await store.close();
  }
  return { out, batches, withMeta, withLists };
}

describe('DataLoader batches carry metadata and label lists', () => {
  for (const kind of ['meta-raw', 'meta-lz4']) {
    for (const workers of [0, 2]) {
      it(`${kind}, ${workers} workers: batch.meta[k] is sample k's metadata (undefined without), labels unchanged`, async () => {
        const { out, batches, withMeta, withLists } = await gather(stores[kind]!, workers);
        expect(out).toHaveLength(2 * count);
        for (const s of out) {
          expect(s.meta).toEqual(metaOf(s.index));
          expect(s.label).toBe(s.index % 2);
        }
        expect(withMeta).toBe(batches);
        expect(withLists).toBe(0);
      });
    }
  }

  for (const workers of [0, 2]) {
    it(`a multi-label store, ${workers} workers: batch.labelLists[k] is sample k's labels (labels -1)`, async () => {
      const { out, withMeta } = await gather(stores.multi!, workers);
      for (const s of out) {
        expect(s.labels).toEqual(labelsOf(s.index));
        expect(s.label).toBe(-1);
      }
      expect(withMeta).toBe(0);
    });
  }

  it('with a crop (the pixels read into a scratch buffer first), metadata still follows its sample', async () => {
    const { out } = await gather(stores['meta-raw']!, 0, { augment: { crop: [3, 3], flip: true } });
    for (const s of out) expect(s.meta).toEqual(metaOf(s.index));
  });

  it('a store without metadata or label lists: batches have neither', async () => {
    const { withMeta, withLists, out } = await gather(stores.plain!, 2);
    expect(out).toHaveLength(2 * count);
    expect([withMeta, withLists]).toEqual([0, 0]);
  });
});
