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
export const FAST_PATH_MAX_SHRINK = 4;

/** Larger plain JPEGs go to sharp too: a thread's resampler keeps the memory of the largest image it saw. */
export const FAST_PATH_MAX_PIXELS = 4096 * 4096;

/** What the fast path does with an image of this size, or null when sharp should decode it. */
function fastPath(width: number, height: number, options: PlainDecodeOptions): { target: ResampleTarget | null } | null {
  if (options.channels !== 3 || width * height > FAST_PATH_MAX_PIXELS) return null;
  if (options.originalSize) return { target: null };
  // Letterboxing (`contain`) is left to sharp.
  if (!options.shorterSide && options.fit === 'contain') return null;
  const target: ResampleTarget = options.shorterSide
    ? { shorterSide: options.shorterSide }
    : { width: options.width, height: options.height, fit: options.fit === 'fill' ? 'fill' : 'cover' };
  const size = resampleGeometry(width, height, target);
  if (Math.min(width / size.width, height / size.height) >= FAST_PATH_MAX_SHRINK) return null;
  return { target };
}

/**
 * The checks sharp would make before and after decoding, for the fast path: the input's pixel limit
 * (from the header, before decoding) and the output's (an upscaled long, thin image).
 */
function checkLimits(width: number, height: number, target: ResampleTarget | null, limit: number): void {
  if (width * height > limit) throw new Error(`Input image exceeds pixel limit (${width}×${height} > ${limit} pixels)`);
  const size = target ? resampleGeometry(width, height, target) : { width, height };
  if (size.width * size.height > limit) {
    throw new Error(`the resized image (${size.width}×${size.height}) exceeds the pixel limit (${limit})`);
  }
}

/**
 * The fast path, in this thread: a plain JPEG (see plainJpeg) decoded by libjpeg-turbo straight into
 * the resampler's memory and resampled (see resample.ts). Null means "let sharp decode it": not a plain
 * JPEG, an unsuitable size (see fastPath), or any complaint from libjpeg-turbo (sharp then rejects the
 * file with its own reason, or decodes it). Throws for a pixel limit exceeded.
 */
export function decodePlainJpegSync(bytes: Uint8Array, options: PlainDecodeOptions, resampler: Resampler): RawImage | null {
  const jpeg = plainJpeg(bytes);
  const path = jpeg && fastPath(jpeg.width, jpeg.height, options);
  if (!jpeg || !path) return null;
  checkLimits(jpeg.width, jpeg.height, path.target, options.limitInputPixels);
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (!path.target) {
      const decoded = turbo().decompressSync(source, { format: turbo().FORMAT_RGB });
      return decoded.width === jpeg.width && decoded.height === jpeg.height ? rgb(decoded.data, decoded.width, decoded.height) : null;
    }
    const pixels = resampler.prepare(jpeg.width, jpeg.height, path.target);
    const decoded = turbo().decompressSync(source, pixels, { format: turbo().FORMAT_RGB });
    if (decoded.width !== jpeg.width || decoded.height !== jpeg.height) return null;
  } catch {
    return null;
  }
  return resampler.run();
}

/** decodePlainJpegSync with the decode on libuv's thread pool (for decodeImage on the caller's thread). */
export async function decodePlainJpeg(bytes: Uint8Array, options: PlainDecodeOptions): Promise<RawImage | null> {
  const jpeg = plainJpeg(bytes);
  const path = jpeg && fastPath(jpeg.width, jpeg.height, options);
  if (!jpeg || !path) return null;
  checkLimits(jpeg.width, jpeg.height, path.target, options.limitInputPixels);
  let decoded: { data: Buffer; width: number; height: number };
  try {
    decoded = await turbo().decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { format: turbo().FORMAT_RGB });
  } catch {
    return null;
  }
  if (decoded.width !== jpeg.width || decoded.height !== jpeg.height) return null;
  return path.target ? resampleRgb(decoded.data, decoded.width, decoded.height, path.target) : rgb(decoded.data, decoded.width, decoded.height);
}

function rgb(data: Buffer, width: number, height: number): RawImage {
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}
