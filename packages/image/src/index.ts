export { decodeImage, checkDecodeOptions, describeDecodeError, FITS, CHANNELS, DEFAULT_LIMIT_INPUT_PIXELS } from './decode-image.js';
export type { DecodeImageOptions, CheckedDecodeOptions, Fit, Channels } from './decode-image.js';
export type { RawImage } from '@imgstore/core';
export { encodeImage, renderContactSheet, ENCODE_FORMATS, FORMAT_EXTENSIONS, CAPTION_HEIGHT } from './encode-image.js';
export type { EncodeFormat, ContactSheetTile, ContactSheetOptions } from './encode-image.js';
export { resampleRgb, Resampler } from './resample.js';
export type { ResampleTarget } from './resample.js';
export { DecodePool } from './decode-pool.js';
export type { DecodePoolOptions } from './decode-pool.js';
