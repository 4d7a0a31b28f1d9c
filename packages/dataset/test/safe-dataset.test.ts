import { describe, expect, it } from 'vitest';
import { SampleLoadError, type Dataset } from '@imgstore/core';
import { SafeDataset, type SkippedSample } from '@imgstore/dataset';

/** Indices in `bad` throw; others return their index. `async` makes get return promises. */
function dataset(length: number, bad: number[], async = false): Dataset<number> {
  return {
    length,
    get(index) {
      if (bad.includes(index)) {
        if (async) return Promise.reject(new Error(`bad sample ${index}`));
        throw new Error(`bad sample ${index}`);
      }
      return async ? Promise.resolve(index) : index;
    },
  };
}

describe.each([false, true])('SafeDataset (async get: %s)', (async) => {
  it('skip: a failing sample becomes undefined and is reported with its reason', async () => {
    const reported: SkippedSample[] = [];
    const safe = new SafeDataset(dataset(5, [2], async), { onSkip: (s) => reported.push(s) });
    expect(await safe.get(1)).toBe(1);
    expect(await safe.get(2)).toBeUndefined();
    expect(reported.map(({ index, reason }) => ({ index, reason }))).toEqual([{ index: 2, reason: 'bad sample 2' }]);
    expect([...safe.skipped.keys()]).toEqual([2]);
  });

  it('substitute: serves the next sample that loads, deterministically, and reports it', async () => {
    const safe = new SafeDataset(dataset(5, [2, 3], async), { policy: 'substitute' });
    expect(await safe.get(2)).toBe(4);
    expect(await safe.get(3)).toBe(4);
    expect(safe.skipped.get(2)).toMatchObject({ index: 2, substitute: 4, reason: 'bad sample 2' });
  });

  it('substitute wraps around the end', async () => {
    const safe = new SafeDataset(dataset(4, [3], async), { policy: 'substitute' });
    expect(await safe.get(3)).toBe(0);
  });

  it('substitute fails clearly when nothing loads', async () => {
    const safe = new SafeDataset(dataset(3, [0, 1, 2], async), { policy: 'substitute' });
    const error = await Promise.resolve()
      .then(() => safe.get(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SampleLoadError);
    expect((error as SampleLoadError).index).toBe(1);
  });

  it('throw: the original error propagates', async () => {
    const safe = new SafeDataset(dataset(3, [1], async), { policy: 'throw' });
    await expect(Promise.resolve().then(() => safe.get(1))).rejects.toThrow('bad sample 1');
  });
});

describe('SafeDataset options', () => {
  it('names a bad policy', () => {
    expect(() => new SafeDataset(dataset(1, []), { policy: 'ignore' as never })).toThrow(
      'Expected one of "skip", "substitute", "throw" for policy but received "ignore" of type string',
    );
  });
});
