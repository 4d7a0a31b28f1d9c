import { describe, expect, it } from 'vitest';
import type { Dataset, Shape } from '@imgstore/core';
import { DataLoader, DistributedSampler, SafeDataset, type Batch, type BatchableSample } from '@imgstore/dataset';
import { createPatternDataset } from './fixtures/pattern-dataset.mjs';

const shape: Shape = [2, 3, 3];

/** Sample i: every pixel byte = i, label = i % 4. Indices in `bad` throw. */
function pixels(length: number, bad: number[] = []): Dataset<BatchableSample> & { sampleShape: Shape } {
  return {
    length,
    sampleShape: shape,
    get(index) {
      if (bad.includes(index)) throw new Error(`corrupt ${index}`);
      return { label: index % 4, shape, data: new Uint8Array(18).fill(index) };
    },
  };
}

/** Copies each batch: the loader reuses its buffers once the next batch is requested. */
async function collect(loader: DataLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) {
    out.push({ data: b.data.slice(), shape: b.shape, labels: b.labels.slice(), indices: b.indices.slice() });
  }
  return out;
}

const order = async (loader: DataLoader) => (await collect(loader)).flatMap((b) => [...b.indices]);

describe('DataLoader (in this thread)', () => {
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

  it('reuses its batch buffers: memory does not grow with epochs', async () => {
    const loader = new DataLoader(pixels(64), { batchSize: 8, shuffle: true });
    const buffers = new Set<ArrayBufferLike>();
    for (let epoch = 0; epoch < 20; epoch++) for await (const b of loader) buffers.add(b.data.buffer);
    expect(buffers.size).toBe(1);
    expect(loader.allocatedBatchBytes).toBe(8 * (18 + 8));
  });

  it('dropLast drops the short final batch', async () => {
    const batches = await collect(new DataLoader(pixels(10), { batchSize: 4, dropLast: true }));
    expect(batches.length).toBe(2);
    expect(new DataLoader(pixels(10), { batchSize: 4, dropLast: true }).length).toBe(2);
  });

  it('shuffle: each index once per epoch, same seed same order, epochs differ', async () => {
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

  it('with SafeDataset(skip), a bad sample leaves its batch one shorter and is reported', async () => {
    const safe = new SafeDataset(pixels(10, [1, 5]));
    const batches = await collect(new DataLoader(safe, { batchSize: 4 }));
    expect(batches.map((b) => [...b.indices])).toEqual([[0, 2, 3], [4, 6, 7], [8, 9]]);
    expect([...safe.skipped.keys()]).toEqual([1, 5]);
  });

  it('a failing sample without SafeDataset surfaces as an error in the consumer', async () => {
    await expect(collect(new DataLoader(pixels(10, [6]), { batchSize: 4 }))).rejects.toThrow('corrupt 6');
  });

  it('early break stops reading, and the next epoch runs in full', async () => {
    let reads = 0;
    const base = pixels(100);
    const counting = { ...base, get: (i: number) => (reads++, base.get(i)) };
    const loader = new DataLoader(counting, { batchSize: 10 });
    for await (const batch of loader) {
      expect(batch.shape[0]).toBe(10);
      break;
    }
    expect(reads).toBe(10);
    expect((await order(loader)).length).toBe(100);
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
      'Sample 1 has shape [3,3,3] but the batch holds [2,3,3]',
    );
  });

  it('validates options, naming them', () => {
    expect(() => new DataLoader(pixels(1), { batchSize: 0 })).toThrow(
      'Expected positive integer for batchSize but received 0 of type number',
    );
    expect(() => new DataLoader(pixels(1), { batchSize: 1, shufle: true } as never)).toThrow('Unknown option shufle');
    expect(() => new DataLoader(pixels(1), { batchSize: 1, workers: 2 })).toThrow(/no toSource\(\).* for workers but received 2/);
  });
});

describe('DataLoader with worker threads', () => {
  it('gives exactly the batches of the in-thread loader, epoch after epoch', async () => {
    const options = { batchSize: 16, shuffle: true, seed: 9 };
    const inThread = new DataLoader(createPatternDataset(200), options);
    const threaded = new DataLoader(createPatternDataset(200), { ...options, workers: 2, prefetch: 2 });
    try {
      for (let epoch = 0; epoch < 3; epoch++) {
        const [a, b] = [await collect(inThread), await collect(threaded)];
        expect(b.map((x) => [...x.indices])).toEqual(a.map((x) => [...x.indices]));
        expect(b.map((x) => Buffer.from(x.data).toString('hex'))).toEqual(a.map((x) => Buffer.from(x.data).toString('hex')));
        expect(b.map((x) => [...x.labels])).toEqual(a.map((x) => [...x.labels]));
      }
    } finally {
      await threaded.close();
    }
  });

  it('covers every index once per epoch and allocates no batch buffers after the first epoch (20 epochs)', async () => {
    const loader = new DataLoader(createPatternDataset(96), { batchSize: 8, shuffle: true, workers: 2 });
    try {
      let afterFirst = 0;
      for (let epoch = 0; epoch < 20; epoch++) {
        const seen: number[] = [];
        for await (const b of loader) seen.push(...b.indices);
        expect(seen.sort((x, y) => x - y)).toEqual([...Array(96).keys()]);
        if (epoch === 0) afterFirst = loader.allocatedBatchBytes;
      }
      // workers × prefetch + 1 slots that go to workers (and one with the consumer), and 3 of this thread's own
      // (one with the consumer, two it fills) of 8 samples (18 bytes each, plus label and index)
      expect(afterFirst).toBe((2 * 2 + 1 + 3) * 8 * (18 + 8));
      expect(loader.allocatedBatchBytes).toBe(afterFirst);
    } finally {
      await loader.close();
    }
  });

  it('relays skips seen in the workers to the SafeDataset the caller holds', async () => {
    const safe = new SafeDataset(createPatternDataset(40, [2, 3, 3], [7, 30]));
    const reported: number[] = [];
    safe.onSkipped((s) => reported.push(s.index));
    const loader = new DataLoader(safe, { batchSize: 10, workers: 2 });
    try {
      const batches = await collect(loader);
      expect(batches.map((b) => b.shape[0])).toEqual([9, 10, 10, 9]);
      expect(reported.sort((a, b) => a - b)).toEqual([7, 30]);
      expect(safe.skipped.get(30)?.reason).toBe('corrupt sample 30');
    } finally {
      await loader.close();
    }
  });

  it('an error in a worker reaches the consumer with its message and code', async () => {
    const loader = new DataLoader(createPatternDataset(64, [2, 3, 3], [37]), { batchSize: 8, workers: 2 });
    const error = await collect(loader).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('corrupt sample 37');
    expect((error as { code?: string }).code).toBe('ERR_TEST_CORRUPT');
    // The loader recovers: the next epoch starts new workers and fails at the same sample, not a hang.
    await expect(collect(loader)).rejects.toThrow('corrupt sample 37');
    await loader.close();
  });

  it('a worker that dies surfaces as an error, never a hang', async () => {
    const loader = new DataLoader(createPatternDataset(64, [2, 3, 3], [], 20), { batchSize: 8, workers: 2 });
    await expect(collect(loader)).rejects.toThrow(/DataLoader worker \d exited with code 3/);
    await loader.close();
  });

  it('early break releases every buffer: after many broken epochs, a full epoch still runs', async () => {
    const loader = new DataLoader(createPatternDataset(100), { batchSize: 10, workers: 2, prefetch: 1 });
    try {
      for (let broken = 0; broken < 8; broken++) {
        for await (const b of loader) {
          expect(b.shape[0]).toBe(10);
          break;
        }
      }
      expect((await order(loader)).sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    } finally {
      await loader.close();
    }
  });
});

describe('float32 output', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];

  /** The plain reference: per pixel, per channel, (v / 255 - mean) / std, into CHW (or HWC). */
  function reference(batch: Batch, layout: 'CHW' | 'HWC'): Float32Array {
    const [b, h, w, c] = batch.shape;
    const out = new Float32Array(b * h * w * c);
    for (let k = 0; k < b; k++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < c; ch++) {
            const v = batch.data[((k * h + y) * w + x) * c + ch]!;
            const at = layout === 'CHW' ? ((k * c + ch) * h + y) * w + x : ((k * h + y) * w + x) * c + ch;
            out[at] = (v / 255 - mean[ch]!) / std[ch]!;
          }
        }
      }
    }
    return out;
  }

  /** Pixels that differ per position and channel, so any layout mistake shows. */
  function gradient(length: number): Dataset<BatchableSample> & { sampleShape: Shape } {
    const s: Shape = [3, 4, 3];
    return {
      length,
      sampleShape: s,
      get: (i) => ({ label: i, shape: s, data: Uint8Array.from({ length: 36 }, (_, j) => (i * 31 + j * 7) % 256) }),
    };
  }

  it.each(['CHW', 'HWC'] as const)('equals the plain per-pixel reference (%s)', async (layout) => {
    for await (const batch of new DataLoader(gradient(10), { batchSize: 4, float32: { mean, std, layout } })) {
      expect(batch.tensorShape).toEqual(layout === 'CHW' ? [batch.shape[0], 3, 3, 4] : batch.shape);
      const expected = reference(batch, layout);
      expect(batch.tensor!.length).toBe(expected.length);
      batch.tensor!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    }
  });

  it('is computed in the workers just the same', async () => {
    const loader = new DataLoader(createPatternDataset(24, [3, 4, 3]), { batchSize: 8, workers: 2, float32: { mean, std } });
    try {
      for await (const batch of loader) {
        const expected = reference(batch, 'CHW');
        batch.tensor!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      }
    } finally {
      await loader.close();
    }
  });

  it.each([
    ['CHW', [5, 7, 3]],
    ['HWC', [5, 7, 3]],
    ['CHW', [6, 5, 1]],
  ] as const)('with shared: true, is written by the workers in place, in shared memory, bit for bit as in this thread (%s, %j)', async (layout, shape) => {
    const channels = shape[2];
    const float32 = { mean: mean.slice(0, channels), std: std.slice(0, channels), layout, shared: true };
    const options = { batchSize: 8, shuffle: true, seed: 5, float32 };
    const copies = async (loader: DataLoader) => {
      const out: Array<{ tensor: Float32Array; data: Uint8Array; shared: boolean }> = [];
      try {
        for await (const b of loader) {
          out.push({ tensor: b.tensor!.slice(), data: b.data.slice(), shared: b.tensor!.buffer instanceof SharedArrayBuffer });
          // The pixels and the tensor share the memory the worker's kernel works in.
          if (out.at(-1)!.shared) expect(b.data.buffer).toBe(b.tensor!.buffer);
        }
      } finally {
        await loader.close();
      }
      return out;
    };
    const alone = await copies(new DataLoader(createPatternDataset(96, [...shape]), options));
    const withWorkers = await copies(new DataLoader(createPatternDataset(96, [...shape]), { ...options, workers: 2 }));
    expect(alone.some((b) => b.shared)).toBe(false);
    // The probe starts with the workers: the first batches are theirs.
    expect(withWorkers[0]!.shared).toBe(true);
    expect(withWorkers.length).toBe(alone.length);
    withWorkers.forEach((b, i) => {
      expect(Buffer.from(b.data).equals(Buffer.from(alone[i]!.data))).toBe(true);
      expect(Buffer.from(b.tensor.buffer).equals(Buffer.from(alone[i]!.tensor.buffer))).toBe(true);
    });
  });

  it('comes from workers on plain ArrayBuffers unless shared: true (onnxruntime-node refuses SharedArrayBuffer views)', async () => {
    const loader = new DataLoader(createPatternDataset(48, [3, 4, 3]), { batchSize: 8, workers: 2, float32: { mean, std } });
    let batches = 0;
    try {
      for await (const batch of loader) {
        expect(batch.tensor!.buffer).toBeInstanceOf(ArrayBuffer);
        expect(batch.data.buffer).toBeInstanceOf(ArrayBuffer);
        batches++;
      }
    } finally {
      await loader.close();
    }
    expect(batches).toBe(6);
    expect(() => new DataLoader(gradient(1), { batchSize: 1, float32: { shared: 'yes' as never } })).toThrow(/float32\.shared/);
  });

  it('validates mean and std per channel, naming the option', () => {
    expect(() => new DataLoader(gradient(1), { batchSize: 1, float32: { mean: [0.5] } })).toThrow(
      'Expected 3 finite numbers (one per channel) for float32.mean but received [0.5] of type array',
    );
    expect(() => new DataLoader(gradient(1), { batchSize: 1, float32: { std: [1, 0, 1] } })).toThrow(/float32\.std/);
    expect(() => new DataLoader(gradient(1), { batchSize: 1, float32: { layout: 'NCHW' as never } })).toThrow(/float32\.layout/);
  });
});

