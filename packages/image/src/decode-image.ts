import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp from 'sharp';
import { turbo } from './libjpeg-turbo.js';
import { plainJpeg } from './plain-jpeg.js';
import {
  DecodeFailedError,
  expectKnownKeys,
  expectOneOf,
  expectPositiveInteger,
  invalidOption,
  type RawImage,
} from '@imgstore/core';

export const FITS = ['cover', 'contain', 'fill'] as const;
/** How an image is fitted to the target size: crop to fill (`cover`), letterbox (`contain`), or stretch (`fill`). */
export type Fit = (typeof FITS)[number];

/** sharp's own default pixel limit (0x3FFF × 0x3FFF): larger inputs are rejected before decoding. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 0x3fff * 0x3fff;

/**
 * The output size: exactly `width` × `height` (with `fit`); or `shorterSide` (the aspect ratio kept, the
 * shorter side scaled to it, larger and smaller images alike); or `originalSize` (no resizing). Exactly one.
 */
export interface DecodeImageOptions {
  /** Output width in pixels (with `height`). */
  width?: number;
  /** Output height in pixels (with `width`). */
  height?: number;
  /** Keep the aspect ratio and scale the shorter side to this many pixels. */
  shorterSide?: number;
  /** Keep the decoded size (after EXIF orientation). */
  originalSize?: boolean;
  /** Default `'cover'` (centre crop after scaling the shorter side), as training pipelines expect. */
  fit?: Fit;
  /** Inputs with more pixels than this are rejected from their header, before decoding. Default 268,402,689. */
  limitInputPixels?: number;
  /** 3: RGB (default); 1: grey (luminance); 4: RGBA (alpha 255 where the input has none). */
  channels?: Channels;
}

export const CHANNELS = [1, 3, 4] as const;
export type Channels = (typeof CHANNELS)[number];

const KNOWN = ['width', 'height', 'shorterSide', 'originalSize', 'fit', 'limitInputPixels', 'channels'];

/** Checked decode options: `width`/`height` are 0 unless the size is exact, `shorterSide` 0 unless set. */
export interface CheckedDecodeOptions {
  width: number;
  height: number;
  shorterSide: number;
  originalSize: boolean;
  fit: Fit;
  limitInputPixels: number;
  channels: Channels;
}

function checkChannels(value: unknown): Channels {
  if (!(CHANNELS as readonly unknown[]).includes(value)) throw invalidOption('channels', 'one of 1, 3, 4', value);
  return value as Channels;
}

/** Option objects checkDecodeOptions returned: decodeImage takes them without checking again. */
const checked = new WeakSet<object>();

/** Checks decode options once, so that a conversion loop can reuse them. */
export function checkDecodeOptions(options: DecodeImageOptions): CheckedDecodeOptions {
  const result = checkOptions(options);
  checked.add(result);
  return result;
}

function checkOptions(options: DecodeImageOptions): CheckedDecodeOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, KNOWN);
  const modes = [options.width !== undefined || options.height !== undefined, options.shorterSide !== undefined, options.originalSize === true];
  if (modes.filter(Boolean).length !== 1) {
    throw invalidOption('width', 'one output size: width and height, or shorterSide, or originalSize: true', options.width);
  }
  const exact = modes[0]!;
  return {
    width: exact ? expectPositiveInteger('width', options.width) : 0,
    height: exact ? expectPositiveInteger('height', options.height) : 0,
    shorterSide: options.shorterSide === undefined ? 0 : expectPositiveInteger('shorterSide', options.shorterSide),
    originalSize: options.originalSize === true,
    fit: expectOneOf('fit', options.fit ?? 'cover', FITS),
    limitInputPixels: expectPositiveInteger('limitInputPixels', options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS),
    channels: checkChannels(options.channels ?? 3),
  };
}

/**
 * Decodes an image file (path) or its bytes to RGB uint8 HWC pixels of exactly width × height:
 * EXIF orientation applied, alpha dropped, any colour space (grey, CMYK, 16-bit) converted to 8-bit sRGB,
 * the first frame of an animation. The format is detected from the content, never from the file name.
 * Throws DecodeFailedError (with sharp's error as `cause`) for corrupt, truncated, unsupported or
 * oversized inputs.
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeImageOptions | CheckedDecodeOptions): Promise<RawImage> {
  const { width, height, shorterSide, fit, limitInputPixels, channels } = checked.has(options)
    ? (options as CheckedDecodeOptions)
    : checkOptions(options as DecodeImageOptions);
  const source = typeof input === 'string' ? input : `buffer of ${input.length} bytes`;
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw invalidOption('input', 'file path or Uint8Array', input);
  }
  try {
    const bytes = typeof input === 'string' ? await readInputFile(input) : input;
    const pixels = typeof bytes === 'string' || channels !== 3 ? null : await decodePlainJpeg(bytes, { width, height, shorterSide, limitInputPixels });
    const image = pixels
      ? sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
      : sharp(bytes, { autoOrient: true, failOn: 'warning', limitInputPixels });
    // 'outside' with a square box scales the shorter side to exactly that size, keeping the aspect ratio.
    const resized = width
      ? image.resize(width, height, { fit, background: { r: 0, g: 0, b: 0, alpha: 1 } })
      : shorterSide
        ? image.resize(shorterSide, shorterSide, { fit: 'outside' })
        : image;
    const converted =
      channels === 1
        ? resized.removeAlpha().toColourspace('b-w')
        : channels === 4
          ? resized.toColourspace('srgb').ensureAlpha(1)
          : resized.removeAlpha().toColourspace('srgb');
    const { data, info } = await converted.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const sizeWrong = width ? info.width !== width || info.height !== height : shorterSide ? Math.min(info.width, info.height) !== shorterSide : false;
    if (info.channels !== channels || sizeWrong) {
      const expected = width ? `${width}×${height}` : shorterSide ? `shorter side ${shorterSide}` : 'the original size';
      throw new Error(`decoder produced ${info.width}×${info.height}×${info.channels}, expected ${expected}×${channels}`);
    }
    // Upscaling a long, thin image to a shorter side can make far more pixels than it had.
    if (info.width * info.height > limitInputPixels) {
      throw new Error(`the resized image (${info.width}×${info.height}) exceeds the pixel limit (${limitInputPixels})`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels };
  } catch (cause) {
    throw new DecodeFailedError(source, `Cannot decode ${source}: ${describeDecodeError(cause)}`, { cause });
  }
}

/**
 * Plain JPEGs shrunk by less than this are decoded by libjpeg-turbo; larger shrinks go to sharp, which
 * decodes at 1/4 or 1/8 scale (and never holds the full-size pixels). Conversion of the corpus (300–1000
 * px photos to 256×256), three runs each: limit 2 → 7.1–8.8 s, 4 → 6.6–7.6 s, none → 6.4–7.5 s.
 */
