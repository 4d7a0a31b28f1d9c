import type { RawImage } from '@imgstore/core';
import { turbo } from './libjpeg-turbo.js';
import { plainJpeg } from './plain-jpeg.js';
import { Resampler, resampleGeometry, resampleRgb, type ResampleTarget } from './resample.js';

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
 * Plain JPEGs shrunk by this much or more go to sharp, which then decodes at 1/2–1/8 scale: the
 * resampler's work grows with the square of the shrink.
 */
const FAST_PATH_MAX_SHRINK = 4;

/** Larger plain JPEGs go to sharp too: a thread's resampler keeps the memory of the largest image it saw. */
const FAST_PATH_MAX_PIXELS = 4096 * 4096;

/**
 * What the fast path does with `bytes`: the JPEG's size and the resample (none for `originalSize`), or
 * null when sharp should decode it (not a plain JPEG, not RGB output, letterboxing, too large, shrunk
 * too much). Makes the checks sharp would make before and after decoding: the input's pixel limit (from
 * the header) and the output's (an upscaled long, thin image).
 */
function planFastPath(bytes: Uint8Array, options: PlainDecodeOptions): { width: number; height: number; target: ResampleTarget | null } | null {
  const jpeg = plainJpeg(bytes);
  if (!jpeg || options.channels !== 3 || jpeg.width * jpeg.height > FAST_PATH_MAX_PIXELS) return null;
  // Letterboxing (`contain`) is left to sharp.
  if (!options.originalSize && !options.shorterSide && options.fit === 'contain') return null;
  const { width, height } = jpeg;
  const target: ResampleTarget | null = options.originalSize
    ? null
    : options.shorterSide
      ? { shorterSide: options.shorterSide }
      : { width: options.width, height: options.height, fit: options.fit === 'fill' ? 'fill' : 'cover' };
  const size = target ? resampleGeometry(width, height, target) : { width, height };
  if (Math.min(width / size.width, height / size.height) >= FAST_PATH_MAX_SHRINK) return null;
  const limit = options.limitInputPixels;
  if (width * height > limit) throw new Error(`Input image exceeds pixel limit (${width}×${height} > ${limit} pixels)`);
  if (size.width * size.height > limit) {
    throw new Error(`the resized image (${size.width}×${size.height}) exceeds the pixel limit (${limit})`);
  }
  return { width, height, target };
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
    const pixels = resampler.prepare(plan.width, plan.height, plan.target);
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

function rgb(data: Buffer, width: number, height: number): RawImage {
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}
