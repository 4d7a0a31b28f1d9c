// AssemblyScript: uint8 pixels to normalized float32, value * gain[c] + offset[c], with 128-bit SIMD.
// rgbToPlanes and interleaved3 compute in float64 (two lanes) and round once to float32 at the store: the
// same operations, in the same order, as the plain JavaScript `src[i] * gain + offset` stored into a
// Float32Array, so bit for bit equal to it. Plain float32 arithmetic would not be within 1 ulp (with a mean
// subtracted the sum cancels, and the rounding of the offset alone is up to 301 ulps of a result near 0);
// rgbToPlanesSplit (at the end) is a float32 form that avoids the cancellation, within 1 ulp, twice the
// values per instruction. Compiled into src/normalize-wasm.ts by `npm run build:wasm`; the caller lays
// out memory (see normalize-kernel.ts).

/** First byte the caller may use. */
export function heapBase(): usize {
  return __heap_base;
}

/** Four integers (0..255: signed conversion is exact and one instruction on x64) → two float64 vectors, times gain plus offset, → one float32 vector. */
// @ts-ignore: decorator
@inline
function affine4(q: v128, g: v128, b: v128): v128 {
  const lo = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(q), g), b);
  const hi = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(q, q, 2, 3, 2, 3)), g), b);
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** 16 bytes of one channel → 16 floats at `out`. */
// @ts-ignore: decorator
@inline
function affine16(x: v128, g: v128, b: v128, out: usize): void {
  const lo = i16x8.extend_low_i8x16_u(x);
  const hi = i16x8.extend_high_i8x16_u(x);
  v128.store(out, affine4(i32x4.extend_low_i16x8_u(lo), g, b));
  v128.store(out + 16, affine4(i32x4.extend_high_i16x8_u(lo), g, b));
  v128.store(out + 32, affine4(i32x4.extend_low_i16x8_u(hi), g, b));
  v128.store(out + 48, affine4(i32x4.extend_high_i16x8_u(hi), g, b));
}

/**
 * Interleaved RGB (`pixels` × 3 bytes at `src`) → three planes of `pixels` floats at `dst`, `plane`
 * floats apart: the HWC → CHW transpose and the per-channel multiply-add in one pass.
 */
export function rgbToPlanes(src: usize, dst: usize, pixels: i32, plane: i32, g0: f64, g1: f64, g2: f64, b0: f64, b1: f64, b2: f64): void {
  const vg0 = f64x2.splat(g0);
  const vg1 = f64x2.splat(g1);
  const vg2 = f64x2.splat(g2);
  const vb0 = f64x2.splat(b0);
  const vb1 = f64x2.splat(b1);
  const vb2 = f64x2.splat(b2);
  const d0 = dst;
  const d1 = dst + <usize>(plane << 2);
  const d2 = dst + <usize>(plane << 3);
  let p = 0;
  for (; p + 16 <= pixels; p += 16) {
    const s = src + <usize>(p * 3);
    const x = v128.load(s);
    const y = v128.load(s, 16);
    const z = v128.load(s, 32);
    // 16 pixels = 48 bytes: gather each channel's 16 bytes (R at 0, 3, 6, ..., G at 1, 4, ..., B at 2, 5, ...).
    const r = i8x16.shuffle(i8x16.shuffle(x, y, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29);
    const g = i8x16.shuffle(i8x16.shuffle(x, y, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30);
    const b = i8x16.shuffle(i8x16.shuffle(x, y, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31);
    const o = <usize>(p << 2);
    affine16(r, vg0, vb0, d0 + o);
    affine16(g, vg1, vb1, d1 + o);
    affine16(b, vg2, vb2, d2 + o);
  }
  for (; p < pixels; p++) {
    const s = src + <usize>(p * 3);
    const o = <usize>(p << 2);
    store<f32>(d0 + o, <f32>(<f64>load<u8>(s) * g0 + b0));
    store<f32>(d1 + o, <f32>(<f64>load<u8>(s, 1) * g1 + b1));
    store<f32>(d2 + o, <f32>(<f64>load<u8>(s, 2) * g2 + b2));
  }
}

/**
 * `count` bytes at `src` → `count` floats at `dst`, in place order (HWC stays HWC; one channel is both),
 * with the gains and offsets repeating every 3 values (pass the same value thrice for one channel).
 */
export function interleaved3(src: usize, dst: usize, count: i32, g0: f64, g1: f64, g2: f64, b0: f64, b1: f64, b2: f64): void {
  // Value k takes channel k % 3; a pair of lanes (2j, 2j + 1) cycles through three patterns.
  const ga = f64x2.replace_lane(f64x2.splat(g0), 1, g1);
  const gb = f64x2.replace_lane(f64x2.splat(g2), 1, g0);
  const gc = f64x2.replace_lane(f64x2.splat(g1), 1, g2);
  const ba = f64x2.replace_lane(f64x2.splat(b0), 1, b1);
  const bb = f64x2.replace_lane(f64x2.splat(b2), 1, b0);
  const bc = f64x2.replace_lane(f64x2.splat(b1), 1, b2);
  let k = 0;
  // 12 values per step: 6 pairs, the three patterns twice.
  for (; k + 16 <= count; k += 12) {
    const q = v128.load(src + <usize>k);
    const w0 = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(q));
    const w1 = i32x4.extend_high_i16x8_u(i16x8.extend_low_i8x16_u(q));
    const w2 = i32x4.extend_low_i16x8_u(i16x8.extend_high_i8x16_u(q));
    const out = dst + <usize>(k << 2);
    v128.store(out, pairs(w0, ga, ba, gb, bb));
    v128.store(out, pairs(w1, gc, bc, ga, ba), 16);
    v128.store(out, pairs(w2, gb, bb, gc, bc), 32);
  }
  for (; k < count; k++) {
    const c = k % 3;
    const g = c == 0 ? g0 : c == 1 ? g1 : g2;
    const b = c == 0 ? b0 : c == 1 ? b1 : b2;
    store<f32>(dst + <usize>(k << 2), <f32>(<f64>load<u8>(src + <usize>k) * g + b));
  }
}

/** Four integers → four floats, the low pair with (g, b), the high pair with (h, c). */
// @ts-ignore: decorator
@inline
function pairs(q: v128, g: v128, b: v128, h: v128, c: v128): v128 {
  const lo = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(q), g), b);
  const hi = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(q, q, 2, 3, 2, 3)), h), c);
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** Four integers → four floats: (q − m) · gh + ((q − m) · gl + r), in float32 (see rgbToPlanesSplit). */
// @ts-ignore: decorator
@inline
function split4(q: v128, m: v128, gh: v128, gl: v128, r: v128): v128 {
  const d = f32x4.convert_i32x4_s(i32x4.sub(q, m));
  return f32x4.add(f32x4.mul(d, gh), f32x4.add(f32x4.mul(d, gl), r));
}

