import { FORMAT_NAME, FORMAT_VERSION, StoreFormatError, type StoreHeader } from '@imgstore/core';
import { unpackPlain } from '@imgstore/codec';
import { openLmdbFileSnapshot } from './lmdb-file-snapshot.js';

/** What a writer started with; stored under `meta/settings` and compared on resume. */
export interface WriterSettings {
  shape: number[];
  codec: string;
  labelNames: string[] | null;
  jobId: string | null;
  /** Variable-size stores only. */
  maxSampleBytes?: number;
}

/** Committed with every batch: how far the job got. */
export interface Checkpoint {
  position: number;
  records: number;
  rejected: number;
  /** Records per label so far (labeled stores); absent in checkpoints of earlier writers. */
  labelCounts?: number[];
}

/**
 * `meta/append`: present only while an append into a finished store is under way (committed with the
 * append's first batch, deleted in the transaction that rewrites the header). Records and rejects past
 * the header's counts are then that append's, not damage; readers read the store the header describes.
 */
export const APPEND_KEY = 'append';

/** What `meta/append` holds: the append's settings and its checkpoint, committed with every batch. */
export interface AppendState extends Checkpoint {
  /** Identifies the append job (its inputs and settings): a resume of another job is refused. */
  jobId: string | null;
  /** The label names after the append: the store's, then the new ones. */
  labelNames: string[] | null;
  /** The header's counts before the append. */
  base: { records: number; rejected: number };
}

/**
 * Whether the store at `path` has an append under way or interrupted (its `meta/append`), read with the
 * TypeScript engine (no environment of this thread is touched). Errors as openStore's (missing, damaged).
 */
export function appendInProgress(path: string): boolean {
  const snapshot = openLmdbFileSnapshot(path);
  try {
    return snapshot.meta(APPEND_KEY) !== undefined;
  } finally {
    snapshot.close();
  }
}

export const EMPTY_CHECKPOINT: Checkpoint = { position: 0, records: 0, rejected: 0 };

export function decodeCheckpoint(bytes: Uint8Array | undefined): Checkpoint {
  return bytes ? (unpackPlain(bytes) as Checkpoint) : EMPTY_CHECKPOINT;
}

/**
 * The header an unfinished store would have if it were finished now: its settings, and the records and
 * rejects committed so far. Lets a reader follow a conversion that is still running (or was killed).
 */
export function headerOfUnfinishedStore(path: string, settingsBytes: Uint8Array, checkpoint: Checkpoint): StoreHeader {
  const settings = unpackPlain(settingsBytes) as Partial<WriterSettings>;
  const { shape, codec, labelNames, maxSampleBytes } = settings;
  if (!Array.isArray(shape) || shape.length !== 3 || typeof codec !== 'string') {
    throw new StoreFormatError(path, 'not-a-store', `Store ${path} has no header and malformed writer settings`);
  }
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    codec,
    count: checkpoint.records,
    shape: [shape[0]!, shape[1]!, shape[2]!],
    ...(maxSampleBytes !== undefined ? { maxSampleBytes } : {}),
    dtype: 'uint8',
    layout: 'HWC',
    colorSpace: 'srgb',
    labelNames: labelNames ?? null,
    rejected: checkpoint.rejected,
    ...(checkpoint.labelCounts ? { labelCounts: checkpoint.labelCounts } : {}),
    provenance: { tool: '@imgstore/store', toolVersion: '0', createdAt: '' },
  };
}
