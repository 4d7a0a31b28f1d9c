import { describe, expect, it } from 'vitest';
import { DistributedSampler, RandomSampler, SequentialSampler, seededPermutation } from '@imgstore/dataset';

const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);
const range = (n: number) => [...Array(n).keys()];

describe('RandomSampler', () => {
  it('yields each index exactly once per epoch', () => {
    const sampler = new RandomSampler(1000, 7);
    for (const epoch of [0, 1, 5]) expect(sorted(sampler.indices(epoch))).toEqual(range(1000));
  });

  it('gives the same order for the same seed and epoch, a different one for other epochs and seeds', () => {
    const a = [...new RandomSampler(100, 7).indices(3)];
    expect([...new RandomSampler(100, 7).indices(3)]).toEqual(a);
    expect([...new RandomSampler(100, 7).indices(4)]).not.toEqual(a);
    expect([...new RandomSampler(100, 8).indices(3)]).not.toEqual(a);
    expect(a).not.toEqual(range(100));
  });

  it('is unbiased enough that every index visits every position over many epochs', () => {
    const n = 5;
    const seen = Array.from({ length: n }, () => new Set<number>());
    const sampler = new RandomSampler(n, 1);
    for (let epoch = 0; epoch < 200; epoch++) [...sampler.indices(epoch)].forEach((index, pos) => seen[index]!.add(pos));
    for (const positions of seen) expect(positions.size).toBe(n);
  });

  it('handles empty and single datasets', () => {
    expect([...seededPermutation(0, 1)]).toEqual([]);
    expect([...new RandomSampler(1, 1).indices(0)]).toEqual([0]);
  });
});

describe('SequentialSampler', () => {
  it('yields 0..n-1', () => {
    expect([...new SequentialSampler(4).indices()]).toEqual([0, 1, 2, 3]);
  });
});

describe('DistributedSampler with 4 simulated ranks', () => {
  const ranks = (length: number, options: { dropLast?: boolean; shuffle?: boolean } = {}) =>
    [0, 1, 2, 3].map((rank) => new DistributedSampler({ length, rank, worldSize: 4, seed: 3, ...options }));

  it('gives every rank the same count and together covers the dataset (padding by repetition)', () => {
    const samplers = ranks(10);
    const perRank = samplers.map((s) => [...s.indices(0)]);
    expect(perRank.map((xs) => xs.length)).toEqual([3, 3, 3, 3]);
    expect(samplers.every((s) => s.length === 3)).toBe(true);
    const all = perRank.flat();
    expect(new Set(all).size).toBe(10);
    expect(all.length).toBe(12); // 2 indices padded
  });

  it('splits exactly when the length divides evenly: disjoint and complete', () => {
    const all = ranks(12).flatMap((s) => [...s.indices(2)]);
    expect(sorted(all)).toEqual(range(12));
  });

  it('drops the tail with dropLast: equal counts, no repeats', () => {
    const perRank = ranks(10, { dropLast: true }).map((s) => [...s.indices(1)]);
    expect(perRank.map((xs) => xs.length)).toEqual([2, 2, 2, 2]);
    expect(new Set(perRank.flat()).size).toBe(8);
  });

  it('shuffles per epoch, identically on every rank', () => {
    const a = ranks(40).map((s) => [...s.indices(0)]);
    const again = ranks(40).map((s) => [...s.indices(0)]);
    expect(again).toEqual(a);
    expect(ranks(40).map((s) => [...s.indices(1)])).not.toEqual(a);
    expect(sorted(a.flat())).toEqual(range(40));
  });

  it('validates rank against worldSize', () => {
    expect(() => new DistributedSampler({ length: 4, rank: 4, worldSize: 4 })).toThrow(
      'Expected integer below worldSize (4) for rank but received 4 of type number',
    );
  });
});
