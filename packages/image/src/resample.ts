import { invalidOption, type RawImage } from '@imgstore/core';
import { RESAMPLE_WASM_BASE64 } from './resample-wasm.js';

/**
 * imgstore's resampler: RGB uint8 pixels to a new size with a Lanczos-3 kernel (widened by the scale
 * factor when shrinking, so it also filters out detail the output cannot hold), synchronous, in
 * WebAssembly with SIMD (assembly/resample.ts). Conversion uses it for plain JPEGs instead of a sharp
 * pipeline: the same filter sharp applies by default, without the per-image thread hops that made
 * resizing cost 2.5 ms of CPU per corpus photo in sharp against ~0.45 ms here (planning included).
 *
 * Definition (what tests check the kernels against): for each axis of source length L, output length
 * n and scale f (source pixels per output pixel), output pixel i samples around
 * u = (i + 0.5)·f − 0.5 + (L − n·f)/2, i.e. the output window is centred on the source. The taps are
 * the ceil(2·3·max(f, 1)) source pixels from floor(u − support) + 1, moved inside the image at the
 * edges; tap t weighs lanczos3((t − u) / max(f, 1)), lanczos3(x) = 3·sin(πx)·sin(πx/3) / (πx)² for
 * 0 < |x| < 3, 1 at 0, 0 beyond; the weights are normalised, rounded to Q14
 * (multiples of 2^-14), and the one of the tap nearest u (rounding u half up) adjusted so they sum to
 * exactly 2^14. Rows are resampled first
 * (over the source columns the output needs), then columns; each pass rounds (+2^13, >> 14) and clamps
 * to 0..255.
 *
 * A source decoded at 1/d of its size (libjpeg-turbo's DCT scaling, d = 2, 4 or 8: pixel j of the
 * scaled image covers source pixels d·j to d·j + d − 1) is resampled with the same geometry: L, n and f
 * are the full-size axis's, and each output pixel samples the scaled image at u' = (u + 0.5) / d − 0.5
 * with the kernel stretched by max(f / d, 1) over the ceil(L / d) scaled pixels. Without that, the
 * rounding up of an odd L / d would shift the whole output by up to half a scaled pixel.
 */

/** The output of a resample: exactly width × height (`cover` crops the centre, `fill` stretches), or the shorter side scaled to `shorterSide`. */
export type ResampleTarget = { width: number; height: number; fit: 'cover' | 'fill' } | { shorterSide: number };

const Q = 14;
const ONE = 1 << Q;
const LOBES = 3;

/** Taps per output pixel along an axis of `length` source pixels shrunk by `f` (see the definition above). */
function tapCount(length: number, f: number): number {
  return Math.min(length, Math.ceil(2 * LOBES * Math.max(f, 1)));
}

/** Pixels along an axis of `length` decoded at 1/`denom` scale (libjpeg-turbo's TJSCALED: rounded up). */
export function scaledLength(length: number, denom: number): number {
  return Math.ceil(length / denom);
}

/** Bytes of one output pixel's entry in a kernel table: its first tap, 12 bytes of padding, then a vector per pair of taps. */
function entryBytes(taps: number): number {
  return 16 + ((taps + 1) >> 1) * 16;
}

/** Scratch for planAxis: a pixel's weights, then sin and cos of each tap's angle step. */
let scratch = new Float64Array(3 * 64);

/**
 * Plans one axis (see the definition above) straight into the kernels' table for it at byte `table` of
 * `memory`: per output pixel its first tap relative to the first output pixel's, then each pair of
 * Q14 weights [w0 w1] repeated `lanes` times in a vector (4: rows, every lane; 3: columns, R G B and a
 * zero). An odd tap count ends with a zero weight. Returns the first taps of the first and last output pixels.
 *
 * With θ = π·d / (3·stretch) for a tap d source pixels from u, lanczos3 is sin(3θ)·sin(θ) / (3θ²), and
 * sin(3θ) = s·(3 − 4s²) with s = sin θ: so each weight is s²·(3 − 4s²) / d² up to a factor that the
 * normalisation removes, with s from the pixel's sin and cos of θ at its first tap and a per-axis table
 * of the per-tap steps (one sine and one cosine per output pixel, none per tap; the weights agree with
 * the definition's to ~1e-16).
 */
