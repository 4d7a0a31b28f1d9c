import { InvalidOptionError } from '@imgstore/core';
import type { ShardSpec } from './shard-range.js';

export interface ShardFlags {
  shardIndex?: number;
  shardCount?: number;
}

/** A shard to convert and where its index came from, for the log line. */
export interface ResolvedShard extends ShardSpec {
  source: string;
}

function envInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidOptionError(name, `Expected a non-negative integer for ${name} but received ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * The shard of this process: `--shard-index`/`--shard-count`, or the cluster's own task index, so one
 * command line serves every task: Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX (0-based; pass
 * `--shard-count` = the Job's completions), Slurm job arrays set SLURM_ARRAY_TASK_ID (relative to
 * SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT. Null: convert the whole folder.
 */
export function resolveShard(flags: ShardFlags, env: NodeJS.ProcessEnv = process.env): ResolvedShard | null {
  const slurmId = envInteger(env, 'SLURM_ARRAY_TASK_ID');
  const count = flags.shardCount ?? (slurmId !== undefined ? envInteger(env, 'SLURM_ARRAY_TASK_COUNT') : undefined);
  if (count === undefined) {
    if (flags.shardIndex !== undefined) {
      throw new InvalidOptionError('--shard-index', '--shard-index needs --shard-count (how many shards in all)');
    }
    return null;
  }
  let index: number | undefined;
  let source: string;
  if (flags.shardIndex !== undefined) [index, source] = [flags.shardIndex, '--shard-index'];
  else if (envInteger(env, 'JOB_COMPLETION_INDEX') !== undefined) [index, source] = [envInteger(env, 'JOB_COMPLETION_INDEX'), 'JOB_COMPLETION_INDEX'];
  else if (slurmId !== undefined) [index, source] = [slurmId - (envInteger(env, 'SLURM_ARRAY_TASK_MIN') ?? 0), 'SLURM_ARRAY_TASK_ID'];
  else {
    throw new InvalidOptionError(
      '--shard-index',
      '--shard-count needs a shard index: --shard-index, or JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array) in the environment',
    );
  }
  if (index! < 0 || index! >= count) {
    throw new InvalidOptionError('--shard-index', `Shard index ${index} (from ${source}) is not below the shard count ${count}`);
  }
  return { index: index!, count, source };
}
