import type { RawImage } from '@imgstore/core';
import { turbo } from './libjpeg-turbo.js';
import { plainJpeg } from './plain-jpeg.js';
import { Resampler, resampleGeometry, resampleRgb, scaledLength, type ResampleTarget } from './resample.js';
import { scaledJpegDecoder } from './scaled-jpeg-decoder.js';

/** The decode options the fast path reads (a subset of CheckedDecodeOptions). */
export interface PlainDecodeOptions {
  width: number;
  height: number;
  shorterSide: number;
  originalSize: boolean;
  fit: 'cover' | 'contain' | 'fill';
  limitInputPixels: number;
  channels: 1 | 3 | 4;
}

/**
 * libjpeg-turbo decodes at 1/d scale (d = 2, 4, 8) only when the image is shrunk by at least d × this,
 * leaving the resampler a shrink of 4 or more (libvips and Pillow keep 2 for their shrink-on-load). DCT
 * scaling is close to a d × d box filter; the margin decides how far the output strays from the
 * full-size decode + Lanczos-3 at high-contrast edges. Over the corpus at 112×112 (bench:convert's
 * quality figures: mean absolute error, largest difference) a margin of 2 gave 0.32 / 18, 3 gave
 * 0.08 / 13, 3.5 gave 0.04 / 9 and 4 gives 0.008 / 8: the smallest within issue 17's bound (mean <= 1.0,
 * max <= 8). See packages/image/README.md for smaller outputs.
 */
export const DCT_SCALING_GAP = 4;

/**
 * Plain JPEGs shrunk this much or more go to sharp (its shrink-on-load): 1/8 scale leaves the resampler
 * a shrink below 2 × DCT_SCALING_GAP, whose taps stay few. Without DCT scaling, from a shrink of 4.
 */
const FAST_PATH_MAX_SHRINK = 16 * DCT_SCALING_GAP;
const FAST_PATH_MAX_FULL_SIZE_SHRINK = 4;

/**
 * The scaled decode also keeps at least this many pixels along the output's shorter side: for small
 * outputs a shrink margin of 4 is not enough (corpus at 64×64: max 11; at 32×32: 13), while keeping 384
 * source pixels gave max 8 at 64×64 (a margin of 6) and 6 at 32×32 (8), see packages/image/README.md.
 */
export const DCT_MIN_DECODED = 384;

/**
 * The DCT scaling denominator for a shrink (the smaller of the two axes' source/output ratios) to an
 * output whose shorter side is `outputShorter` pixels: the largest d whose decode leaves the resampler a
 * shrink of DCT_SCALING_GAP and at least DCT_MIN_DECODED pixels along that side.
 */
export function dctDenominator(shrink: number, outputShorter = Infinity): 1 | 2 | 4 | 8 {
  const gap = Math.max(DCT_SCALING_GAP, DCT_MIN_DECODED / outputShorter);
  return shrink >= 8 * gap ? 8 : shrink >= 4 * gap ? 4 : shrink >= 2 * gap ? 2 : 1;
}

/** Larger plain JPEGs (decoded pixels) go to sharp too: a thread's resampler keeps the memory of the largest image it saw. */
const FAST_PATH_MAX_PIXELS = 4096 * 4096;

interface FastPathPlan {
  width: number;
  height: number;
  target: ResampleTarget | null;
  /** Decode at 1/denom (1: full size). */
  denom: 1 | 2 | 4 | 8;
}

/**
 * What the fast path does with `bytes`: the JPEG's size, the resample (none for `originalSize`) and
 * the DCT scaling, or null when sharp should decode it (not a plain JPEG, not RGB output, letterboxing,
 * too large, shrunk too much). Makes the checks sharp would make before and after decoding: the input's pixel limit (from
 * the header) and the output's (an upscaled long, thin image).
 */
