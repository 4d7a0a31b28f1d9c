import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { turbo } from './libjpeg-turbo.js';
import type { SourceRegion } from './resample.js';

/**
 * libjpeg-turbo's DCT scaling (decoding a JPEG at 1/2, 1/4 or 1/8 of its size straight from its
 * coefficients), which @julusian/jpeg-turbo does not expose: its TurboJPEG 3 functions are called
 * through koffi (an FFI with prebuilt binaries) in the very libturbojpeg that binding loaded, so the
 * pixels come from the same library build. Available where that binding loads libturbojpeg as a shared
 * library (its Linux builds) and koffi is installed; elsewhere scaledJpegDecoder() is null and the
 * fast path decodes at full size, as before.
 */
export interface ScaledJpegDecoder {
  /**
   * Decodes `jpeg`, of `width` × `height` pixels (as plainJpeg read them), at 1/denom (2, 4 or 8) into
   * `out` as RGB, ceil(width / denom) × ceil(height / denom) pixels. False when libjpeg-turbo complains,
   * its header reads another size, or `out` is too small (nothing is written past it).
   * With `region` (in the pixels of the output), only that part (and a margin, see cropFor) is decoded,
   * at its place in `out`: the rest of `out` is left as it was.
   */
  decode(jpeg: Uint8Array, width: number, height: number, denom: number, out: Uint8Array, region?: SourceRegion): boolean;
  /** The same on a thread of koffi's pool. */
  decodeAsync(jpeg: Uint8Array, width: number, height: number, denom: number, out: Uint8Array): Promise<boolean>;
}

// turbojpeg.h (TurboJPEG 3): enum TJINIT, TJPARAM, TJPF.
const TJINIT_DECOMPRESS = 1;
const TJPARAM_SUBSAMP = 4;
const TJPARAM_JPEGWIDTH = 5;
const TJPARAM_JPEGHEIGHT = 6;
const TJPARAM_FASTDCT = 10;
const TJPF_RGB = 0;
/** iMCU width by TJSAMP (444, 422, 420, GRAY, 440, 411, 441): a cropping region starts on a multiple of it. */
const MCU_WIDTH = [8, 16, 16, 8, 8, 32, 8];
/**
 * Pixels decoded beyond a region on each cropped side. libjpeg-turbo upsamples chroma at a crop's edge
 * as at the image's edge, so the outermost decoded column differs from a full decode's (the 1,600 corpus
 * photos, centre crops: 808 differ with no margin, none with 1); 2 for good measure.
 */
const CROP_MARGIN = 2;
const UNCROPPED = { x: 0, y: 0, w: 0, h: 0 };

/**
 * The TurboJPEG cropping region holding `region` of a width × height decode (at 1/denom): widened by
 * CROP_MARGIN and left to the (scaled) iMCU boundary; null when that is the whole image.
 */
