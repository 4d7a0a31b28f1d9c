/** [height, width, channels]: pixels are stored row-major, height × width × channels (HWC). */
export type Shape = readonly [height: number, width: number, channels: number];

/** Decoded pixels: uint8, HWC, `channels` interleaved (3 = RGB). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** One stored record as codecs see it: what gets serialized, minus its position in the store. */
export interface SampleRecord {
  /** Path of the source relative to the converted folder, with `/` separators. */
  name: string;
  /** Class index into the header's `labelNames`, or null for unlabeled data (and in multi-label stores). */
  label: number | null;
  /**
   * Multi-label stores (format 1.1, header `multiLabel: true`): the sample's class indices into the
   * header's `labelNames`, ascending, without repeats (possibly none). Absent in other stores.
   */
  labels?: number[];
  /**
   * Format 1.1: any JSON-like value stored with the sample (boxes, captions, ids), as msgpack. Absent
   * when the sample has none.
   */
  meta?: unknown;
  shape: Shape;
  /** Element type of `data`; format v1 stores only `uint8`. */
  dtype: 'uint8';
  /** Pixel bytes, HWC; length is the product of `shape`. */
  data: Uint8Array;
}

/** A record read back from a store, with its index. `data` belongs to the caller. */
export interface Sample extends SampleRecord {
  index: number;
}

/**
 * True for the shape of a variable-size store, `[0, 0, channels]`: height and width vary per record
 * (converted keeping the aspect ratio or the original size), only the channels are shared.
 */
export function isVariableShape(shape: Shape): boolean {
  return shape[0] === 0 && shape[1] === 0;
}

/** Number of bytes a shape holds at one byte per element. */
export function shapeByteLength(shape: Shape): number {
  return shape[0] * shape[1] * shape[2];
}
