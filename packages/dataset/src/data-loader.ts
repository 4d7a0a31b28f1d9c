import {
  isVariableShape,
  expectBoolean,
  expectKnownKeys,
  expectNonNegativeInteger,
  expectPositiveInteger,
  invalidOption,
  shapeByteLength,
  type Dataset,
  type DatasetSource,
  type Shape,
} from '@imgstore/core';
import { BatchSlots, slotBuffers, type BatchSlot, type SlotPlacement } from './batch-slots.js';
import { fillBatch, sampleReader, type BatchableSample, type FillPlan } from './fill-batch.js';
import { normalizeSpec, type Float32Output } from './normalize.js';
import { augmentSpec, variableNeedsCrop, type Augment } from './augment.js';
import { RandomSampler, SequentialSampler, type Sampler } from './samplers.js';
import { BlockShuffleSampler } from './block-shuffle-sampler.js';
import { LOADER_STATE_VERSION, resumePoint, samplerState, type LoaderState } from './loader-state.js';
import { availableParallelism } from 'node:os';
import { PlacementProbe, type Placement } from './placement-probe.js';
import { BatchFailure, WorkerPool, autoWorkerCount, type BatchResult } from './worker-pool.js';

export type { BatchableSample } from './fill-batch.js';

/**
 * One batch: `data` holds `shape[0]` samples back to back, uint8 [B, H, W, C]. The arrays are views into
 * buffers the loader reuses: they are valid until the next batch is requested (copy with `.slice()` to keep).
 */
export interface Batch {
  data: Uint8Array;
  shape: [batch: number, height: number, width: number, channels: number];
  /** Label per sample; -1 for unlabeled samples. */
  labels: Int32Array;
  /** Dataset index of each sample in the batch. */
  indices: Uint32Array;
  /**
   * Multi-label stores: each sample's class indices (`labels` then holds -1), one array per sample ([] for
   * none). Absent when no sample of the batch has labels of its own.
   */
  labelLists?: number[][];
  /** Each sample's metadata (undefined for a sample without). Absent when no sample of the batch has any. */
  meta?: unknown[];
  /** With the `float32` option: the batch normalized, [B, C, H, W] (or [B, H, W, C] with layout HWC). */
  tensor?: Float32Array;
  tensorShape?: [number, number, number, number];
}

export interface DataLoaderOptions {
  /** Samples per batch. Required. */
  batchSize: number;
  /**
   * A new seeded permutation every epoch. Default false (dataset order). `'block'`: the locality-friendly
   * block shuffle (BlockShuffleSampler), for stores larger than memory. Ignored when `sampler` is given.
   */
  shuffle?: boolean | 'block';
  /** Seed of the shuffle; the same seed gives the same order. Default 0. */
  seed?: number;
  /** Drop the last batch when the sampler leaves fewer than batchSize indices for it. Default false. */
  dropLast?: boolean;
  /** A custom traversal (e.g. DistributedSampler). Default: sequential, or seeded random with `shuffle`. */
  sampler?: Sampler;
  /**
   * Worker threads that read and assemble batches; this thread fills batches too while the next one is
   * not back. Default 0 (all in this thread). `'auto'`: one per CPU core but one, at most 8 (0 for a
   * dataset workers cannot reopen). Needs a dataset that worker threads can reopen (`toSource()`), such
   * as a store from `openStore()` or a SafeDataset around one.
   */
  workers?: number | 'auto';
  /** Batches each worker prepares ahead. Default 2. */
  prefetch?: number;
  /**
   * Also give each batch as float32 `tensor`, normalized per channel and laid out CHW (for models),
   * computed in the workers. E.g. `{ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }`.
   */
  float32?: Float32Output;
  /**
   * Training augmentations, seeded by `seed`, the epoch and the sample index (so the same for any number
   * of workers): `{ crop: [h, w] }` random crop (batches then hold crops), `{ flip: true }` left-right
   * mirror with probability 1/2.
   */
  augment?: Augment;
  /** A state from `stateDict()` to resume from (as `loadStateDict(state)` right after construction). */
  state?: LoaderState;
}

const KNOWN = ['batchSize', 'shuffle', 'seed', 'dropLast', 'sampler', 'workers', 'prefetch', 'float32', 'augment', 'state'];

