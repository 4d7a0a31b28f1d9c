export { createJpegCodec, jpegCodec, registerJpegCodec, DEFAULT_JPEG_QUALITY, JPEG_FIELD } from './jpeg-codec.js';
export type { JpegCodecOptions } from './jpeg-codec.js';
