import { InvalidOptionError, type Shape } from '@imgstore/core';
import { kernelArena, sharedKernelArena } from './normalize-kernel.js';

/**
 * Most bytes one batch (pixels, plus the float32 tensor when asked for) may take. A bound here turns a
 * sample size that cannot be batched (a huge image, or a header that lies about one) into an option
 * error before the allocation, instead of a RangeError or the OOM killer.
 */
export const MAX_BATCH_BYTES = 4 * 2 ** 30;

/** One reusable batch buffer: pixels [B,H,W,C], labels and indices, on (shared) array buffers. */
export interface BatchSlot {
  id: number;
  data: Uint8Array;
  labels: Int32Array;
  indices: Uint32Array;
  /** Float32 copy of `data` (normalized), when the loader was asked for float32 output. */
  tensor?: Float32Array;
  /** The batch's multi-label labels and metadata per sample (set by fillBatch when a sample has some). */
  labelLists?: number[][] | undefined;
  meta?: unknown[] | undefined;
}

/**
 * The buffers of a slot, moved (transferred, not copied) to a worker thread and back for each batch;
 * for a slot in shared memory (float32 batches, see BatchSlots), where its pixels and tensor lie in it.
 */
export interface SlotBuffers {
  data?: ArrayBuffer;
  labels: ArrayBuffer;
  indices: ArrayBuffer;
  tensor?: ArrayBuffer;
  /** Instead of data and tensor: their byte offsets in the workers' shared memory, and their length in values. */
  shared?: { data: number; tensor: number; values: number };
}

/** The buffers to list as transferable when a slot moves between threads (shared memory is not moved). */
export function transferList(buffers: SlotBuffers): ArrayBuffer[] {
  const list = [buffers.labels, buffers.indices];
  if (buffers.data) list.push(buffers.data);
  if (buffers.tensor) list.push(buffers.tensor);
  return list;
}

/** The slot's arrays over `buffers`; a slot in shared memory needs this thread's `shared` buffer of it. */
export function slotFromBuffers(id: number, buffers: SlotBuffers, shared?: ArrayBufferLike): BatchSlot {
  const labels = new Int32Array(buffers.labels);
  const indices = new Uint32Array(buffers.indices);
  if (buffers.shared) {
    if (!shared) throw new Error('A batch slot in shared memory reached a thread without that memory');
    const { data, tensor, values } = buffers.shared;
    return { id, data: new Uint8Array(shared, data, values), labels, indices, tensor: new Float32Array(shared, tensor, values) };
  }
  return {
    id,
    data: new Uint8Array(buffers.data!),
    labels,
    indices,
    ...(buffers.tensor ? { tensor: new Float32Array(buffers.tensor) } : {}),
  };
}

export function slotBuffers(slot: BatchSlot): SlotBuffers {
  const labels = slot.labels.buffer as ArrayBuffer;
  const indices = slot.indices.buffer as ArrayBuffer;
  if (slot.tensor && slot.tensor.buffer instanceof SharedArrayBuffer) {
    return { labels, indices, shared: { data: slot.data.byteOffset, tensor: slot.tensor.byteOffset, values: slot.data.length } };
  }
  return {
    data: slot.data.buffer as ArrayBuffer,
    labels,
    indices,
    ...(slot.tensor ? { tensor: slot.tensor.buffer as ArrayBuffer } : {}),
  };
}

/**
 * Where a pool's batch buffers live: `transfer`, plain buffers moved to a worker and back for each
 * batch; `local`, buffers that never leave this thread (with float32, in this thread's kernel memory);
 * `shared`, with float32, in a shared memory that workers fill in place (their kernels then work without
 * copies; the `float32.shared` option), falling back to `transfer` where no shared memory can be had.
 */
export type SlotPlacement = 'transfer' | 'local' | 'shared';

/**
 * A fixed pool of batch buffers, allocated once: memory stays flat however many epochs run. Worker threads
 * fill uint8 batches in place after a transfer (plain ArrayBuffers: V8 copies into SharedArrayBuffers with
 * relaxed atomics, measured 30–60 µs slower per 196 KB sample read from the memory map); with
 * `float32.shared`, float32 batches in shared memory, where the kernel saves more than that copy costs.
 */
