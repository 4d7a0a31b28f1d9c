import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Width and height from a JPEG's header. */
export interface JpegSize {
  width: number;
  height: number;
}

/** The C functions of @cwasm/jpeg-turbo's libjpeg-turbo build (TurboJPEG API 2) that this file calls. */
interface TurboJpegExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDestroy(handle: number): number;
  tjDecompressHeader3(handle: number, src: number, size: number, width: number, height: number, subsamp: number, colorspace: number): number;
  tjDecompress2(handle: number, src: number, size: number, dst: number, width: number, pitch: number, height: number, pixelFormat: number, flags: number): number;
}

const TJPF_RGB = 0;
const TJPF_GRAY = 6;
// The fast integer IDCT, as @julusian/jpeg-turbo (the codec's first decoder) uses: same pixels as before.
const TJFLAG_FASTDCT = 2048;

/** `unwound`: thrown from inside WebAssembly (libjpeg's error_exit calls the imported longjmp). */
class LibjpegError extends Error {
  constructor(
    message: string,
    readonly unwound = false,
  ) {
    super(message);
  }
}

let compiled: WebAssembly.Module | undefined;
let turbo: { exports: TurboJpegExports; handle: number } | undefined;

/**
 * Instantiates libjpeg-turbo (WebAssembly, from @cwasm/jpeg-turbo) on first use. We call the exported
 * TurboJPEG functions ourselves rather than the package's `decode()`, which always returns a new RGBA
 * image: this way the pixels come out as RGB or grey, with the fast IDCT, and are copied once.
 */
function loadTurbo(): { exports: TurboJpegExports; handle: number } {
  if (turbo) return turbo;
  compiled ??= new WebAssembly.Module(readFileSync(createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm')));
  const unsupported = () => {
    throw new LibjpegError('libjpeg-turbo called a system function', true);
  };
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      setjmp: () => 0,
      longjmp: () => {
        throw new LibjpegError('libjpeg-turbo stopped on corrupt data', true);
      },
    },
    wasi_snapshot_preview1: { environ_sizes_get: () => 0, environ_get: unsupported, proc_exit: unsupported, fd_close: unsupported, fd_seek: unsupported, fd_write: unsupported },
  });
  const exports = instance.exports as unknown as TurboJpegExports;
  const handle = exports.tjInitDecompress();
  if (handle === 0) throw new Error('libjpeg-turbo could not allocate a decompressor');
  return (turbo = { exports, handle });
}

/**
 * Decodes `jpeg` into `target` at `offset` as RGB (channels 3) or grey (channels 1) if its header says
 * `width`×`height`; otherwise writes nothing. Returns the header's size either way, so the caller
 * can name a mismatch. Throws on corrupt or truncated data. Copies: the JPEG bytes in, the pixels out
 * once (WebAssembly cannot write into memory outside its own).
 */
export function decodeJpegInto(jpeg: Uint8Array, target: Uint8Array, offset: number, width: number, height: number, channels: 1 | 3): JpegSize {
  const { exports: t, handle } = loadTurbo();
  const pixelBytes = width * height * channels;
  let src = 0;
  let dst = 0;
  try {
    src = t.malloc(jpeg.length);
    if (src === 0) throw new LibjpegError(`libjpeg-turbo could not allocate ${jpeg.length} bytes`);
    new Uint8Array(t.memory.buffer, src, jpeg.length).set(jpeg);
    const size = readSize(t, handle, src, jpeg.length);
    if (size.width !== width || size.height !== height) return size;
    dst = t.malloc(pixelBytes);
    if (dst === 0) throw new LibjpegError(`libjpeg-turbo could not allocate ${pixelBytes} bytes`);
    const format = channels === 1 ? TJPF_GRAY : TJPF_RGB;
    if (t.tjDecompress2(handle, src, jpeg.length, dst, width, 0, height, format, TJFLAG_FASTDCT) !== 0) {
      throw new LibjpegError('libjpeg-turbo reported corrupt or truncated data');
    }
    // The view is made after the last malloc: growing the memory detaches earlier views.
    target.set(new Uint8Array(t.memory.buffer, dst, pixelBytes), offset);
    return size;
  } catch (error) {
    // A throw through WebAssembly leaves its stack and heap as they were mid-call: start afresh.
    if (!(error instanceof LibjpegError) || error.unwound) turbo = undefined;
    throw error;
  } finally {
    if (turbo) {
      if (dst !== 0) t.free(dst);
      if (src !== 0) t.free(src);
    }
  }
}

function readSize(t: TurboJpegExports, handle: number, src: number, length: number): JpegSize {
  const out = t.malloc(16);
  try {
    if (t.tjDecompressHeader3(handle, src, length, out, out + 4, out + 8, out + 12) !== 0) {
      throw new LibjpegError('libjpeg-turbo found no valid JPEG header');
    }
    const [width, height] = new Uint32Array(t.memory.buffer, out, 2);
    return { width: width!, height: height! };
  } finally {
    t.free(out);
  }
}