function planFastPath(bytes: Uint8Array, options: PlainDecodeOptions): FastPathPlan | null {
  const jpeg = plainJpeg(bytes);
  if (!jpeg || options.channels !== 3) return null;
  // Letterboxing (`contain`) is left to sharp.
  if (!options.originalSize && !options.shorterSide && options.fit === 'contain') return null;
  const { width, height } = jpeg;
  const target: ResampleTarget | null = options.originalSize
    ? null
    : options.shorterSide
      ? { shorterSide: options.shorterSide }
      : { width: options.width, height: options.height, fit: options.fit === 'fill' ? 'fill' : 'cover' };
  const size = target ? resampleGeometry(width, height, target) : { width, height };
  const shrink = Math.min(width / size.width, height / size.height);
  // koffi and the decoder load only for the first photo that needs them (the workers' first photo: cropped decodes).
  const canScale = target !== null && shrink >= FAST_PATH_MAX_FULL_SIZE_SHRINK && scaledJpegDecoder() !== null;
  if (shrink >= (canScale ? FAST_PATH_MAX_SHRINK : FAST_PATH_MAX_FULL_SIZE_SHRINK)) return null;
  const denom = canScale ? dctDenominator(shrink, Math.min(size.width, size.height)) : 1;
  if (scaledLength(width, denom) * scaledLength(height, denom) > FAST_PATH_MAX_PIXELS) return null;
  const limit = options.limitInputPixels;
  if (width * height > limit) throw new Error(`Input image exceeds pixel limit (${width}×${height} > ${limit} pixels)`);
  if (size.width * size.height > limit) {
    throw new Error(`the resized image (${size.width}×${size.height}) exceeds the pixel limit (${limit})`);
  }
  return { width, height, target, denom };
}

/**
 * The fast path, in this thread: a plain JPEG (see plainJpeg) decoded by libjpeg-turbo straight into
 * the resampler's memory and resampled (see resample.ts). Null means "let sharp decode it" (see
 * planFastPath), also after any complaint from libjpeg-turbo (sharp then rejects the file with its own
 * reason, or decodes it). Throws for a pixel limit exceeded.
 */
export function decodePlainJpegSync(bytes: Uint8Array, options: PlainDecodeOptions, resampler: Resampler): RawImage | null {
  const plan = planFastPath(bytes, options);
  if (!plan) return null;
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t = turbo();
  try {
    if (!plan.target) {
      const decoded = t.decompressSync(source, { format: t.FORMAT_RGB });
      return decoded.width === plan.width && decoded.height === plan.height ? rgb(decoded.data, decoded.width, decoded.height) : null;
    }
    const pixels = resampler.prepare(plan.width, plan.height, plan.target, plan.denom);
    if (plan.denom > 1) {
      if (!scaledJpegDecoder()!.decode(bytes, plan.width, plan.height, plan.denom, pixels)) return null;
      return resampler.run();
    }
    // Where TurboJPEG 3 is at hand, only the pixels the resample reads are decoded (a `cover` crop's);
    // they equal the full decode's (scaled-jpeg-decoder.ts).
    const decoder = scaledJpegDecoder();
    if (decoder) {
      if (!decoder.decode(bytes, plan.width, plan.height, 1, pixels, resampler.sourceRegion)) return null;
      return resampler.run();
    }
    const decoded = t.decompressSync(source, pixels, { format: t.FORMAT_RGB });
    if (decoded.width !== plan.width || decoded.height !== plan.height) return null;
  } catch {
    return null;
  }
  return resampler.run();
}

/** decodePlainJpegSync with the decode on libuv's thread pool (for decodeImage on the caller's thread). */
export async function decodePlainJpeg(bytes: Uint8Array, options: PlainDecodeOptions): Promise<RawImage | null> {
  const plan = planFastPath(bytes, options);
  if (!plan) return null;
  if (plan.target && plan.denom > 1) {
    const pixels = new Uint8Array(scaledLength(plan.width, plan.denom) * scaledLength(plan.height, plan.denom) * 3);
    if (!(await scaledJpegDecoder()!.decodeAsync(bytes, plan.width, plan.height, plan.denom, pixels))) return null;
    return resampleScaled(pixels, plan.width, plan.height, plan.target, plan.denom);
  }
  const t = turbo();
  let decoded: { data: Buffer; width: number; height: number };
  try {
    decoded = await t.decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { format: t.FORMAT_RGB });
  } catch {
    return null;
  }
  if (decoded.width !== plan.width || decoded.height !== plan.height) return null;
  return plan.target ? resampleRgb(decoded.data, decoded.width, decoded.height, plan.target) : rgb(decoded.data, decoded.width, decoded.height);
}

let shared: Resampler | undefined;

/** Resamples pixels decoded at 1/denom (see Resampler.prepare) on this thread. */
function resampleScaled(pixels: Uint8Array, width: number, height: number, target: ResampleTarget, denom: number): RawImage {
  shared ??= new Resampler();
  shared.prepare(width, height, target, denom).set(pixels);
  return shared.run();
}

function rgb(data: Buffer, width: number, height: number): RawImage {
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}
