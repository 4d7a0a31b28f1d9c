import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Dataset, Shape } from '@imgstore/core';
import { BlockShuffleSampler, DataLoader, DistributedSampler, blockShuffle, mixSeed, type BatchableSample } from '@imgstore/dataset';

const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

describe('BlockShuffleSampler', () => {
  it('yields each index exactly once per epoch, for any length, block size and window (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 12 }), fc.nat(), fc.nat(20), (length, blockSize, window, seed, epoch) => {
        const order = [...new BlockShuffleSampler(length, { seed, blockSize, window }).indices(epoch)];
        expect(sorted(order)).toEqual([...Array(length).keys()]);
      }),
      { numRuns: 300 },
    );
  });

  it('is reproducible from (seed, epoch): the same pair gives the same order, another epoch or seed another one', () => {
    const a = new BlockShuffleSampler(5000, { seed: 7 });
    const b = new BlockShuffleSampler(5000, { seed: 7 });
    expect([...a.indices(3)]).toEqual([...b.indices(3)]);
    expect([...a.indices(4)]).not.toEqual([...a.indices(3)]);
    expect([...new BlockShuffleSampler(5000, { seed: 8 }).indices(3)]).not.toEqual([...a.indices(3)]);
  });

  it('reads locality-friendly: at any point at most `window` blocks are in use, each read front to back', () => {
    const blockSize = 10;
    const window = 4;
    const order = blockShuffle(1003, 99, blockSize, window);
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    order.forEach((index, position) => {
      const block = Math.floor(index / blockSize);
      if (!first.has(block)) first.set(block, position);
      last.set(block, position);
    });
    for (let p = 0; p < order.length; p++) {
      let open = 0;
      for (const [block, start] of first) if (start <= p && p <= last.get(block)!) open++;
      expect(open).toBeLessThanOrEqual(window);
    }
    for (const block of first.keys()) {
      const run = [...order].filter((i) => Math.floor(i / blockSize) === block);
      expect(run).toEqual(sorted(run));
    }
  });

  it('mixes the store: epoch position barely correlates with store position, and blocks open in a new order each epoch', () => {
    const n = 20_000;
    const sampler = new BlockShuffleSampler(n, { seed: 3 });
    const spearman = (order: ArrayLike<number>) => {
      let sxy = 0;
      for (let p = 0; p < n; p++) sxy += p * order[p]!;
      const mean = (n - 1) / 2;
      return (sxy / n - mean * mean) / ((n * n - 1) / 12);
    };
    const firstBlocks = (epoch: number) => [...new Set([...sampler.indices(epoch)].slice(0, 500).map((i) => Math.floor(i / 128)))].sort();
    for (let epoch = 0; epoch < 3; epoch++) expect(Math.abs(spearman([...sampler.indices(epoch)]))).toBeLessThan(0.4);
    expect(firstBlocks(0)).not.toEqual(firstBlocks(1));
    // Dataset order would be 1; sequential blocks would be close to it.
    expect(spearman([...Array(n).keys()])).toBeCloseTo(1, 6);
  });

  it('onBlockOpen: once per block with its first and last index, before any of its indices; the order is unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 6 }),
        fc.nat(),
        (length, blockSize, window, lookahead, seed) => {
          const calls: [number, number][] = [];
          const order: number[] = [];
          const sampler = new BlockShuffleSampler(length, { seed, blockSize, window, lookahead, onBlockOpen: (first, last) => calls.push([first, last]) });
          for (const index of sampler.indices(2)) {
            // The block of each index was announced before the index came.
            const block = Math.floor(index / blockSize);
            expect(calls.some(([first]) => first === block * blockSize)).toBe(true);
            order.push(index);
          }
          expect(order).toEqual([...new BlockShuffleSampler(length, { seed, blockSize, window }).indices(2)]);
          const blocks = Math.ceil(length / blockSize);
          expect(calls).toHaveLength(blocks);
          // Each block once, as [first, last] inclusive (the last one may be short).
          const byFirst = [...calls].sort((a, b) => a[0] - b[0]);
          expect(byFirst).toEqual(Array.from({ length: blocks }, (_, b) => [b * blockSize, Math.min((b + 1) * blockSize, length) - 1]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('onBlockOpen comes as the order is iterated: window + lookahead blocks at the start, then one per block used up', () => {
    const calls: number[] = [];
    const sampler = new BlockShuffleSampler(10_000, { seed: 4, blockSize: 100, window: 8, lookahead: 3, onBlockOpen: (first) => calls.push(first) });
    const it = sampler.indices(0)[Symbol.iterator]();
    expect(calls).toHaveLength(0);
    it.next();
    expect(calls).toHaveLength(11);
    let yielded = 1;
    while (calls.length === 11) {
      it.next();
      yielded++;
    }
    // The 12th block is announced when the first block is used up, 3 openings ahead of its own.
    expect(calls).toHaveLength(12);
    expect(yielded).toBeGreaterThanOrEqual(100);
    expect(() => new BlockShuffleSampler(10, { onBlockOpen: 3 as never })).toThrow('Expected function for onBlockOpen but received 3');
    expect(() => new BlockShuffleSampler(10, { lookahead: -1 })).toThrow(/lookahead/);
    // Not part of what the order depends on.
    expect(sampler.stateDict()).toEqual({ type: 'BlockShuffleSampler', length: 10_000, seed: 4, blockSize: 100, window: 8 });
  });

  it('validates its options, naming them', () => {
    expect(() => new BlockShuffleSampler(10, { blockSize: 0 })).toThrow('Expected positive integer for blockSize but received 0 of type number');
    expect(() => new BlockShuffleSampler(10, { window: 1.5 })).toThrow('Expected positive integer for window but received 1.5 of type number');
    expect(() => new BlockShuffleSampler(10, { blocksize: 4 } as never)).toThrow(/Unknown option blocksize/);
    expect(() => new DataLoader(tiny(10), { batchSize: 2, shuffle: 'blocks' as never })).toThrow(
      `Expected boolean or 'block' for shuffle but received "blocks" of type string`,
    );
    expect(() => new DistributedSampler({ length: 10, rank: 0, worldSize: 2, shuffle: 'blok' as never })).toThrow(
      `Expected boolean or 'block' for shuffle but received "blok" of type string`,
    );
    expect(() => new DistributedSampler({ length: 10, rank: 0, worldSize: 2, window: 0 })).toThrow('Expected positive integer for window but received 0');
    expect(() => new DistributedSampler({ length: 10, rank: 0, worldSize: 2, blocksize: 4 } as never)).toThrow(/Unknown option blocksize/);
  });
});

const shape: Shape = [1, 1, 3];
const tiny = (length: number): Dataset<BatchableSample> & { sampleShape: Shape } => ({
  length,
  sampleShape: shape,
  get: (i) => ({ label: i % 3, shape, data: new Uint8Array(3).fill(i % 256) }),
});

describe("DataLoader shuffle: 'block'", () => {
  it('batches the block shuffle of (seed, epoch), and resumes it mid-epoch', async () => {
    const loader = new DataLoader(tiny(300), { batchSize: 16, shuffle: 'block', seed: 5 });
    const seen: number[] = [];
    for await (const b of loader) seen.push(...b.indices);
    expect(seen).toEqual([...new BlockShuffleSampler(300, { seed: 5 }).indices(0)]);
    const broken = new DataLoader(tiny(300), { batchSize: 16, shuffle: 'block', seed: 5 });
    const head: number[] = [];
    for await (const b of broken) {
      head.push(...b.indices);
      if (head.length === 64) break;
    }
    const state = JSON.parse(JSON.stringify(broken.stateDict()));
    expect(state.sampler).toEqual({ type: 'BlockShuffleSampler', length: 300, seed: 5, blockSize: 128, window: 16 });
    const rest: number[] = [];
    for await (const b of new DataLoader(tiny(300), { batchSize: 16, shuffle: 'block', seed: 5, state })) rest.push(...b.indices);
    expect([...head, ...rest]).toEqual(seen);
  });

  it("DistributedSampler shuffle: 'block': ranks share one block order and together cover every index", () => {
    const ranks = [0, 1, 2].map((rank) => [...new DistributedSampler({ length: 999, rank, worldSize: 3, shuffle: 'block', seed: 2, blockSize: 20, window: 5 }).indices(1)]);
    expect(sorted(ranks.flat())).toEqual([...Array(999).keys()]);
    // Position p of the epoch's global block order goes to rank p % 3.
    const order = Array.from({ length: 999 }, (_, p) => ranks[p % 3]![Math.floor(p / 3)]!);
    expect(order).toEqual([...blockShuffle(999, mixSeed(2, 1), 20, 5)]);
  });
});