function cropFor(region: SourceRegion, width: number, height: number, denom: number, subsamp: number): SourceRegion | null {
  const w = Math.ceil(width / denom);
  const h = Math.ceil(height / denom);
  const step = Math.max(1, (MCU_WIDTH[subsamp] ?? 32) / denom);
  const x0 = Math.floor(Math.max(0, region.x - CROP_MARGIN) / step) * step;
  const x1 = Math.min(w, region.x + region.width + CROP_MARGIN);
  const y0 = Math.max(0, region.y - CROP_MARGIN);
  const y1 = Math.min(h, region.y + region.height + CROP_MARGIN);
  return x0 === 0 && y0 === 0 && x1 === w && y1 === h ? null : { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

let loaded: ScaledJpegDecoder | null | undefined;

/** The decoder, loaded once per thread; null where it cannot be (see above). */
export function scaledJpegDecoder(): ScaledJpegDecoder | null {
  if (loaded === undefined) {
    try {
      loaded = load();
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** The libturbojpeg shared library that @julusian/jpeg-turbo's binding loaded into this process, if any. */
function loadedLibturbojpeg(): string | null {
  turbo();
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null; // not Linux: the binding links libjpeg-turbo statically there
  }
  const match = /\s(\/\S*jpeg-turbo\S*\/libturbojpeg\.so\.0)$/m.exec(maps);
  return match ? match[1]! : null;
}

function load(): ScaledJpegDecoder | null {
  const path = loadedLibturbojpeg();
  if (!path) return null;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load(path);
  // An anonymous struct: a named one would clash when another worker thread loads it again.
  const scalingFactor = koffi.struct({ num: 'int', denom: 'int' });
  const init = lib.func('tj3Init', 'void *', ['int']);
  const destroy = lib.func('tj3Destroy', 'void', ['void *']);
  const set = lib.func('tj3Set', 'int', ['void *', 'int', 'int']);
  const get = lib.func('tj3Get', 'int', ['void *', 'int']);
  const header = lib.func('tj3DecompressHeader', 'int', ['void *', 'const uint8_t *', 'size_t']);
  const setScaling = lib.func('tj3SetScalingFactor', 'int', ['void *', scalingFactor]);
  const croppingRegion = koffi.struct({ x: 'int', y: 'int', w: 'int', h: 'int' });
  const setCropping = lib.func('tj3SetCroppingRegion', 'int', ['void *', croppingRegion]);
  const decompress = lib.func('tj3Decompress8', 'int', ['void *', 'const uint8_t *', 'size_t', 'uint8_t *', 'int', 'int']);
  const open = (): unknown => {
    const handle: unknown = init(TJINIT_DECOMPRESS);
    // The same IDCT flag as @julusian/jpeg-turbo's full-size decode (TJFLAG_FASTDCT); the scaled IDCTs ignore it.
    if (handle) set(handle, TJPARAM_FASTDCT, 1);
    return handle;
  };
  const prepare = (handle: unknown, jpeg: Uint8Array, width: number, height: number, denom: number, out: Uint8Array) =>
    out.length >= Math.ceil(width / denom) * Math.ceil(height / denom) * 3 &&
    header(handle, jpeg, jpeg.length) === 0 &&
    get(handle, TJPARAM_JPEGWIDTH) === width &&
    get(handle, TJPARAM_JPEGHEIGHT) === height &&
    setScaling(handle, { num: 1, denom }) === 0;
  // One handle for this thread's synchronous decodes (a decode worker's); each asynchronous decode has its
  // own, as several may run at once on koffi's pool.
  const handle = open();
  if (!handle) return null;
  return {
    decode(jpeg, width, height, denom, out, region) {
      if (!prepare(handle, jpeg, width, height, denom, out)) return false;
      let crop = region ? cropFor(region, width, height, denom, get(handle, TJPARAM_SUBSAMP)) : null;
      // Set on every decode (the handle keeps the last one); a region libjpeg-turbo refuses: the whole image.
      if (crop && setCropping(handle, { x: crop.x, y: crop.y, w: crop.width, h: crop.height }) !== 0) crop = null;
      if (!crop) return setCropping(handle, UNCROPPED) === 0 && decompress(handle, jpeg, jpeg.length, out, 0, TJPF_RGB) === 0;
      const stride = Math.ceil(width / denom) * 3;
      return decompress(handle, jpeg, jpeg.length, out.subarray(crop.y * stride + crop.x * 3), stride, TJPF_RGB) === 0;
    },
    decodeAsync(jpeg, width, height, denom, out) {
      const own = open();
      if (!own) return Promise.resolve(false);
      if (!prepare(own, jpeg, width, height, denom, out)) {
        destroy(own);
        return Promise.resolve(false);
      }
      return new Promise((resolve) => {
        decompress.async(own, jpeg, jpeg.length, out, 0, TJPF_RGB, (error: unknown, result: number) => {
          destroy(own);
          resolve(!error && result === 0);
        });
      });
    },
  };
}
