import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@imgstore/core';
import { checkShardSpec, shardRange } from '@imgstore/convert';
import { resolveShard } from '@imgstore/convert/internal';

describe('shardRange', () => {
  it('shards in index order cover every input once, in balanced contiguous ranges', () => {
    for (const [total, count] of [[29, 3], [10, 10], [3, 5], [0, 2], [1000, 7]] as const) {
      const ranges = Array.from({ length: count }, (_, index) => shardRange(total, { index, count }));
      let next = 0;
      for (const range of ranges) {
        expect(range.first).toBe(next);
        next += range.inputs;
      }
      expect(next).toBe(total);
      const sizes = ranges.map((r) => r.inputs);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('checkShardSpec names the bad field', () => {
    expect(checkShardSpec({ index: 2, count: 3 })).toEqual({ index: 2, count: 3 });
    expect(() => checkShardSpec({ index: 3, count: 3 })).toThrow('Expected integer below shard.count (3) for shard.index but received 3 of type number');
    expect(() => checkShardSpec({ index: 0, count: 0 })).toThrow(InvalidOptionError);
  });
});

describe('resolveShard (internal)', () => {
  it('takes the index from the flag, a Kubernetes Indexed Job or a Slurm array; none without a count', () => {
    expect(resolveShard({ shardIndex: 1, shardCount: 3 }, {})).toEqual({ index: 1, count: 3, source: '--shard-index' });
    expect(resolveShard({ shardCount: 3 }, { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 3, source: 'JOB_COMPLETION_INDEX' });
    const slurm = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '3' };
    expect(resolveShard({}, slurm)).toEqual({ index: 1, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
    expect(resolveShard({}, {})).toBeNull();
    expect(() => resolveShard({ shardCount: 3 }, {})).toThrow(InvalidOptionError);
    expect(() => resolveShard({ shardCount: 3 }, { JOB_COMPLETION_INDEX: '3' })).toThrow('Shard index 3 (from JOB_COMPLETION_INDEX) is not below the shard count 3');
  });
});