export function planAxis(
  length: number,
  n: number,
  f: number,
  memory: ArrayBuffer,
  table: number,
  lanes: 3 | 4,
  denom = 1,
): { first: number; last: number } {
  // The scaled axis (see the definition above): denom 1 is the source itself.
  const fullLength = length;
  length = scaledLength(fullLength, denom);
  const stretch = Math.max(f / denom, 1);
  const support = LOBES * stretch;
  const taps = tapCount(length, f / denom);
  const pairs = (taps + 1) >> 1;
  const entry = entryBytes(taps) >> 2;
  const i32 = new Int32Array(memory, table, entry * n);
  if (scratch.length < 3 * taps) scratch = new Float64Array(3 * taps);
  const w = scratch;
  const step = Math.PI / (LOBES * stretch);
  for (let k = 0; k < taps; k++) {
    w[taps + k] = Math.sin(k * step);
    w[2 * taps + k] = Math.cos(k * step);
  }
  const atCentre = LOBES * step * step; // lanczos3(0) = 1, at the same scale as s²(3 − 4s²) / d²
  const near = 0.01 * stretch;
  const centre = (fullLength - n * f) / 2;
  let first = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const full = (i + 0.5) * f - 0.5 + centre;
    const u = denom === 1 ? full : (full + 0.5) / denom - 0.5;
    const start = Math.max(0, Math.min(Math.floor(u - support) + 1, length - taps));
    if (i === 0) first = start;
    last = start;
    const d0 = start - u;
    const sin0 = Math.sin(d0 * step);
    const cos0 = Math.cos(d0 * step);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const d = d0 + k;
      let value = 0;
      if (d > -support && d < support) {
        if (Math.abs(d) >= near) {
          const s = sin0 * w[2 * taps + k]! + cos0 * w[taps + k]!;
          value = (s * s * (3 - 4 * s * s)) / (d * d);
        } else if (d === 0) {
          value = atCentre;
        } else {
          // Near the centre s is tiny and loses its relative precision when combined from the tables: computed.
          value = (Math.sin(LOBES * d * step) * Math.sin(d * step)) / (d * d);
        }
      }
      w[k] = value;
      sum += value;
    }
    const scale = ONE / sum;
    let total = 0;
    for (let k = 0; k < taps; k++) {
      const q = Math.floor(w[k]! * scale + 0.5); // Math.round, several times faster in V8
      w[k] = q;
      total += q;
    }
    // The rounding residue goes to the tap nearest u (the first of two as near): chosen by position,
    // not by comparing weights, which are equal in pairs and may differ in their last bits.
    w[Math.min(taps - 1, Math.max(0, Math.round(u) - start))]! += ONE - total;
    const e = i * entry;
    i32[e] = start - first;
    i32[e + 1] = i32[e + 2] = i32[e + 3] = 0;
    for (let p = 0; p < pairs; p++) {
      const pair = (w[2 * p]! & 0xffff) | ((2 * p + 1 < taps ? w[2 * p + 1]! : 0) << 16);
      const v = e + 4 + 4 * p;
      i32[v] = i32[v + 1] = i32[v + 2] = pair;
      i32[v + 3] = lanes === 4 ? pair : 0;
    }
  }
  return { first, last };
}

/** The output size and the per-axis scale factors of a resample. */
export function resampleGeometry(width: number, height: number, target: ResampleTarget): { width: number; height: number; fx: number; fy: number } {
  if ('shorterSide' in target) {
    const s = Math.min(width, height) / target.shorterSide;
    const w = width <= height ? target.shorterSide : Math.round(width / s);
    const h = width <= height ? Math.round(height / s) : target.shorterSide;
    return { width: w, height: h, fx: width / w, fy: height / h };
  }
  if (target.fit === 'cover') {
    const s = Math.min(width / target.width, height / target.height);
    return { width: target.width, height: target.height, fx: s, fy: s };
  }
  return { width: target.width, height: target.height, fx: width / target.width, fy: height / target.height };
}

const align16 = (n: number) => (n + 15) & ~15;

let compiled: WebAssembly.Module | undefined;

interface Kernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  resampleRows(src: number, srcStride: number, dst: number, dstStride: number, rowBytes: number, rows: number, table: number, taps: number): void;
  resampleColumns(src: number, srcStride: number, dst: number, dstStride: number, columns: number, rows: number, table: number, taps: number): void;
}

/** A prepared resample: where everything lives in the resampler's memory. */
interface Prepared {
  srcWidth: number;
  width: number;
  height: number;
  /** The first source pixel the output reads. */
  src: number;
  regionBytes: number;
  tmp: number;
  tmpStride: number;
  out: number;
  rowTable: number;
  rowTaps: number;
  columnTable: number;
  columnTaps: number;
  /** The source pixels the kernels weigh (see Resampler.sourceRegion). */
  region: SourceRegion;
}

/** A rectangle of source pixels: columns x to x + width − 1, rows y to y + height − 1. */
export interface SourceRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * One WebAssembly instance and its memory (grown as needed, never shrunk: a thread that resamples keeps
 * one). `prepare` plans a resample and returns the memory to put the source pixels in — libjpeg-turbo
 * decodes straight into it —, `run` resamples and returns a copy of the output.
 */