describe('DataLoader close', () => {
  it('close() after an early break, then a new epoch with new workers, runs in full', async () => {
    const loader = new DataLoader(createPatternDataset(60), { batchSize: 6, workers: 2, prefetch: 2 });
    for await (const b of loader) {
      expect(b.shape[0]).toBe(6);
      break;
    }
    await loader.close();
    let seen = 0;
    for await (const b of loader) seen += b.shape[0];
    expect(seen).toBe(60);
    await loader.close();
  });
});

describe('augmentations', () => {
  const shape: Shape = [8, 10, 3];
  const sampleOf = (i: number) => createPatternDataset(1, shape, [], -1, true).get(i).data;

  /** Where in sample `index` a crop of [ch, cw] (optionally mirrored) equals `crop`, or null. */
  function locate(index: number, crop: Uint8Array, ch: number, cw: number, mirrored: boolean): [number, number] | null {
    const src = sampleOf(index);
    for (let top = 0; top + ch <= shape[0]; top++) {
      for (let left = 0; left + cw <= shape[1]; left++) {
        let same = true;
        for (let y = 0; y < ch && same; y++) {
          for (let x = 0; x < cw && same; x++) {
            const sx = mirrored ? left + cw - 1 - x : left + x;
            for (let c = 0; c < 3; c++) if (crop[(y * cw + x) * 3 + c] !== src[((top + y) * shape[1] + sx) * 3 + c]) same = false;
          }
        }
        if (same) return [top, left];
      }
    }
    return null;
  }

  it('random crop: each sample is a [h, w] window of its image, at positions that vary and repeat with the seed', async () => {
    const make = () => new DataLoader(createPatternDataset(40, shape, [], -1, true), { batchSize: 8, seed: 5, augment: { crop: [5, 6] } });
    const positions = new Set<string>();
    const first = await collect(make());
    for (const batch of first) {
      expect(batch.shape.slice(1)).toEqual([5, 6, 3]);
      batch.indices.forEach((index, k) => {
        const at = locate(index, batch.data.subarray(k * 90, (k + 1) * 90), 5, 6, false);
        expect(at, `sample ${index}`).not.toBeNull();
        positions.add(at!.join(','));
      });
    }
    expect(positions.size).toBeGreaterThan(5);
    expect((await collect(make())).map((b) => Buffer.from(b.data).toString('hex'))).toEqual(first.map((b) => Buffer.from(b.data).toString('hex')));
    const loader = make();
    await collect(loader);
    const second = await collect(loader); // epoch 1: other positions
    expect(second.map((b) => Buffer.from(b.data).toString('hex'))).not.toEqual(first.map((b) => Buffer.from(b.data).toString('hex')));
  });

  it("centre crop: every sample's middle window, the same in every epoch", async () => {
    const loader = new DataLoader(createPatternDataset(12, shape, [], -1, true), { batchSize: 4, seed: 5, augment: { crop: [5, 6], cropAt: 'center' } });
    const first = await collect(loader);
    for (const batch of first) {
      batch.indices.forEach((index, k) => {
        // As torchvision's CenterCrop: round(3 / 2) = 2 from the top (half to even), round(4 / 2) = 2 from the left
        expect(locate(index, batch.data.subarray(k * 90, (k + 1) * 90), 5, 6, false), `sample ${index}`).toEqual([2, 2]);
      });
    }
    const second = await collect(loader);
    expect(second.map((b) => Buffer.from(b.data).toString('hex'))).toEqual(first.map((b) => Buffer.from(b.data).toString('hex')));
    expect(() => new DataLoader(createPatternDataset(4, shape), { batchSize: 2, augment: { crop: [5, 6], cropAt: 'middle' as never } })).toThrow(
      /one of "random", "center" for augment.cropAt/,
    );
  });

  it('flip: each sample is its image or its mirror image, both happen', async () => {
    const batches = await collect(new DataLoader(createPatternDataset(40, shape, [], -1, true), { batchSize: 8, augment: { flip: true } }));
    let mirrored = 0;
    for (const batch of batches) {
      batch.indices.forEach((index, k) => {
        const pixels = batch.data.subarray(k * 240, (k + 1) * 240);
        const plain = Buffer.from(pixels).equals(Buffer.from(sampleOf(index)));
        if (!plain) {
          expect(locate(index, pixels, 8, 10, true), `sample ${index}`).toEqual([0, 0]);
          mirrored++;
        }
      });
    }
    expect(mirrored).toBeGreaterThan(5);
    expect(mirrored).toBeLessThan(35);
  });

  it('workers make exactly the same crops and flips as the main thread', async () => {
    const options = { batchSize: 8, shuffle: true, seed: 2, augment: { crop: [4, 7] as [number, number], flip: true } };
    const threaded = new DataLoader(createPatternDataset(48, shape, [], -1, true), { ...options, workers: 2 });
    try {
      const inThread = new DataLoader(createPatternDataset(48, shape, [], -1, true), options);
      for (let epoch = 0; epoch < 2; epoch++) {
        const [a, b] = [await collect(inThread), await collect(threaded)];
        expect(b.map((x) => Buffer.from(x.data).toString('hex'))).toEqual(a.map((x) => Buffer.from(x.data).toString('hex')));
      }
    } finally {
      await threaded.close();
    }
  });

  it('refuses a crop larger than the samples, naming the option', () => {
    expect(() => new DataLoader(createPatternDataset(4, shape), { batchSize: 2, augment: { crop: [9, 4] } })).toThrow(
      'Expected at most the sample size [8, 10] for augment.crop but received [9,4] of type array',
    );
  });
});