const TURBO_MAX_SHRINK = 4;

/**
 * RGB pixels of a plain JPEG (see plainJpeg) decoded by libjpeg-turbo, when that is the faster way: the
 * output is more than a quarter of the input's size on some side (see TURBO_MAX_SHRINK) or not resized. Null means "let sharp decode it": not a plain JPEG, a larger
 * one, or any complaint from libjpeg-turbo (sharp then rejects the file with its own reason, or decodes
 * it). In conversion this is ~1.25× the images/s of sharp alone on the corpus (see issue 3's note).
 */
async function decodePlainJpeg(
  bytes: Uint8Array,
  size: { width: number; height: number; shorterSide: number; limitInputPixels: number },
): Promise<{ data: Buffer; width: number; height: number } | null> {
  const jpeg = plainJpeg(bytes);
  if (!jpeg) return null;
  if (jpeg.width * jpeg.height > size.limitInputPixels) {
    throw new Error(`Input image exceeds pixel limit (${jpeg.width}×${jpeg.height} > ${size.limitInputPixels} pixels)`);
  }
  const shrink = size.width
    ? Math.min(jpeg.width / size.width, jpeg.height / size.height)
    : size.shorterSide
      ? Math.min(jpeg.width, jpeg.height) / size.shorterSide
      : 1;
  if (shrink >= TURBO_MAX_SHRINK) return null;
  try {
    const decoded = await turbo.decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { format: turbo.FORMAT_RGB });
    return decoded.width === jpeg.width && decoded.height === jpeg.height ? decoded : null;
  } catch {
    return null;
  }
}

/** Files up to this size are read here and handed to sharp as bytes; larger ones sharp reads itself. */
const READ_WHOLE_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Opens `path` for sharp, for a clear reason where sharp would give a misleading one (a file without
 * read permission is "unsupported format", a link loop is "missing") or none at all (a FIFO blocks sharp
 * forever waiting for a writer: opened here without blocking, it is refused). Returns the file's bytes
 * (one read: sharp decodes a buffer ~1.5× faster than a path here, measured on the corpus), or the path
 * for a very large file.
 */
async function readInputFile(path: string): Promise<Buffer | string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const kind = stats.isDirectory()
        ? 'folder'
        : stats.isFIFO()
          ? 'FIFO'
          : stats.isSocket()
            ? 'socket'
            : stats.isCharacterDevice() || stats.isBlockDevice()
              ? 'device'
              : 'special file';
      throw new Error(`not a regular file (${kind})`);
    }
    if (stats.size === 0) throw new Error('empty file (0 bytes)');
    return stats.size > READ_WHOLE_FILE_BYTES ? path : await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** A short, human reason for an error sharp/libvips reported while decoding, as reject lists show it. */
export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/\b(ENOENT|EACCES|EPERM|EISDIR|ELOOP|ENOTDIR|ENAMETOOLONG|EIO)\b/.test(message)) {
    // Node's "EACCES: permission denied, open '/path'": the reject list already names the file.
    return `unreadable file (${firstLine(message).replace(/, \w+ '.*'$/, '')})`;
  }
  if (/unsupported image format/i.test(message)) return 'not an image (unsupported or unrecognised format)';
  if (/pixel limit/i.test(message)) return `too many pixels (${message})`;
  // libvips shares one error buffer between threads: under load the detail can be missing or another
  // image's, so sharp's own prefix ("Input file has corrupt header") counts as much as the detail.
  if (/premature end|truncated|unexpected end|not enough data|end of stream|corrupt|read error|crc error/i.test(message)) {
    return `truncated or corrupt image (${firstLine(message)})`;
  }
  // libvips sometimes raises the decoder's warning after the fact, and sharp then reports only this.
  if (/warning treated as error/i.test(message)) return 'truncated or corrupt image (the decoder reported damaged data)';
  return firstLine(message);
}

function firstLine(message: string): string {
  // A detail-less libvips error ("Input file has corrupt header:") loses its dangling colon.
  return message.split('\n')[0]!.trim().replace(/:$/, '');
}