export class Resampler {
  readonly #kernels: Kernels;
  #prepared: Prepared | undefined;

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(RESAMPLE_WASM_BASE64, 'base64'));
    this.#kernels = new WebAssembly.Instance(compiled, {}).exports as unknown as Kernels;
  }

  /** Bytes of memory the instance holds. */
  get memoryBytes(): number {
    return this.#kernels.memory.buffer.byteLength;
  }

  /**
   * Plans resampling width × height RGB pixels to `target`; returns where to write those pixels (valid
   * until the next prepare). With `denom` (2, 4, 8) the pixels written are the image decoded at 1/denom
   * of width × height (scaledLength of each side), resampled as if from the full size.
   */
  prepare(fullWidth: number, fullHeight: number, target: ResampleTarget, denom = 1): Buffer {
    const size = resampleGeometry(fullWidth, fullHeight, target);
    const width = scaledLength(fullWidth, denom);
    const height = scaledLength(fullHeight, denom);
    const rowTaps = tapCount(height, size.fy / denom);
    const columnTaps = tapCount(width, size.fx / denom);
    // Each buffer is followed by at least 16 bytes of padding: the kernels read and write whole vectors.
    // The source has a whole row more: an odd tap count is padded with a zero weight on the next row.
    const rowTable = align16(this.#kernels.heapBase());
    const columnTable = rowTable + align16(entryBytes(rowTaps) * size.height);
    const src = columnTable + align16(entryBytes(columnTaps) * size.width);
    const tmp = src + align16(width * (height + 1) * 3 + 16);
    // At most this much: the intermediate rows hold only the columns the output reads, known once planned.
    const end = tmp + align16(width * 3 + 16) * size.height + 16 + align16(size.width * size.height * 3 + 16);
    const memory = this.#kernels.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    const rows = planAxis(fullHeight, size.height, size.fy, memory.buffer, rowTable, 4, denom);
    const columns = planAxis(fullWidth, size.width, size.fx, memory.buffer, columnTable, 3, denom);
    const regionBytes = (columns.last + columnTaps - columns.first) * 3;
    const tmpStride = align16(regionBytes + 16);
    this.#prepared = {
      srcWidth: width,
      width: size.width,
      height: size.height,
      // The rows and columns the output reads: the kernels start at the first of each.
      src: src + rows.first * width * 3 + columns.first * 3,
      regionBytes,
      tmp,
      tmpStride,
      out: tmp + tmpStride * size.height + 16,
      rowTable,
      rowTaps: rowTaps + (rowTaps & 1),
      columnTable,
      columnTaps: columnTaps + (columnTaps & 1),
      region: { x: columns.first, y: rows.first, width: columns.last + columnTaps - columns.first, height: rows.last + rowTaps - rows.first },
    };
    return Buffer.from(memory.buffer, src, width * height * 3);
  }

  /**
   * The pixels of the prepared source (at 1/denom when scaled) that get a weight: only these need to be
   * written into the buffer `prepare` returned (a `cover` crop leaves the rest unread, or read with a
   * zero weight: an odd tap count's padding).
   */
  get sourceRegion(): SourceRegion {
    if (!this.#prepared) throw new Error('Resampler.sourceRegion before prepare()');
    return { ...this.#prepared.region };
  }

  /** Resamples the pixels written into the buffer `prepare` returned. */
  run(): RawImage {
    const p = this.#prepared;
    if (!p) throw new Error('Resampler.run() before prepare()');
    this.#prepared = undefined;
    const k = this.#kernels;
    k.resampleRows(p.src, p.srcWidth * 3, p.tmp, p.tmpStride, p.regionBytes, p.height, p.rowTable, p.rowTaps);
    k.resampleColumns(p.tmp, p.tmpStride, p.out, p.width * 3, p.width, p.height, p.columnTable, p.columnTaps);
    const data = new Uint8Array(k.memory.buffer, p.out, p.width * p.height * 3).slice();
    return { data, width: p.width, height: p.height, channels: 3 };
  }
}

let shared: Resampler | undefined;

/**
 * Resamples RGB uint8 HWC pixels (synchronously, in this thread) to `target`: exactly width × height
 * (`fit: 'cover'` scales the shorter side and crops the centre; `'fill'` stretches) or `shorterSide`
 * (aspect ratio kept). Lanczos-3, see the definition at the top of this file.
 */
export function resampleRgb(pixels: Uint8Array, width: number, height: number, target: ResampleTarget): RawImage {
  if (pixels.length !== width * height * 3) throw invalidOption('pixels', `${width}×${height}×3 bytes`, `${pixels.length} bytes`);
  shared ??= new Resampler();
  shared.prepare(width, height, target).set(pixels);
  return shared.run();
}
