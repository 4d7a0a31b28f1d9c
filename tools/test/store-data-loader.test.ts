import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDataset, openStore, type StoreReader } from '@imgstore/store';
import { CodecRegistry, lz4Codec, rawCodec } from '@imgstore/codec';
import { DataLoader, SafeDataset, type Batch } from '@imgstore/dataset';
import { makeTempDir, runImgstore, samplesDir } from '../test-support/index.js';

// The DataLoader's workers each reopen the store (toSource) and read it at the same time as each other
// and as the main thread: the real components together.
let tmp: ReturnType<typeof makeTempDir>;
let store: StoreReader;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-loader-');
  const path = join(tmp.dir, 'samples.lmdb');
  const run = await runImgstore(['convert', samplesDir, path, '--size', '256x256', '-q']);
  expect(run.code, run.stderr).toBe(0);
  store = openStore(path);
}, 60_000);
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

async function epochs(loader: DataLoader, count: number): Promise<Batch[][]> {
  const out: Batch[][] = [];
  for (let e = 0; e < count; e++) {
    const batches: Batch[] = [];
    for await (const b of loader) {
      batches.push({ data: b.data.slice(), shape: b.shape, labels: b.labels.slice(), indices: b.indices.slice() });
    }
    out.push(batches);
  }
  return out;
}

describe('DataLoader over a real store', () => {
  it('2 workers give the same batches as the main thread, over several epochs', async () => {
    const options = { batchSize: 5, shuffle: true, seed: 3 };
    const inThread = new DataLoader(store, options);
    const threaded = new DataLoader(store, { ...options, workers: 2, prefetch: 1 });
    try {
      const [a, b] = [await epochs(inThread, 3), await epochs(threaded, 3)];
      expect(b.flat().map((x) => [...x.indices])).toEqual(a.flat().map((x) => [...x.indices]));
      expect(b.flat().map((x) => Buffer.from(x.data).equals(Buffer.from(a.flat()[b.flat().indexOf(x)]!.data)))).not.toContain(false);
      // Every sample's pixels are the store's own.
      const [batch] = b[0]!;
      batch!.indices.forEach((index, k) => {
        expect(Buffer.from(batch!.data.subarray(k * 256 * 256 * 3, (k + 1) * 256 * 256 * 3)).equals(Buffer.from(store.get(index).data))).toBe(true);
      });
    } finally {
      await threaded.close();
    }
  });

  it('the main thread keeps reading the store while workers run and after they end', async () => {
    const loader = new DataLoader(new SafeDataset(store), { batchSize: 7, workers: 2 });
    for await (const batch of loader) {
      expect(store.get(batch.indices[0]!).data.length).toBe(256 * 256 * 3);
    }
    await loader.close();
    expect(store.get(0).name).toMatch(/^animals\//);
  });
});

describe('DataLoader workers over a dataset opened with its own codec registry', () => {
  it('reopen the dataset in each worker (the registry stays in this thread) and read every sample', async () => {
    const dataset = openDataset(store.path, { codecs: new CodecRegistry([rawCodec, lz4Codec]) });
    const loader = new DataLoader(dataset, { batchSize: 4, workers: 2 });
    const seen: number[] = [];
    try {
      for await (const batch of loader) seen.push(...batch.indices);
    } finally {
      await loader.close();
      await dataset.close();
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(store.length).keys()]);
  });
});
