import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import type { Shape } from '@imgstore/core';
import { DataLoader, type BatchableSample } from '@imgstore/dataset';
import { createPatternDataset } from './fixtures/pattern-dataset.mjs';

/** The pattern dataset, counting the reads made in this thread (workers reopen the plain one from toSource). */
function counted(length: number, shape: Shape) {
  const inner = createPatternDataset(length, shape, [], -1, true);
  const reads: number[] = [];
  return {
    reads,
    dataset: {
      length,
      sampleShape: shape,
      get(index: number): BatchableSample {
        reads.push(index);
        return inner.get(index);
      },
      toSource: () => inner.toSource(),
    },
  };
}

interface Copy {
  indices: number[];
  labels: number[];
  data: Uint8Array;
  tensor: Float32Array | undefined;
}

async function epochs(loader: DataLoader, count: number): Promise<Copy[][]> {
  const out: Copy[][] = [];
  try {
    for (let e = 0; e < count; e++) {
      const batches: Copy[] = [];
      for await (const b of loader) {
        batches.push({ indices: [...b.indices], labels: [...b.labels], data: b.data.slice(), tensor: b.tensor?.slice() });
      }
      out.push(batches);
    }
  } finally {
    await loader.close();
  }
  return out;
}

describe('DataLoader workers and this thread together', () => {
  const shape: Shape = [6, 5, 3];
  const options = {
    batchSize: 4,
    shuffle: true,
    seed: 3,
    augment: { crop: [4, 3] as [number, number], flip: true },
    float32: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };

  it('fills batches in this thread while the next is with a worker, and yields the same batches as workers: 0', async () => {
    const alone = await epochs(new DataLoader(createPatternDataset(150, shape, [], -1, true), options), 2);
    for (const workers of [1, 2]) {
      const { dataset, reads } = counted(150, shape);
      const together = await epochs(new DataLoader(dataset, { ...options, workers }), 2);
      // This thread read some batches itself (without it, every read is a worker's: none here).
      expect(reads.length).toBeGreaterThan(0);
      // Whoever filled them: the same indices, labels, cropped and flipped pixels and float32 tensors, in order.
      expect(together.map((e) => e.map((b) => b.indices))).toEqual(alone.map((e) => e.map((b) => b.indices)));
      for (let e = 0; e < 2; e++) {
        for (let i = 0; i < alone[e]!.length; i++) {
          expect(together[e]![i]!.labels).toEqual(alone[e]![i]!.labels);
          expect(Buffer.from(together[e]![i]!.data).equals(Buffer.from(alone[e]![i]!.data))).toBe(true);
          const t = together[e]![i]!.tensor!;
          const a = alone[e]![i]!.tensor!;
          expect(Buffer.from(t.buffer, t.byteOffset, t.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
        }
      }
    }
  });

  it("workers: 'auto' is one per core but one (at most 8), or 0 for a dataset workers cannot reopen", () => {
    const reopenable = createPatternDataset(8);
    expect(new DataLoader(reopenable, { batchSize: 2, workers: 'auto' }).workers).toBe(Math.max(1, Math.min(8, availableParallelism() - 1)));
    const local = { length: 8, get: reopenable.get };
    expect(new DataLoader(local, { batchSize: 2, workers: 'auto' }).workers).toBe(0);
    expect(() => new DataLoader(reopenable, { batchSize: 2, workers: 'two' as never })).toThrow(
      'Expected non-negative integer or \'auto\' for workers but received "two" of type string',
    );
  });

  it("workers: 'auto' reads every sample once per epoch with real worker threads", async () => {
    const loader = new DataLoader(createPatternDataset(40, [2, 2, 3]), { batchSize: 3, shuffle: true, workers: 'auto' });
    const [epoch] = await epochs(loader, 1);
    expect(epoch!.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
  });
});
