// Worker-thread entry: rebuilds the dataset from its source, then fills the batch slots it is told to.
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError, type DatasetSource, type Shape } from '@imgstore/core';
import type { SlotBuffers } from './batch-slots.js';
import { slotFromBuffers, transferList } from './batch-slots.js';
import { normalizeSpec, type Float32Output } from './normalize.js';
import { joinSharedArena } from './normalize-kernel.js';
import { augmentSpec, type Augment } from './augment.js';
import { fillBatch, sampleReader, type BatchableSample } from './fill-batch.js';
import { loadDataset } from './load-dataset.js';
import type { BatchTask, WorkerReply, WorkerSkip } from './worker-protocol.js';

interface WorkerInit {
  source: DatasetSource;
  shape: Shape;
  float32?: Float32Output;
  augment?: Augment;
  seed: number;
  kernelMemory?: WebAssembly.Memory;
  /** This worker's thread index in kernelMemory. */
  thread: number;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const { source, shape, float32, augment, seed, kernelMemory, thread } = workerData as WorkerInit;
  // Float32 batches in shared memory are filled in place there (see BatchSlots).
  const shared = kernelMemory ? joinSharedArena(kernelMemory, thread) : undefined;
  const augmented = augment ? augmentSpec(augment, shape, seed) : undefined;
  const output = augmented?.output ?? shape;
  const plan = {
    shape,
    output,
    normalize: float32 ? normalizeSpec(float32, shape[2]) : undefined,
    augment: augmented?.spec,
  };
  const reply = (message: WorkerReply) => {
    const { buffers } = message as { buffers?: SlotBuffers };
    port.postMessage(message, buffers ? transferList(buffers) : []);
  };
  let dataset;
  try {
    dataset = await loadDataset<BatchableSample | undefined>(source);
  } catch (error) {
    reply({ type: 'failed', seq: -1, error: serializeError(error) });
    return;
  }
  let skipped: WorkerSkip[] = [];
  const withListener = dataset as { onSkipped?: (l: (s: WorkerSkip) => void) => void };
  withListener.onSkipped?.((s) => skipped.push({ index: s.index, reason: s.reason, substitute: s.substitute }));
  const read = sampleReader(dataset, plan);
  // Tasks run one after another, so each reply carries exactly its own batch's skips.
  let queue = Promise.resolve();
  port.on('message', (task: BatchTask | 'close') => {
    if (task === 'close') {
      // End the thread by letting its event loop run dry, without closing the dataset: lmdb-js shares a
      // store's environment between threads, so closing it here would close it for the main thread too.
      queue = queue.then(() => port.close());
      return;
    }
    queue = queue.then(async () => {
      skipped = [];
      const { buffers } = task;
      try {
        const slot = slotFromBuffers(0, buffers, shared);
        const count = await fillBatch(read, task.indices, slot, plan, task.epoch);
        reply({ type: 'done', seq: task.seq, count, skipped, buffers, labelLists: slot.labelLists, meta: slot.meta });
      } catch (error) {
        reply({ type: 'failed', seq: task.seq, error: serializeError(error), buffers });
      }
    });
  });
  reply({ type: 'ready', seq: -1 });
}

void main();
