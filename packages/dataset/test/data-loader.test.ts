import { describe, expect, it } from 'vitest';
import type { Dataset, Shape } from '@imgstore/core';
import { DataLoader, DistributedSampler, SafeDataset, type Batch, type BatchableSample } from '@imgstore/dataset';

const shape: Shape = [2, 3, 3];

/** Sample i: every pixel byte = i, label = i % 4. Indices in `bad` throw. */
function pixels(length: number, bad: number[] = []): Dataset<BatchableSample> {
  return {
    length,
    get(index) {
      if (bad.includes(index)) throw new Error(`corrupt ${index}`);
      return { label: index % 4, shape, data: new Uint8Array(18).fill(index) };
    },
  };
}

async function collect(loader: DataLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of loader) out.push(batch);
  return out;
}

describe('DataLoader', () => {
  it('batches samples into one contiguous [B,H,W,C] buffer with labels and indices', async () => {
    const batches = await collect(new DataLoader(pixels(10), { batchSize: 4 }));
    expect(batches.map((b) => b.shape)).toEqual([[4, 2, 3, 3], [4, 2, 3, 3], [2, 2, 3, 3]]);
    const first = batches[0]!;
    expect(first.data.length).toBe(4 * 18);
    expect([...first.data.subarray(18, 36)]).toEqual(Array(18).fill(1));
    expect([...first.labels]).toEqual([0, 1, 2, 3]);
    expect([...first.indices]).toEqual([0, 1, 2, 3]);
    expect(batches[2]!.data.length).toBe(2 * 18);
  });

  it('dropLast drops the short final batch', async () => {
    const batches = await collect(new DataLoader(pixels(10), { batchSize: 4, dropLast: true }));
    expect(batches.length).toBe(2);
    expect(new DataLoader(pixels(10), { batchSize: 4, dropLast: true }).length).toBe(2);
  });

  it('shuffle: each index once per epoch, same seed same order, epochs differ', async () => {
    const order = async (loader: DataLoader) => (await collect(loader)).flatMap((b) => [...b.indices]);
    const a = new DataLoader(pixels(50), { batchSize: 8, shuffle: true, seed: 42 });
    const epoch0 = await order(a);
    const epoch1 = await order(a);
    expect([...epoch0].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(epoch1).not.toEqual(epoch0);
    const b = new DataLoader(pixels(50), { batchSize: 8, shuffle: true, seed: 42 });
    expect(await order(b)).toEqual(epoch0);
    b.setEpoch(1);
    expect(await order(b)).toEqual(epoch1);
    // Pixels follow their index through the shuffle.
    const [batch] = await collect(new DataLoader(pixels(50), { batchSize: 8, shuffle: true, seed: 1 }));
    batch!.indices.forEach((index, k) => expect(batch!.data[k * 18]).toBe(index));
  });

  it('with SafeDataset(skip), fills batches past bad samples and reports them', async () => {
    const safe = new SafeDataset(pixels(10, [1, 5]));
    const batches = await collect(new DataLoader(safe, { batchSize: 4 }));
    expect(batches.map((b) => [...b.indices])).toEqual([[0, 2, 3, 4], [6, 7, 8, 9]]);
    expect([...safe.skipped.keys()]).toEqual([1, 5]);
  });

  it('a failing sample without SafeDataset surfaces as an error in the consumer', async () => {
    await expect(collect(new DataLoader(pixels(10, [6]), { batchSize: 4 }))).rejects.toThrow('corrupt 6');
  });

  it('early break stops reading', async () => {
    let reads = 0;
    const counting: Dataset<BatchableSample> = { length: 100, get: (i) => (reads++, pixels(100).get(i)) };
    for await (const batch of new DataLoader(counting, { batchSize: 10 })) {
      expect(batch.shape[0]).toBe(10);
      break;
    }
    expect(reads).toBe(10);
  });

  it('takes a DistributedSampler', async () => {
    const sampler = new DistributedSampler({ length: 10, rank: 1, worldSize: 2, shuffle: false });
    const batches = await collect(new DataLoader(pixels(10), { batchSize: 8, sampler }));
    expect([...batches[0]!.indices]).toEqual([1, 3, 5, 7, 9]);
  });

  it('refuses samples of different shapes, saying which', async () => {
    const mixed: Dataset<BatchableSample> = {
      length: 2,
      get: (i) => (i === 0 ? pixels(1).get(0) : { label: 0, shape: [3, 3, 3], data: new Uint8Array(27) }),
    };
    await expect(collect(new DataLoader(mixed, { batchSize: 2 }))).rejects.toThrow(
      'Sample 1 has shape [3,3,3] but this batch holds [2,3,3]',
    );
  });

  it('validates options, naming them', () => {
    expect(() => new DataLoader(pixels(1), { batchSize: 0 })).toThrow(
      'Expected positive integer for batchSize but received 0 of type number',
    );
    expect(() => new DataLoader(pixels(1), { batchSize: 1, shufle: true } as never)).toThrow('Unknown option shufle');
  });
});
