import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ClosedError, WorkerFailedError, expectKnownKeys, expectPositiveInteger, invalidOption, type RawImage } from '@imgstore/core';
import {
  decodeFailed,
  decodeWithSharp,
  describeSource,
  resolveDecodeOptions,
  type CheckedDecodeOptions,
  type DecodeImageOptions,
} from './decode-image.js';

/** What the pool asks a worker. */
export interface DecodeRequest {
  seq: number;
  input: string | Uint8Array;
  options: CheckedDecodeOptions;
}

/**
 * A worker's answer: the pixels (a plain JPEG, decoded and resampled there); or the file's bytes (or
 * path, for a very large file) for sharp to decode here; or why the file could not be read.
 */
export type DecodeReply =
  | { seq: number; kind: 'pixels'; data: Uint8Array; width: number; height: number }
  | { seq: number; kind: 'sharp'; input: Uint8Array | string }
  | { seq: number; kind: 'failed'; message: string; code: string | undefined };

export interface DecodePoolOptions {
  /** Worker threads. Default: the CPU count. */
  threads?: number;
}

interface Pending {
  resolve(image: RawImage): void;
  reject(error: Error): void;
  input: string | Uint8Array;
  options: CheckedDecodeOptions;
  worker: number;
}

/**
 * decodeImage on worker threads, for decoding many images (conversion). Each worker reads the file and,
 * for a plain JPEG, decodes it with libjpeg-turbo into its resampler's memory and resamples it there,
 * synchronously: no thread-pool round trips, no allocation per image but the file's bytes and the output. Other inputs come
 * back as bytes and sharp decodes them on the calling thread (sharp has its own threads). The pixels,
 * and the errors, are exactly decodeImage's. Idle workers do not keep the process alive; `close()` ends them.
 */
export class DecodePool {
  readonly threads: number;
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #failure: Error | undefined;
  #closed = false;
  /** Set by close(): workers skip the requests still queued for them. */
  readonly #stop = new Int32Array(new SharedArrayBuffer(4));

  constructor(options: DecodePoolOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, ['threads']);
    this.threads = expectPositiveInteger('threads', options.threads ?? availableParallelism());
    // Started now, so that they load while the caller gets ready (scans a folder, opens a store).
    for (let w = 0; w < this.threads; w++) this.#spawn();
  }

  /** Decodes like decodeImage(input, options), on a worker thread where that helps. */
  async decode(input: string | Uint8Array, options: DecodeImageOptions | CheckedDecodeOptions): Promise<RawImage> {
    const checked = resolveDecodeOptions(options);
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalidOption('input', 'file path or Uint8Array', input);
    if (this.#closed) throw new ClosedError('The decode pool is closed');
    if (this.#failure) throw this.#failure;
    const worker = this.#leastLoaded();
    const seq = this.#seq++;
    const reply = new Promise<RawImage>((resolve, reject) => this.#pending.set(seq, { resolve, reject, input, options: checked, worker }));
    if (this.#load[worker]!++ === 0) this.#workers[worker]!.ref();
    this.#workers[worker]!.postMessage({ seq, input, options: checked } satisfies DecodeRequest);
    return reply;
  }

  /**
   * Ends the workers; decodes still in flight are rejected. Each worker finishes the image it is on and
   * skips the rest: terminating a thread inside a native call (libjpeg-turbo) can abort the process.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.#closed = true;
    Atomics.store(this.#stop, 0, 1);
    const workers = this.#workers.splice(0);
    this.#fail(new ClosedError('The decode pool was closed'));
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void worker.terminate().then(() => resolve()), graceMs);
            worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.postMessage('close');
          }),
      ),
    );
  }

  #leastLoaded(): number {
    let best = 0;
    for (let w = 1; w < this.#workers.length; w++) if (this.#load[w]! < this.#load[best]!) best = w;
    return best;
  }

  #spawn(): void {
    const w = this.#workers.length;
    // A worker inherits the process's flags, but refuses to start with `--input-type` (of
    // `node --input-type=module -e …`); given explicitly, the list may not hold per-process flags.
    const execArgv = process.execArgv.some((arg) => arg.startsWith('--input-type'))
      ? process.execArgv.filter((arg) => !arg.startsWith('--input-type'))
      : undefined;
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: { stop: this.#stop }, ...(execArgv ? { execArgv } : {}) });
    this.#workers.push(worker);
    this.#load.push(0);
    worker.on('message', (reply: DecodeReply) => this.#settle(reply));
    worker.on('error', (error) => this.#fail(new WorkerFailedError(`Decode worker ${w} failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      if (this.#workers.includes(worker)) this.#fail(new WorkerFailedError(`Decode worker ${w} exited with code ${code}`));
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
  }

  #settle(reply: DecodeReply): void {
    const pending = this.#pending.get(reply.seq);
    if (!pending) return;
    this.#pending.delete(reply.seq);
    if (--this.#load[pending.worker]! === 0) this.#workers[pending.worker]?.unref();
    const source = describeSource(pending.input);
    if (reply.kind === 'pixels') {
      pending.resolve({ data: reply.data, width: reply.width, height: reply.height, channels: 3 });
    } else if (reply.kind === 'failed') {
      pending.reject(decodeFailed(source, Object.assign(new Error(reply.message), { code: reply.code })));
    } else {
      decodeWithSharp(reply.input, pending.options).then(pending.resolve, (cause: unknown) => pending.reject(decodeFailed(source, cause)));
    }
  }

  /** A worker that fails fails everything in flight (and everything after): an error, never a hang. */
  #fail(error: Error): void {
    if (!this.#closed) this.#failure ??= error;
    for (const [seq, pending] of this.#pending) {
      this.#pending.delete(seq);
      pending.reject(error);
    }
  }
}
