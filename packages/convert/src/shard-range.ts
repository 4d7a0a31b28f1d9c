import { expectKnownKeys, expectNonNegativeInteger, expectPositiveInteger, invalidOption } from '@imgstore/core';

/** Which part of a folder a conversion takes: shard `index` of `count` (0-based). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The inputs a shard converts: `[first, first + inputs)` of the folder's sorted input list. */
export interface ShardRange {
  first: number;
  inputs: number;
}

export function checkShardSpec(shard: ShardSpec): ShardSpec {
  if (typeof shard !== 'object' || shard === null) throw invalidOption('shard', 'object', shard);
  expectKnownKeys('shard', shard, ['index', 'count']);
  const count = expectPositiveInteger('shard.count', shard.count);
  const index = expectNonNegativeInteger('shard.index', shard.index);
  if (index >= count) throw invalidOption('shard.index', `integer below shard.count (${count})`, index);
  return { index, count };
}

/**
 * Contiguous, balanced ranges (sizes differ by at most one): shard i takes inputs
 * [floor(i·total/count), floor((i+1)·total/count)). Concatenating the shards in index order gives
 * exactly the single-store conversion, record for record, so a global index is offset + local index.
 */
export function shardRange(total: number, { index, count }: ShardSpec): ShardRange {
  const first = Math.floor((index * total) / count);
  const end = Math.floor(((index + 1) * total) / count);
  return { first, inputs: end - first };
}
