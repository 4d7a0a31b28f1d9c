/** Messages between the DataLoader and its worker threads. */
import type { SerializedImgstoreError } from '@imgstore/core';
import type { SlotBuffers } from './batch-slots.js';

export interface BatchTask {
  seq: number;
  /** Epoch of the batch: augmentation draws depend on it. */
  epoch: number;
  indices: Uint32Array;
  /** The slot's buffers, transferred: the worker fills them and transfers them back. */
  buffers: SlotBuffers;
}

export interface WorkerSkip {
  index: number;
  reason: string;
  substitute?: number | undefined;
}

export type WorkerReply =
  | { type: 'ready'; seq: -1 }
  | {
      type: 'done';
      seq: number;
      count: number;
      skipped: WorkerSkip[];
      buffers: SlotBuffers;
      /** Multi-label labels and metadata per sample, when the batch has some (structured clones). */
      labelLists?: number[][] | undefined;
      meta?: unknown[] | undefined;
    }
  | { type: 'failed'; seq: number; error: SerializedImgstoreError; buffers?: SlotBuffers };
