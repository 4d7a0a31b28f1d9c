// AssemblyScript: the two passes of imgstore's separable resampler for interleaved RGB uint8 pixels,
// with 128-bit SIMD. Weights are Q14 fixed point; every sum is rounded (+2^13, >> 14) and clamped to
// 0..255 exactly as packages/image/src/resample.ts documents. Compiled into src/resample-wasm.ts by
// `npm run build:wasm`; the caller lays out memory and pads every buffer (see resample.ts).

/** First byte the caller may use. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Vertical pass: dst row r = Σ_k weight[r][k] · src row (start[r] + k), over `rowBytes` bytes, 16 at a
 * time (rows are padded to 16), two taps per step: the two rows' bytes interleaved and widened to 16
 * bits, then a dot product with [w0 w1 w0 w1 …] (pmaddwd). `table` per output row: i32 start (rows
 * from src), 12 bytes padding, then taps / 2 weight vectors.
 */
export function resampleRows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rowBytes: i32, rows: i32, table: usize, taps: i32): void {
  const pairs = taps >> 1;
  const entry = 16 + pairs * 16;
  const half = i32x4.splat(1 << 13);
  for (let r = 0; r < rows; r++) {
    const t = table + <usize>(r * entry);
    const first = src + <usize>(load<i32>(t) * srcStride);
    const out = dst + <usize>(r * dstStride);
    for (let i = 0; i < rowBytes; i += 16) {
      let a0 = half;
      let a1 = half;
      let a2 = half;
      let a3 = half;
      let p = first + <usize>i;
      let w = t + 16;
      for (let k = 0; k < pairs; k++) {
        const weights = v128.load(w);
        const x = v128.load(p);
        const y = v128.load(p + <usize>srcStride);
        const lo = i8x16.shuffle(x, y, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const hi = i8x16.shuffle(x, y, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), weights));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), weights));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), weights));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), weights));
        p += <usize>(srcStride * 2);
        w += 16;
      }
      const lo16 = i16x8.narrow_i32x4_s(i32x4.shr_s(a0, 14), i32x4.shr_s(a1, 14));
      const hi16 = i16x8.narrow_i32x4_s(i32x4.shr_s(a2, 14), i32x4.shr_s(a3, 14));
      v128.store(out + <usize>i, i8x16.narrow_i16x8_u(lo16, hi16));
    }
  }
}

/**
 * Horizontal pass: dst pixel c of each row = Σ_k weight[c][k] · src pixel (start[c] + k), two taps per
 * step (a dot product of [R0 R1 G0 G1 B0 B1 0 0] with [w0 w1 w0 w1 w0 w1 0 0]), four rows at a time so
 * that each weight vector is loaded once for the four. `table` per output column: i32 start (pixels
 * from the start of a src row), 12 bytes padding, then taps / 2 weight vectors. Writes 4 bytes per pixel (the 4th is overwritten by the next
 * pixel of the row) but 3 for a row's last pixel: the rows of dst are not padded.
 */
export function resampleColumns(src: usize, srcStride: i32, dst: usize, dstStride: i32, columns: i32, rows: i32, table: usize, taps: i32): void {
  const pairs = taps >> 1;
  const entry = 16 + pairs * 16;
  const half = i32x4.splat(1 << 13);
  const pick = i8x16(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1);
  const s = <usize>srcStride;
  const o = <usize>dstStride;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const row = src + <usize>r * s;
    const out = dst + <usize>r * o;
    for (let c = 0; c < columns; c++) {
      const t = table + <usize>(c * entry);
      let p = row + <usize>(load<i32>(t) * 3);
      let w = t + 16;
      let a0 = half;
      let a1 = half;
      let a2 = half;
      let a3 = half;
      for (let k = 0; k < pairs; k++) {
        const weights = v128.load(w);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i8x16.swizzle(v128.load64_zero(p), pick), weights));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i8x16.swizzle(v128.load64_zero(p + s), pick), weights));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i8x16.swizzle(v128.load64_zero(p + 2 * s), pick), weights));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i8x16.swizzle(v128.load64_zero(p + 3 * s), pick), weights));
        p += 6;
        w += 16;
      }
      const bytes = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_s(i32x4.shr_s(a0, 14), i32x4.shr_s(a1, 14)),
        i16x8.narrow_i32x4_s(i32x4.shr_s(a2, 14), i32x4.shr_s(a3, 14)),
      );
      const q = out + <usize>(c * 3);
      if (c + 1 < columns) {
        store<u32>(q, i32x4.extract_lane(bytes, 0));
        store<u32>(q + o, i32x4.extract_lane(bytes, 1));
        store<u32>(q + 2 * o, i32x4.extract_lane(bytes, 2));
        store<u32>(q + 3 * o, i32x4.extract_lane(bytes, 3));
      } else {
        storePixel(q, i32x4.extract_lane(bytes, 0));
        storePixel(q + o, i32x4.extract_lane(bytes, 1));
        storePixel(q + 2 * o, i32x4.extract_lane(bytes, 2));
        storePixel(q + 3 * o, i32x4.extract_lane(bytes, 3));
      }
    }
  }
  for (; r < rows; r++) {
    const row = src + <usize>r * s;
    const out = dst + <usize>r * o;
    for (let c = 0; c < columns; c++) {
      const t = table + <usize>(c * entry);
      let p = row + <usize>(load<i32>(t) * 3);
      let w = t + 16;
      let acc = half;
      for (let k = 0; k < pairs; k++) {
        acc = i32x4.add(acc, i32x4.dot_i16x8_s(i8x16.swizzle(v128.load64_zero(p), pick), v128.load(w)));
        p += 6;
        w += 16;
      }
      const n16 = i16x8.narrow_i32x4_s(i32x4.shr_s(acc, 14), i32x4.shr_s(acc, 14));
      storePixel(out + <usize>(c * 3), i32x4.extract_lane(i8x16.narrow_i16x8_u(n16, n16), 0));
    }
  }
}

/** The 3 bytes of an RGB pixel held in the low bytes of `rgb`. */
@inline
function storePixel(at: usize, rgb: i32): void {
  store<u16>(at, <u16>rgb);
  store<u8>(at + 2, <u8>(rgb >>> 16));
}
