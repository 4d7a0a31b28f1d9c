import { loadSharp } from './load-sharp.js';
import { readInputFile } from './input-file.js';
import { readHead, refuseFormat } from './input-format.js';
import { decodePlainJpeg } from './plain-jpeg-decode.js';
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

/** `options` checked (or as they are, when checkDecodeOptions returned them). */
export function resolveDecodeOptions(options: DecodeImageOptions | CheckedDecodeOptions): CheckedDecodeOptions {
  return checked.has(options) ? (options as CheckedDecodeOptions) : checkOptions(options as DecodeImageOptions);
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
 * Plain JPEGs (see plainJpeg) are decoded by libjpeg-turbo and resized by imgstore's resampler
 * (resample.ts: Lanczos-3, like sharp's default); everything else by sharp.
 * Throws DecodeFailedError (with the underlying error as `cause`) for corrupt, truncated, unsupported or
 * oversized inputs.
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeImageOptions | CheckedDecodeOptions): Promise<RawImage> {
  const checkedOptions = resolveDecodeOptions(options);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw invalidOption('input', 'file path or Uint8Array', input);
  }
  const source = describeSource(input);
  try {
    const bytes = typeof input === 'string' ? await readInputFile(input) : input;
    const pixels = typeof bytes === 'string' ? null : await decodePlainJpeg(bytes, checkedOptions);
    return pixels ?? (await decodeWithSharp(bytes, checkedOptions));
  } catch (cause) {
    throw decodeFailed(source, cause);
  }
}

/** How error messages name an input. */
export function describeSource(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : `buffer of ${input.length} bytes`;
}

/** The error decodeImage throws for `cause`. */
export function decodeFailed(source: string, cause: unknown): DecodeFailedError {
  return new DecodeFailedError(source, `Cannot decode ${source}: ${describeDecodeError(cause)}`, { cause });
}

/** Decodes and resizes with sharp: every input that is not a plain JPEG (or that libjpeg-turbo refused). */
export async function decodeWithSharp(bytes: Uint8Array | string, options: CheckedDecodeOptions): Promise<RawImage> {
  const { width, height, shorterSide, fit, limitInputPixels, channels } = options;
  // Only the README's formats: sharp would also render an SVG or an icon, a guess imgstore never stores.
  const refusal = refuseFormat(typeof bytes === 'string' ? readHead(bytes) : bytes);
  if (refusal !== null) throw new Error(refusal);
  const image = loadSharp()(bytes, { autoOrient: true, failOn: 'warning', limitInputPixels });
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
  // "source: bad seek to N": a loader read past the end of the bytes it was given (seen for a truncated
  // JPEG when several images fail at once).
  if (/premature end|truncated|unexpected end|not enough data|end of stream|corrupt|read error|crc error|bad seek/i.test(message)) {
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
