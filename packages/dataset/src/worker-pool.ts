import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ClosedError, WorkerFailedError, deserializeError, type DatasetSource, type Shape } from '@imgstore/core';
import { transferList, type SlotBuffers } from './batch-slots.js';
import type { Float32Output } from './normalize.js';
import type { Augment } from './augment.js';

/** What every worker needs besides the dataset: the sample shape and the batch transforms. */
export interface WorkerSetup {
  shape: Shape;
  float32?: Float32Output | undefined;
  augment?: Augment | undefined;
  seed: number;
  /** The shared memory float32 batch slots live in (BatchSlots placement `shared`): each worker joins it. */
  kernelMemory?: WebAssembly.Memory | undefined;
}
import type { BatchTask, WorkerReply, WorkerSkip } from './worker-protocol.js';

export interface BatchResult {
  count: number;
  skipped: WorkerSkip[];
  /** The slot's buffers, back from the worker. */
  buffers: SlotBuffers;
  labelLists?: number[][] | undefined;
  meta?: unknown[] | undefined;
}

interface Pending {
  resolve: (result: BatchResult) => void;
  reject: (error: Error, buffers?: SlotBuffers) => void;
}

/**
 * `workers: 'auto'`: a worker per core but one, since the loader's own thread reads too (and runs the
 * training step); at most 8, beyond which batch buffers grow faster than the rate.
 */
export function autoWorkerCount(): number {
  return Math.max(1, Math.min(8, availableParallelism() - 1));
}

/** A failed batch; `buffers` are the slot's buffers when the worker sent them back. */
export class BatchFailure extends Error {
  readonly buffers: SlotBuffers | undefined;
  readonly error: Error;
  constructor(error: Error, buffers?: SlotBuffers) {
    super(error.message);
    this.error = error;
    this.buffers = buffers;
  }
}

/**
 * Worker threads that each reopen the dataset and fill shared batch slots. Idle workers are unref'd,
 * so a loader that is no longer iterated never keeps the process alive; `close()` ends them.
 */
export class WorkerPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #outstanding: number[];
  #nextSeq = 0;
  #failure: Error | null = null;

  private constructor(count: number) {
    this.#outstanding = new Array<number>(count).fill(0);
  }

  static async start(count: number, source: DatasetSource, setup: WorkerSetup): Promise<WorkerPool> {
    const pool = new WorkerPool(count);
    const entry = new URL('./batch-worker.js', import.meta.url);
    try {
      // One at a time: two threads opening the same LMDB environment at once can make lmdb-js fail the
      // second with "Invalid argument" (seen with 2 workers on one store); once open, reads run in parallel.
      // Thread 0 of the shared kernel memory is this one.
      for (let w = 0; w < count; w++) await pool.#spawn(w, entry, { source, ...setup, thread: w + 1 });
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * Asks worker `w` to fill a slot's buffers (transferred to it) with the samples at `indices`.
   * Rejects with a BatchFailure, which carries the buffers back when the worker returned them.
   */
  run(w: number, epoch: number, buffers: SlotBuffers, indices: Uint32Array): Promise<BatchResult> {
    if (this.#failure) return Promise.reject(new BatchFailure(this.#failure, buffers));
    const worker = this.#workers[w]!;
    const seq = this.#nextSeq++;
    return new Promise<BatchResult>((resolve, reject) => {
      this.#pending.set(seq, {
        resolve: (r) => (this.#settled(w), resolve(r)),
        reject: (e, b) => (this.#settled(w), reject(new BatchFailure(e, b))),
      });
      if (this.#outstanding[w]!++ === 0) worker.ref();
      worker.postMessage({ seq, epoch, indices, buffers } satisfies BatchTask, transferList(buffers));
    });
  }

  get size(): number {
    return this.#workers.length;
  }

  /** The worker with the fewest batches outstanding (the first of those): a slow or starved worker gets less. */
  leastBusy(): number {
    let best = 0;
    for (let w = 1; w < this.#outstanding.length; w++) if (this.#outstanding[w]! < this.#outstanding[best]!) best = w;
    return best;
  }

  /**
   * Asks each worker to finish and end; one that has not ended within `graceMs` is terminated.
   * (Terminating a thread in the middle of a read has left lmdb-js's shared environment failing later
   * reads in other threads with "Invalid argument".)
   */
  async close(graceMs = 5000): Promise<void> {
    const workers = this.#workers.splice(0);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void worker.terminate().then(() => resolve()), graceMs);
            worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.ref();
            worker.postMessage('close');
          }),
      ),
    );
    // Anything still pending can no longer be answered: settle it, so that nobody waits forever.
    const closed = new ClosedError('The DataLoader was closed');
    for (const [seq, pending] of this.#pending) {
      this.#pending.delete(seq);
      pending.reject(closed);
    }
  }

  #settled(w: number): void {
    if (--this.#outstanding[w]! === 0) this.#workers[w]?.unref();
  }

  #spawn(w: number, entry: URL, workerData: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(entry, { workerData });
      this.#workers[w] = worker;
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          worker.unref();
          resolve();
        } else if (reply.type === 'failed' && reply.seq === -1) {
          reject(deserializeError(reply.error));
        } else {
          const pending = this.#pending.get(reply.seq);
          this.#pending.delete(reply.seq);
          if (reply.type === 'done') {
            pending?.resolve({ count: reply.count, skipped: reply.skipped, buffers: reply.buffers, labelLists: reply.labelLists, meta: reply.meta });
          }
          else pending?.reject(deserializeError(reply.error), reply.buffers);
        }
      });
      // A worker that crashes fails everything in flight: the consumer gets an error, never a hang.
      const fail = (error: Error) => {
        this.#failure ??= error;
        reject(error);
        for (const [seq, pending] of this.#pending) {
          this.#pending.delete(seq);
          pending.reject(error);
        }
      };
      worker.on('error', (error) => fail(new WorkerFailedError(`DataLoader worker ${w} failed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => {
        if (code !== 0 && this.#workers.includes(worker)) {
          fail(new WorkerFailedError(`DataLoader worker ${w} exited with code ${code}`));
        }
      });
    });
  }
}