type LoaderDataset = Dataset<BatchableSample | undefined> & {
  sampleShape?: Shape;
  toSource?: () => DatasetSource;
  relaySkipped?: (s: { index: number; reason: string; error: unknown; substitute?: number }) => void;
};

/**
 * Batches a dataset. Each `for await` over the loader is one epoch; the epoch number advances each time
 * (or is set with `setEpoch`), so shuffled epochs differ and are reproducible. Every batch is a fixed run
 * of `batchSize` sampler indices, whatever the number of workers: the same seed gives the same batches.
 * A sample the dataset skips (SafeDataset's `skip`) leaves its batch one shorter.
 * Batches are written into a fixed pool of buffers (shared with the workers), so memory stays flat.
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset<BatchableSample | undefined>;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly sampler: Sampler;
  readonly workers: number;
  readonly prefetch: number;
  readonly float32: Float32Output | undefined;
  readonly augment: Augment | undefined;
  readonly seed: number;
  #plan: FillPlan | null = null;
  #epoch = 0;
  /** Sampler indices the next iteration skips (from loadStateDict), and the batches they made. */
  #resume = { skip: 0, batches: 0 };
  /** The epoch being iterated (or broken off): what stateDict() reports until the next one starts. */
  #progress: { epoch: number; skip: number; batches: number; yielded: number } | null = null;
  /** The skip of the iteration in progress, read by #indexBatches. */
  #skip = 0;
  #allocatedBytes = 0;
  /** Batch buffers that travel to workers and back. */
  #slots: BatchSlots | null = null;
  /** Batch buffers that this thread fills and never sends (in place for the float32 kernel). */
  #localSlots: BatchSlots | null = null;
  #pool: Promise<WorkerPool> | null = null;
  /** Whether workers help, measured (kept across epochs, like the workers). */
  #placement: PlacementProbe | null = null;
  /** Batches a broken epoch left in the workers; the next epoch waits for their buffers to return. */
  #draining: Promise<unknown> = Promise.resolve();
  #busy = false;

  constructor(dataset: Dataset<BatchableSample | undefined>, options: DataLoaderOptions) {
    if (typeof dataset?.get !== 'function' || typeof dataset.length !== 'number') {
      throw invalidOption('dataset', 'Dataset (length and get)', dataset);
    }
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, KNOWN);
    this.dataset = dataset;
    this.batchSize = expectPositiveInteger('batchSize', options.batchSize);
    this.dropLast = expectBoolean('dropLast', options.dropLast ?? false);
    this.workers = parseWorkers(options.workers, typeof (dataset as LoaderDataset).toSource === 'function');
    this.prefetch = expectPositiveInteger('prefetch', options.prefetch ?? 2);
    const shuffle = options.shuffle ?? false;
    if (typeof shuffle !== 'boolean' && shuffle !== 'block') throw invalidOption('shuffle', "boolean or 'block'", shuffle);
    const seed = (this.seed = expectNonNegativeInteger('seed', options.seed ?? 0));
    if (options.sampler !== undefined && typeof options.sampler?.indices !== 'function') {
      throw invalidOption('sampler', 'Sampler (length and indices)', options.sampler);
    }
    if (this.workers > 0 && typeof (dataset as LoaderDataset).toSource !== 'function') {
      throw invalidOption(
        'workers',
        '0 for a dataset that worker threads cannot reopen (it has no toSource(); stores from openStore() have one)',
        this.workers,
      );
    }
    this.sampler =
      options.sampler ??
      (shuffle === 'block'
        ? new BlockShuffleSampler(dataset.length, { seed })
        : shuffle
          ? new RandomSampler(dataset.length, seed)
          : new SequentialSampler(dataset.length));
    this.float32 = options.float32;
    this.augment = options.augment;
    // Checked now when the sample shape is known, else on the first epoch.
    const declared = (dataset as LoaderDataset).sampleShape;
    if (declared) this.#plan = this.#planFor(declared);
    if (options.state !== undefined) this.loadStateDict(options.state);
  }

  #planFor(shape: Shape): FillPlan {
    if (!this.augment && isVariableShape(shape)) throw variableNeedsCrop('augment');
    const augmented = this.augment ? augmentSpec(this.augment, shape, this.seed) : undefined;
    const output = augmented?.output ?? shape;
    return {
      shape,
      output,
      normalize: this.float32 ? normalizeSpec(this.float32, shape[2]) : undefined,
      augment: augmented?.spec,
    };
  }

  /** The epoch the next iteration runs. */
  get epoch(): number {
    return this.#epoch;
  }

  setEpoch(epoch: number): void {
    this.#epoch = expectNonNegativeInteger('epoch', epoch);
    this.#resume = { skip: 0, batches: 0 };
    this.#progress = null;
  }

  /**
   * Where this loader is, as small JSON: the epoch, the batches of it already yielded (the one the
   * consumer holds counts as yielded) and what the order depends on. Save it with a checkpoint; a loader
   * given it (`loadStateDict` or the `state` option) yields the rest of that epoch, the same batches in
   * the same order, then carries on with the following epochs.
   */
  stateDict(): LoaderState {
    const base = { version: LOADER_STATE_VERSION, seed: this.seed, batchSize: this.batchSize, sampler: samplerState(this.sampler) } as const;
    const p = this.#progress;
    if (p) {
      const samples = Math.min(this.sampler.length, p.skip + p.yielded * this.batchSize);
      // Nothing left of the epoch: the state is the start of the next one.
      if (this.#batchesAfter(samples) > 0) return { ...base, epoch: p.epoch, batches: p.batches + p.yielded, samples };
      return { ...base, epoch: p.epoch + 1, batches: 0, samples: 0 };
    }
    return { ...base, epoch: this.#epoch, batches: this.#resume.batches, samples: this.#resume.skip };
  }

  /** Makes the next iteration resume from `state` (see stateDict). Refuses a state of another order or seed. */
  loadStateDict(state: LoaderState): void {
    if (this.#busy) throw invalidOption('DataLoader', 'no iteration in progress to load a state', 'an iteration');
    const point = resumePoint(state, this);
    this.#epoch = point.epoch;
    this.#resume = { skip: point.skip, batches: point.batches };
    this.#progress = null;
  }

  /** Batches an epoch yields after skipping `skip` sampler indices. */
  #batchesAfter(skip: number): number {
    const rest = Math.max(0, this.sampler.length - skip);
    return this.dropLast ? Math.floor(rest / this.batchSize) : Math.ceil(rest / this.batchSize);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Bytes of batch buffers allocated since the loader was made: flat after the first epoch. */
  get allocatedBatchBytes(): number {
    return this.#allocatedBytes;
  }

  /**
   * With workers: where batches are filled now (`'workers'`, or `'here'` when measured faster in this
   * thread alone, see PlacementProbe) and how many times both were measured. Null before the first batch.
   */
  get placement(): { placement: Placement; probes: number } | null {
    const p = this.#placement;
    return p ? { placement: p.placement, probes: p.probes } : null;
  }

  /** Ends the worker threads. Iterating again starts new ones (with new batch buffers). */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool) await (await pool.catch(() => null))?.close();
    await this.#draining;
    this.#draining = Promise.resolve();
    this.#slots = null;
    this.#localSlots = null;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    if (this.#busy) throw invalidOption('DataLoader', 'one iteration at a time (finish or break the previous one)', 'a second');
    this.#busy = true;
    try {
      const epoch = this.#epoch++;
      const { skip, batches } = this.#resume;
      this.#resume = { skip: 0, batches: 0 };
      const progress = (this.#progress = { epoch, skip, batches, yielded: 0 });
      this.#skip = skip;
      const plan = this.#plan ?? (this.#plan = this.#planFor(await this.#sampleShape()));
      const source = this.workers === 0 ? this.#inProcess(epoch, plan) : this.#withWorkers(epoch, plan);
      for await (const batch of source) {
        progress.yielded++;
        yield batch;
      }
      // A finished epoch: the state is the next one's start. (A broken one keeps its place for stateDict.)
      if (this.#progress === progress) this.#progress = null;
    } finally {
      this.#busy = false;
    }
  }

  /** The sampler's order for one epoch, cut into batches of indices (after the indices a resume skips). */
  *#indexBatches(epoch: number): Generator<Uint32Array> {
    let batch: number[] = [];
    let skip = this.#skip;
    for (const index of this.sampler.indices(epoch)) {
      if (skip > 0) {
        skip--;
        continue;
      }
      batch.push(index);
      if (batch.length === this.batchSize) {
        yield Uint32Array.from(batch);
        batch = [];
      }
    }
    if (batch.length && !this.dropLast) yield Uint32Array.from(batch);
  }

  async *#inProcess(epoch: number, plan: FillPlan): AsyncGenerator<Batch> {
    const slots = this.#slotPool(1, plan.output, 'local');
    const read = sampleReader(this.dataset, plan);
    const slot = slots.acquire()!;
    try {
      for (const indices of this.#indexBatches(epoch)) {
        const count = await fillBatch(read, indices, slot, plan, epoch);
        yield view(slot, count, plan.output, this.float32?.layout);
      }
    } finally {
      slots.release(slot);
    }
  }

  /**
   * Workers fill batches ahead, and this thread fills one too whenever the next batch is not back yet
   * (instead of waiting) while a core is left for it: so workers add to the in-thread rate rather than
   * replace it. Where workers cannot help (a raw store read at memory speed) the probe measures it and
   * this thread fills every batch alone. Batches come out in sampler order whoever filled them, and are
   * the same bytes (augment draws depend on seed, epoch and index only).
   */
  async *#withWorkers(epoch: number, plan: FillPlan): AsyncGenerator<Batch> {
    // Each worker `prefetch` batches ahead and one batch with the consumer; and this thread's own: one with
    // the consumer, two to fill (one may wait behind a worker's, measured: this thread then idled ~40% of
    // a JPEG epoch with only one).
    const slots = this.#slotPool(this.workers * this.prefetch + 1, plan.output, this.float32?.shared ? 'shared' : 'transfer');
    const local = this.#slotPool(3, plan.output, 'local');
    await this.#draining;
    const source = (this.dataset as LoaderDataset).toSource!();
    const setup = { shape: plan.shape, float32: this.float32, augment: this.augment, seed: this.seed, kernelMemory: slots.sharedMemory };
    const pool = await (this.#pool ??= WorkerPool.start(this.workers, source, setup).catch(
      (error: unknown) => {
        this.#pool = null;
        throw error;
      },
    ));
    const read = sampleReader(this.dataset, plan);
    // This thread fills batches too only while a core is left for it: with a worker on every core, a
    // third decoder would only take turns with them (measured on 2 cores, JPEG: 2 workers alone 1.8×
    // the in-thread rate, 2 workers plus this thread 1.6×; raw 0.95× against 0.8×).
    const fillsHere = this.workers < availableParallelism();
    const inFlight: Array<{ slot: BatchSlot; result: Promise<BatchResult>; back: boolean; here: boolean }> = [];
    const placement = (this.#placement ??= new PlacementProbe());
    const batches = this.#indexBatches(epoch);
    let withWorkers = 0;
    let held: BatchSlot | null = null; // the slot whose batch the consumer holds
    let ended = false;
    const next = (): Uint32Array | null => {
      if (ended) return null;
      const n = batches.next();
      if (n.done) ended = true;
      return n.done ? null : n.value;
    };
    const dispatch = () => {
      if (placement.placement === 'here') return;
      while (withWorkers < pool.size * this.prefetch && slots.available > 0) {
        const indices = next();
        if (!indices) return;
        const slot = slots.acquire()!;
        const result = pool.run(pool.leastBusy(), epoch, slotBuffers(slot), indices);
        const entry = { slot, result, back: false, here: false };
        withWorkers++;
        // A later batch may fail while an earlier one is awaited: mark it handled now; awaiting it still throws.
        result.then(
          () => ((entry.back = true), withWorkers--),
          () => ((entry.back = true), withWorkers--),
        );
        inFlight.push(entry);
      }
    };
    // Every millisecond of filling here, the workers' replies are taken in and the workers given more, so
    // that they never wait on this thread (a whole batch of JPEGs takes tens of ms).
    const letRepliesIn = () =>
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        lastPause = performance.now();
        dispatch();
      });
    let lastPause = performance.now();
    const pause = () => (performance.now() - lastPause < 1 ? undefined : letRepliesIn());
    let resumedAt = performance.now(); // when the consumer last asked for a batch
    try {
      for (;;) {
        const here = placement.placement === 'here';
        if (!here) dispatch();
        // Fill a batch here: the next one, when placed here; a later one while the next is still with a
        // worker (when a core is left for this thread).
        while (local.available > 0 && (here ? inFlight.length === 0 : fillsHere && inFlight.length > 0 && !inFlight[0]!.back)) {
          const indices = next();
          if (!indices) break;
          // Its place in the order is taken now: batches dispatched while it fills come after it.
          const slot = local.acquire()!;
          let filled!: (result: BatchResult) => void;
          const entry = { slot, result: new Promise<BatchResult>((resolve) => (filled = resolve)), back: false, here: true };
          inFlight.push(entry);
          let count = 0;
          try {
            count = await fillBatch(read, indices, slot, plan, epoch, here ? undefined : pause);
          } finally {
            filled({ count, skipped: [], buffers: slotBuffers(slot) });
            entry.back = true;
          }
          if (!here) await letRepliesIn();
        }
        const head = inFlight.shift();
        if (!head) break;
        let result: BatchResult;
        try {
          result = await head.result;
        } catch (error) {
          throw error instanceof BatchFailure ? error.error : error;
        }
        if (head.here) held = head.slot;
        else {
          held = slots.restore(head.slot.id, result.buffers);
          held.labelLists = result.labelLists;
          held.meta = result.meta;
        }
        for (const s of result.skipped) (this.dataset as LoaderDataset).relaySkipped?.({ ...s, error: new Error(s.reason) });
        if (placement.placement === 'workers') dispatch();
        placement.record(head.here, performance.now() - resumedAt);
        yield view(held, result.count, plan.output, this.float32?.layout);
        resumedAt = performance.now();
        (head.here ? local : slots).release(held);
        held = null;
      }
    } catch (error) {
      // A failed worker or batch: start afresh next time (new workers, new buffers). Batches still in
      // flight fail too (or finish unseen); their outcome no longer matters.
      inFlight.length = 0;
      this.#slots = null;
      this.#localSlots = null;
      await this.close();
      throw error;
    } finally {
      // Early break: the consumer's slot comes back now; slots still being filled once their worker
      // returns the buffers.
      if (held) (local.slots.includes(held) ? local : slots).release(held);
      this.#draining = Promise.all(
        inFlight.map(({ slot, result, here }) =>
          result.then(
            (r) => (here ? local.release(slot) : slots.release(slots.restore(slot.id, r.buffers))),
            (e: unknown) => {
              if (e instanceof BatchFailure && e.buffers) slots.release(slots.restore(slot.id, e.buffers));
            },
          ),
        ),
      );
    }
  }

  /** `local`: slots that never leave this thread; else the workers' (see SlotPlacement). */
  #slotPool(count: number, shape: Shape, placement: SlotPlacement): BatchSlots {
    const local = placement === 'local';
    const pool = local ? this.#localSlots : this.#slots;
    if (pool && pool.slots.length >= count) return pool;
    const fresh = new BatchSlots(count, this.batchSize, shape, this.float32 !== undefined, placement);
    this.#allocatedBytes += fresh.bytes;
    if (local) this.#localSlots = fresh;
    else this.#slots = fresh;
    return fresh;
  }

  /** The dataset's declared sample shape, or the shape of its first sample that loads. */
  async #sampleShape(): Promise<Shape> {
    const declared = (this.dataset as LoaderDataset).sampleShape;
    if (declared) return declared;
    for (let i = 0; i < this.dataset.length; i++) {
      const sample = await this.dataset.get(i);
      if (sample) return sample.shape;
    }
    return [1, 1, 1];
  }
}

/** The `workers` option: a count, or `'auto'` (see DataLoaderOptions.workers). */
function parseWorkers(value: unknown, reopenable: boolean): number {
  if (value === 'auto') return reopenable ? autoWorkerCount() : 0;
  if (typeof value === 'string') throw invalidOption('workers', "non-negative integer or 'auto'", value);
  return expectNonNegativeInteger('workers', value ?? 0);
}

function view(slot: BatchSlot, count: number, shape: Shape, layout: 'CHW' | 'HWC' = 'CHW'): Batch {
  const bytes = count * shapeByteLength(shape);
  const [h, w, c] = shape;
  return {
    data: slot.data.subarray(0, bytes),
    shape: [count, h, w, c],
    labels: slot.labels.subarray(0, count),
    indices: slot.indices.subarray(0, count),
    ...(slot.labelLists ? { labelLists: slot.labelLists } : {}),
    ...(slot.meta ? { meta: slot.meta } : {}),
    ...(slot.tensor
      ? { tensor: slot.tensor.subarray(0, bytes), tensorShape: layout === 'CHW' ? [count, c, h, w] : [count, h, w, c] }
      : {}),
  };
}
