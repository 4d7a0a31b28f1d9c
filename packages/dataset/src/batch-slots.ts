import { InvalidOptionError, type Shape } from '@imgstore/core';
import { kernelArena } from './normalize-kernel.js';

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

/** The buffers of a slot, moved (transferred, not copied) to a worker thread and back for each batch. */
export interface SlotBuffers {
  data: ArrayBuffer;
  labels: ArrayBuffer;
  indices: ArrayBuffer;
  tensor?: ArrayBuffer;
}

/** The buffers to list as transferable when a slot moves between threads. */
export function transferList(buffers: SlotBuffers): ArrayBuffer[] {
  return buffers.tensor ? [buffers.data, buffers.labels, buffers.indices, buffers.tensor] : [buffers.data, buffers.labels, buffers.indices];
}

export function slotFromBuffers(id: number, buffers: SlotBuffers): BatchSlot {
  return {
    id,
    data: new Uint8Array(buffers.data),
    labels: new Int32Array(buffers.labels),
    indices: new Uint32Array(buffers.indices),
    ...(buffers.tensor ? { tensor: new Float32Array(buffers.tensor) } : {}),
  };
}

export function slotBuffers(slot: BatchSlot): SlotBuffers {
  return {
    data: slot.data.buffer as ArrayBuffer,
    labels: slot.labels.buffer as ArrayBuffer,
    indices: slot.indices.buffer as ArrayBuffer,
    ...(slot.tensor ? { tensor: slot.tensor.buffer as ArrayBuffer } : {}),
  };
}

/**
 * A fixed pool of batch buffers, allocated once: memory stays flat however many epochs run. Worker threads
 * fill them in place after a transfer (plain ArrayBuffers: V8 copies into SharedArrayBuffers with relaxed
 * atomics, measured 30–60 µs slower per 196 KB sample read from the memory map).
 */
export class BatchSlots {
  readonly slots: BatchSlot[];
  /** Bytes of batch buffers this pool allocated (once, at construction). */
  readonly bytes: number;
  readonly inPlace: boolean;
  readonly #free: number[];

  /**
   * `inPlace`: the slots never leave this thread, so with float32 their pixels and tensors are laid out in
   * one WebAssembly memory where the normalize kernel reads and writes them without copies.
   */
  constructor(count: number, batchSize: number, shape: Shape, float32: boolean, inPlace = false) {
    const values = batchSize * shape[0] * shape[1] * shape[2];
    const perBatch = values * (float32 ? 5 : 1) + batchSize * 8;
    const what = `batches of ${batchSize} samples of ${shape.join('×')}${float32 ? ' (uint8 and float32)' : ''}`;
    if (perBatch > MAX_BATCH_BYTES) {
      throw new InvalidOptionError('batchSize', `Expected a batch of at most ${MAX_BATCH_BYTES} bytes (4 GiB) for batchSize but ${what} take ${perBatch} bytes each`);
    }
    this.bytes = count * perBatch;
    this.inPlace = inPlace;
    // Tensors first (4-byte aligned whatever the pixel count), each slot at a 64-byte boundary.
    const stride = (values * 5 + 63) & ~63;
    const arena = float32 && inPlace ? kernelArena(count * stride) : null;
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
  }

  /** Puts back a slot whose buffers came back from a worker (the old views were detached by the transfer). */
  restore(id: number, buffers: SlotBuffers): BatchSlot {
    const slot = slotFromBuffers(id, buffers);
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