export class BatchSlots {
  readonly slots: BatchSlot[];
  /** Bytes of batch buffers this pool allocated (once, at construction). */
  readonly bytes: number;
  /** With placement `shared` and float32: the memory the slots live in, for the workers to join. */
  readonly sharedMemory: WebAssembly.Memory | undefined;
  readonly #free: number[];

  /**
   * With float32 and placement `local` or `shared`, the slots' pixels and tensors are laid out in one
   * WebAssembly memory where the normalize kernel reads and writes them without copies (see SlotPlacement).
   */
  constructor(count: number, batchSize: number, shape: Shape, float32: boolean, placement: SlotPlacement = 'transfer') {
    const values = batchSize * shape[0] * shape[1] * shape[2];
    const perBatch = values * (float32 ? 5 : 1) + batchSize * 8;
    const what = `batches of ${batchSize} samples of ${shape.join('×')}${float32 ? ' (uint8 and float32)' : ''}`;
    if (perBatch > MAX_BATCH_BYTES) {
      throw new InvalidOptionError('batchSize', `Expected a batch of at most ${MAX_BATCH_BYTES} bytes (4 GiB) for batchSize but ${what} take ${perBatch} bytes each`);
    }
    this.bytes = count * perBatch;
    // Tensors first (4-byte aligned whatever the pixel count), each slot at a 64-byte boundary.
    const stride = (values * 5 + 63) & ~63;
    const shared = float32 && placement === 'shared' ? sharedKernelArena(count * stride) : null;
    const arena = shared ? { buffer: shared.memory.buffer, offset: shared.offset } : float32 && placement === 'local' ? kernelArena(count * stride) : null;
    this.sharedMemory = shared?.memory;
    try {
      this.slots = Array.from({ length: count }, (_, id) =>
        arena
          ? {
              id,
              tensor: new Float32Array(arena.buffer, arena.offset + id * stride, values),
              data: new Uint8Array(arena.buffer, arena.offset + id * stride + values * 4, values),
              labels: new Int32Array(batchSize),
              indices: new Uint32Array(batchSize),
            }
          : slotFromBuffers(id, {
              data: new ArrayBuffer(values),
              labels: new ArrayBuffer(batchSize * 4),
              indices: new ArrayBuffer(batchSize * 4),
              ...(float32 ? { tensor: new ArrayBuffer(values * 4) } : {}),
            }),
      );
    } catch (cause) {
      if (!(cause instanceof RangeError)) throw cause;
      throw new InvalidOptionError('batchSize', `Cannot allocate ${count} ${what} (${this.bytes} bytes): ${cause.message}; use a smaller batchSize or fewer workers`);
    }
    this.#free = this.slots.map((s) => s.id).reverse();
    for (const slot of this.slots) {
      prefault(slot.data);
      if (slot.tensor) prefault(new Uint8Array(slot.tensor.buffer, slot.tensor.byteOffset, slot.tensor.byteLength));
    }
  }

  /** Puts back a slot whose buffers came back from a worker (the old views were detached by the transfer). */
  restore(id: number, buffers: SlotBuffers): BatchSlot {
    const slot = slotFromBuffers(id, buffers, this.sharedMemory?.buffer);
    this.slots[id] = slot;
    return slot;
  }

  get available(): number {
    return this.#free.length;
  }

  acquire(): BatchSlot | undefined {
    const id = this.#free.pop();
    return id === undefined ? undefined : this.slots[id];
  }

  release(slot: BatchSlot): void {
    this.#free.push(slot.id);
  }
}

/**
 * Writes one byte per memory page of `bytes`, so that the system maps them now, once, rather than on the
 * first batches: those are the ones the loader's placement probe measures, and a first write to each 4 KiB
 * page of a fresh buffer costs a page fault (measured: the probe then kept float32 batches in this thread
 * in some runs although its workers filled them 1.5–1.8× faster).
 */
function prefault(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 0;
}
