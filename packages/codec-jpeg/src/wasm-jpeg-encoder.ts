import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The embind class of @cornerstonejs/codec-libjpeg-turbo-8bit that encodes (libjpeg-turbo 3). */
interface JpegEncoder {
  getDecodedBuffer(frame: { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean }): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  setProgressive(progressive: number): void;
  setQuality(quality: number): void;
  setSubSampling(subsampling: number): void;
}

interface EncoderModule {
  JPEGEncoder?: new () => JpegEncoder;
  instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void): WebAssembly.Exports;
}

const TJSAMP_420 = 2;
const TJSAMP_GRAY = 3;

let encoder: JpegEncoder | undefined;

/**
 * Loaded on the first encode only: reading a store never pays for it. Instantiated synchronously
 * (`instantiateWasm`), so that the Codec's `encode` stays synchronous.
 */
function loadEncoder(): JpegEncoder {
  if (encoder) return encoder;
  const require = createRequire(import.meta.url);
  const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs') as (module: EncoderModule) => Promise<unknown>;
  const wasm = new WebAssembly.Module(readFileSync(require.resolve('@cornerstonejs/codec-libjpeg-turbo-8bit/wasm')));
  const module: EncoderModule = {
    instantiateWasm(imports, done) {
      const instance = new WebAssembly.Instance(wasm, imports);
      done(instance);
      return instance.exports;
    },
  };
  // The factory's promise settles with the module we already hold; its rejection would be an abort.
  factory(module).catch(() => undefined);
  if (!module.JPEGEncoder) throw new Error('libjpeg-turbo (WebAssembly) did not initialise synchronously');
  return (encoder = new module.JPEGEncoder());
}

/**
 * Encodes HWC pixels as a baseline JPEG: 4:2:0 chroma for RGB, greyscale for 1 channel. The same
 * libjpeg-turbo settings as the codec's first (native) encoder, which give the same bytes.
 */
export function encodeJpeg(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality: number): Uint8Array {
  const e = loadEncoder();
  // The binding lets libjpeg-turbo write, unchecked, into a buffer sized like its input buffer, which
  // a small image's JPEG outgrows (headers alone are ~600 bytes). So the image is padded to whole MCUs
  // (edge pixels repeated, as libjpeg does itself) and the input buffer is declared `scale`× larger
  // through bitsPerSample (encode() reads 8-bit samples whatever it says; at most 255 bits).
  const mcu = channels === 1 ? 8 : 16;
  const paddedWidth = Math.ceil(width / mcu) * mcu;
  const paddedHeight = Math.ceil(height / mcu) * mcu;
  const paddedBytes = paddedWidth * paddedHeight * channels;
  // libjpeg-turbo's tjBufSize bound for the entropy data, plus room for the markers it writes.
  const worstCase = paddedWidth * paddedHeight * (channels === 1 ? 2 : 3) + 1024;
  const scale = Math.ceil(worstCase / paddedBytes);
  try {
    e.setProgressive(0);
    e.setQuality(quality);
    e.setSubSampling(channels === 1 ? TJSAMP_GRAY : TJSAMP_420);
    const input = e.getDecodedBuffer({ width: paddedWidth, height: paddedHeight, bitsPerSample: 8 * scale, componentCount: channels, isSigned: false });
    padInto(pixels, width, height, channels, input, paddedWidth, paddedHeight);
    e.encode();
    const copy = e.getEncodedBuffer(); // a copy, as a Uint8ClampedArray
    const jpeg = new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
    if (paddedWidth !== width || paddedHeight !== height) setFrameSize(jpeg, width, height);
    return jpeg;
  } catch (error) {
    // An abort inside WebAssembly leaves that instance unusable: the next call loads a new one.
    encoder = undefined;
    throw error;
  }
}

/** Copies HWC pixels into a larger image, repeating the last column and row (libjpeg's own padding). */
function padInto(pixels: Uint8Array, width: number, height: number, channels: number, out: Uint8Array, paddedWidth: number, paddedHeight: number): void {
  const row = width * channels;
  const paddedRow = paddedWidth * channels;
  if (row === paddedRow && height === paddedHeight) {
    out.set(pixels.subarray(0, row * height));
    return;
  }
  for (let y = 0; y < paddedHeight; y++) {
    const source = Math.min(y, height - 1) * row;
    const target = y * paddedRow;
    out.set(pixels.subarray(source, source + row), target);
    const last = pixels.subarray(source + row - channels, source + row);
    for (let x = row; x < paddedRow; x += channels) out.set(last, target + x);
  }
}

/**
 * Writes the real size into the baseline frame header (SOF0). The padding only filled the last MCU
 * row and column, which a decoder crops: same MCU count, so the entropy data stays valid.
 */
function setFrameSize(jpeg: Uint8Array, width: number, height: number): void {
  for (let i = 2; i + 8 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) break;
    const marker = jpeg[i + 1]!;
    if (marker === 0xc0) {
      jpeg[i + 5] = height >> 8;
      jpeg[i + 6] = height & 0xff;
      jpeg[i + 7] = width >> 8;
      jpeg[i + 8] = width & 0xff;
      return;
    }
    i += 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!);
  }
  throw new Error('libjpeg-turbo (WebAssembly) wrote no baseline frame header');
}