/** 16 bytes of one channel → 16 floats at `out`, by split4. */
// @ts-ignore: decorator
@inline
function split16(x: v128, m: v128, gh: v128, gl: v128, r: v128, out: usize): void {
  const lo = i16x8.extend_low_i8x16_u(x);
  const hi = i16x8.extend_high_i8x16_u(x);
  v128.store(out, split4(i32x4.extend_low_i16x8_u(lo), m, gh, gl, r));
  v128.store(out, split4(i32x4.extend_high_i16x8_u(lo), m, gh, gl, r), 16);
  v128.store(out, split4(i32x4.extend_low_i16x8_u(hi), m, gh, gl, r), 32);
  v128.store(out, split4(i32x4.extend_high_i16x8_u(hi), m, gh, gl, r), 48);
}

/**
 * rgbToPlanes in float32 arithmetic, twice the values per instruction: x · g + b as
 * (x − m) · gh + ((x − m) · gl + r), with m the integer nearest −b / g (so r = m · g + b is at most g / 2
 * and nothing cancels), gh the gain rounded to 14 bits (so (x − m) · gh is exact) and gl the rest. Within
 * 1 ulp of the float64 result, not always equal to it: normalize.ts checks every one of the 256 inputs per
 * channel against the float64 definition before it uses this kernel.
 */
export function rgbToPlanesSplit(src: usize, dst: usize, pixels: i32, plane: i32, params: usize): void {
  // params: m0 m1 m2 (i32), then gh0 gh1 gh2, gl0 gl1 gl2, r0 r1 r2 (f32)
  const m0 = i32x4.splat(load<i32>(params));
  const m1 = i32x4.splat(load<i32>(params, 4));
  const m2 = i32x4.splat(load<i32>(params, 8));
  const gh0 = f32x4.splat(load<f32>(params, 12));
  const gh1 = f32x4.splat(load<f32>(params, 16));
  const gh2 = f32x4.splat(load<f32>(params, 20));
  const gl0 = f32x4.splat(load<f32>(params, 24));
  const gl1 = f32x4.splat(load<f32>(params, 28));
  const gl2 = f32x4.splat(load<f32>(params, 32));
  const r0 = f32x4.splat(load<f32>(params, 36));
  const r1 = f32x4.splat(load<f32>(params, 40));
  const r2 = f32x4.splat(load<f32>(params, 44));
  const d0 = dst;
  const d1 = dst + <usize>(plane << 2);
  const d2 = dst + <usize>(plane << 3);
  let p = 0;
  for (; p + 16 <= pixels; p += 16) {
    const s = src + <usize>(p * 3);
    const x = v128.load(s);
    const y = v128.load(s, 16);
    const z = v128.load(s, 32);
    const r = i8x16.shuffle(i8x16.shuffle(x, y, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29);
    const g = i8x16.shuffle(i8x16.shuffle(x, y, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30);
    const b = i8x16.shuffle(i8x16.shuffle(x, y, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0), z, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31);
    const o = <usize>(p << 2);
    split16(r, m0, gh0, gl0, r0, d0 + o);
    split16(g, m1, gh1, gl1, r1, d1 + o);
    split16(b, m2, gh2, gl2, r2, d2 + o);
  }
  for (; p < pixels; p++) {
    const s = src + <usize>(p * 3);
    const o = <usize>(p << 2);
    store<f32>(d0 + o, splitOne(load<u8>(s), params, 0));
    store<f32>(d1 + o, splitOne(load<u8>(s, 1), params, 1));
    store<f32>(d2 + o, splitOne(load<u8>(s, 2), params, 2));
  }
}

/** One value of channel `c` by the same float32 operations as split4. */
function splitOne(x: u8, params: usize, c: i32): f32 {
  const k = params + <usize>(c << 2);
  const d = <f32>(<i32>x - load<i32>(k));
  return d * load<f32>(k, 12) + (d * load<f32>(k, 24) + load<f32>(k, 36));
}
