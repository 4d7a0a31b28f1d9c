export { decodeImage, checkDecodeOptions, describeDecodeError, FITS, DEFAULT_LIMIT_INPUT_PIXELS } from './decode-image.js';
export type { DecodeImageOptions, Fit } from './decode-image.js';
export type { RawImage } from '@imgstore/core';
