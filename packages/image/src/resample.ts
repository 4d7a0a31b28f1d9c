import { invalidOption, type RawImage } from '@imgstore/core';
import { RESAMPLE_WASM_BASE64 } from './resample-wasm.js';

/**
 * imgstore's resampler: RGB uint8 pixels to a new size with a Lanczos-3 kernel (widened by the scale
 * factor when shrinking, so it also filters out detail the output cannot hold), synchronous, in
 * WebAssembly with SIMD (assembly/resample.ts). Conversion uses it for plain JPEGs instead of a sharp
 * pipeline: the same filter sharp applies by default, without the per-image thread hops that made
 * resizing cost 2.5 ms of CPU per corpus photo in sharp against ~0.5 ms here.
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
 */

/** The output of a resample: exactly width × height (`cover` crops the centre, `fill` stretches), or the shorter side scaled to `shorterSide`. */
export type ResampleTarget = { width: number; height: number; fit: 'cover' | 'fill' } | { shorterSide: number };

const Q = 14;
const ONE = 1 << Q;
const LOBES = 3;

/** One axis: for each output pixel the first tap, and `taps` Q14 weights. */
interface AxisPlan {
  taps: number;
  starts: Int32Array;
  weights: Int16Array;
}

/** Plans one axis (see the definition above). */
function planAxis(length: number, n: number, f: number): AxisPlan {
  const stretch = Math.max(f, 1);
  const support = LOBES * stretch;
  const taps = Math.min(length, Math.ceil(2 * support));
  const starts = new Int32Array(n);
  const weights = new Int16Array(n * taps);
  const w = new Float64Array(taps);
  const centre = (length - n * f) / 2;
  const sin1 = Math.sin(Math.PI / stretch);
  const cos1 = Math.cos(Math.PI / stretch);
  const sin3 = Math.sin(Math.PI / stretch / LOBES);
  const cos3 = Math.cos(Math.PI / stretch / LOBES);
  for (let i = 0; i < n; i++) {
    const u = (i + 0.5) * f - 0.5 + centre;
    const start = Math.max(0, Math.min(Math.floor(u - support) + 1, length - taps));
    // lanczos3((start + k − u) / stretch) for every tap, the two sines stepped by angle addition rather
    // than computed per tap (they were most of the planning time; the weights agree to ~1e-15).
    const angle = (Math.PI * (start - u)) / stretch;
    let s1 = Math.sin(angle);
    let c1 = Math.cos(angle);
    let s3 = Math.sin(angle / LOBES);
    let c3 = Math.cos(angle / LOBES);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const x = (start + k - u) / stretch;
      const px = Math.PI * x;
      // Near x = 0 the stepped sines lose their relative precision: there they are computed.
      const value =
        x === 0
          ? 1
          : x <= -LOBES || x >= LOBES
            ? 0
            : Math.abs(x) < 0.01
              ? (LOBES * Math.sin(px) * Math.sin(px / LOBES)) / (px * px)
              : (LOBES * s1 * s3) / (px * px);
      w[k] = value;
      sum += value;
      const s1Next = s1 * cos1 + c1 * sin1;
      c1 = c1 * cos1 - s1 * sin1;
      s1 = s1Next;
      const s3Next = s3 * cos3 + c3 * sin3;
      c3 = c3 * cos3 - s3 * sin3;
      s3 = s3Next;
    }
    let total = 0;
    for (let k = 0; k < taps; k++) {
      const q = Math.round((w[k]! / sum) * ONE);
      weights[i * taps + k] = q;
      total += q;
    }
    // The rounding residue goes to the tap nearest u (the first of two as near): chosen by position,
    // not by comparing weights, which are equal in pairs and may differ in their last bits.
    const nearest = Math.min(taps - 1, Math.max(0, Math.round(u) - start));
    weights[i * taps + nearest] = weights[i * taps + nearest]! + ONE - total;
    starts[i] = start;
  }
  return { taps, starts, weights };
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
  srcHeight: number;
  width: number;
  height: number;
  src: number;
  firstColumn: number;
  regionBytes: number;
  tmp: number;
  tmpStride: number;
  out: number;
  rowTable: number;
  rowTaps: number;
  columnTable: number;
  columnTaps: number;
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

  /** Plans resampling width × height RGB pixels to `target`; returns where to write those pixels (valid until the next prepare). */
  prepare(width: number, height: number, target: ResampleTarget): Buffer {
    const size = resampleGeometry(width, height, target);
    const columns = planAxis(width, size.width, size.fx);
    const rows = planAxis(height, size.height, size.fy);
    const firstColumn = columns.starts[0]!;
    const regionBytes = (columns.starts[size.width - 1]! + columns.taps - firstColumn) * 3;
    const rowTaps = rows.taps + (rows.taps & 1);
    const columnTaps = columns.taps + (columns.taps & 1);
    const rowEntry = 16 + rowTaps * 8;
    const columnEntry = 16 + columnTaps * 8;
    const tmpStride = align16(regionBytes + 16);
    // Each buffer is followed by at least 16 bytes of padding: the kernels read and write whole vectors.
    // The source has a whole row more: an odd tap count is padded with a zero weight on the next row.
    const base = align16(this.#kernels.heapBase());
    const src = base;
    const tmp = src + align16(width * (height + 1) * 3 + 16);
    const out = tmp + tmpStride * size.height + 16;
    const rowTable = out + align16(size.width * size.height * 3 + 16);
    const columnTable = rowTable + align16(rowEntry * size.height);
    const end = columnTable + columnEntry * size.width;
    const memory = this.#kernels.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));

    const i16 = new Int16Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    for (let r = 0; r < size.height; r++) {
      const entry = rowTable + r * rowEntry;
      i32.fill(0, entry >> 2, (entry + rowEntry) >> 2);
      i32[entry >> 2] = rows.starts[r]!;
      // Pair p = taps 2p, 2p+1 as [w0 w1 w0 w1 w0 w1 w0 w1] (four columns at a time).
      for (let k = 0; k < rows.taps; k++) {
        const weight = rows.weights[r * rows.taps + k]!;
        const lane = (entry + 16) / 2 + (k >> 1) * 8 + (k & 1);
        for (let l = 0; l < 8; l += 2) i16[lane + l] = weight;
      }
    }
    for (let c = 0; c < size.width; c++) {
      const entry = columnTable + c * columnEntry;
      i32.fill(0, entry >> 2, (entry + columnEntry) >> 2);
      i32[entry >> 2] = columns.starts[c]! - firstColumn;
      for (let k = 0; k < columns.taps; k++) {
        const weight = columns.weights[c * columns.taps + k]!;
        // Pair p = taps 2p, 2p+1 as [w0 w1 w0 w1 w0 w1 0 0] (R, G, B lanes).
        const lane = (entry + 16) / 2 + (k >> 1) * 8 + (k & 1);
        i16[lane] = weight;
        i16[lane + 2] = weight;
        i16[lane + 4] = weight;
      }
    }
    this.#prepared = { srcWidth: width, srcHeight: height, width: size.width, height: size.height, src, firstColumn, regionBytes, tmp, tmpStride, out, rowTable, rowTaps, columnTable, columnTaps };
    return Buffer.from(memory.buffer, src, width * height * 3);
  }

  /** Resamples the pixels written into the buffer `prepare` returned. */
  run(): RawImage {
    const p = this.#prepared;
    if (!p) throw new Error('Resampler.run() before prepare()');
    this.#prepared = undefined;
    const k = this.#kernels;
    k.resampleRows(p.src + p.firstColumn * 3, p.srcWidth * 3, p.tmp, p.tmpStride, p.regionBytes, p.height, p.rowTable, p.rowTaps);
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
