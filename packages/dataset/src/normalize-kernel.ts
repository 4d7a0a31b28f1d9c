import { NORMALIZE_SHARED_WASM_BASE64 } from './normalize-shared-wasm.js';
import { NORMALIZE_WASM_BASE64 } from './normalize-wasm.js';

/**
 * The uint8 → float32 multiply-add kernels (assembly/normalize.ts, WebAssembly SIMD). They compute in
 * float64 and round once to float32, so their output equals the plain `src[i] * gain + offset` stored
 * into a Float32Array bit for bit (see the assembly source for why not float32 arithmetic).
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  rgbToPlanes(src: number, dst: number, pixels: number, plane: number, g0: number, g1: number, g2: number, b0: number, b1: number, b2: number): void;
  rgbToPlanesSplit(src: number, dst: number, pixels: number, plane: number, params: number): void;
  interleaved3(src: number, dst: number, count: number, g0: number, g1: number, g2: number, b0: number, b1: number, b2: number): void;
}

const PAGE = 65536;
/** Pixels per chunk when the kernel works on a copy: 12 KB in and 48 KB out, both stay in cache. */
const CHUNK = 4096;

let compiled: WebAssembly.Module | undefined;
let compiledShared: WebAssembly.Module | undefined;

/** Bytes at the start of every instance's memory for rgbToPlanesSplit's parameters. */
const PARAMS = 64;

/**
 * The float32 kernel's parameters per channel (see assembly/normalize.ts, rgbToPlanesSplit): m, the integer
 * nearest −offset / gain; gh, the gain rounded to 14 bits; gl = gain − gh; r = m · gain + offset.
 */
export interface SplitParams {
  m: [number, number, number];
  gh: [number, number, number];
  gl: [number, number, number];
  r: [number, number, number];
}

function round14(g: number): number {
  const quantum = 2 ** (Math.floor(Math.log2(Math.abs(g))) - 13);
  return Math.round(g / quantum) * quantum;
}

/** ulps between two float32 values (their positions in the ordered float32 line). */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  const order = (i: number) => (i < 0 ? -0x80000000 - i : i);
  return Math.abs(order(bits[0]!) - order(bits[1]!));
}

/**
 * The float32 kernel's parameters for 3 channels, if its result is within 1 ulp of the float64 definition
 * `Math.fround(x * gain[c] + offset[c])` for every one of the 256 inputs of every channel (checked here, by
 * the kernel's own float32 operations); else null, and the float64 kernel (bit-equal) is used.
 */
export function splitParams(gain: readonly number[], offset: readonly number[]): SplitParams | null {
  const f = Math.fround;
  const p: SplitParams = { m: [0, 0, 0], gh: [0, 0, 0], gl: [0, 0, 0], r: [0, 0, 0] };
  for (let c = 0; c < 3; c++) {
    const g = gain[c]!;
    const b = offset[c]!;
    if (g === 0 || !Number.isFinite(g) || !Number.isFinite(b)) return null;
    const m = Math.round(-b / g);
    if (Math.abs(m) > 2 ** 24) return null;
    const gh = f(round14(g));
    const gl = f(g - gh);
    const r = f(m * g + b);
    for (let x = 0; x < 256; x++) {
      const d = x - m;
      if (ulps(f(f(d * gh) + f(f(d * gl) + r)), f(x * g + b)) > 1) return null;
    }
    p.m[c] = m;
    p.gh[c] = gh;
    p.gl[c] = gl;
    p.r[c] = r;
  }
  return p;
}

function writeParams(kernels: Exports, at: number, p: SplitParams): void {
  const buffer = kernels.memory.buffer;
  new Int32Array(buffer, at, 3).set(p.m);
  new Float32Array(buffer, at + 12, 9).set([...p.gh, ...p.gl, ...p.r]);
}

function instantiate(bytes: number): { kernels: Exports; base: number } {
  compiled ??= new WebAssembly.Module(Buffer.from(NORMALIZE_WASM_BASE64, 'base64'));
  const kernels = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
  // The first PARAMS bytes from `base` hold rgbToPlanesSplit's parameters.
  const base = ((kernels.heapBase() + 63) & ~63) + PARAMS;
  const have = kernels.memory.buffer.byteLength;
  if (base + bytes > have) kernels.memory.grow(Math.ceil((base + bytes - have) / PAGE));
  return { kernels, base };
}

/** Memories whose arrays the kernels read and write in place: their buffer → their kernels. */
const arenas = new WeakMap<ArrayBuffer, { kernels: Exports; params: number }>();

/**
 * `bytes` of memory that the kernels work on in place (no copy in, no copy out), from `offset` on: for
 * batch buffers that stay in this thread. The buffer never grows (growing would detach every view).
 * Null when the memory cannot be had (more than WebAssembly's 4 GiB, or no memory for it).
 */
export function kernelArena(bytes: number): { buffer: ArrayBuffer; offset: number } | null {
  if (bytes > 2 ** 32 - 2 * PAGE) return null;
  try {
    const { kernels, base } = instantiate(bytes);
    arenas.set(kernels.memory.buffer, { kernels, params: base - PARAMS });
    return { buffer: kernels.memory.buffer, offset: base };
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * The start of a shared arena: the module's own data below it, then each thread's rgbToPlanesSplit
 * parameters (PARAMS bytes per thread index).
 */
const SHARED_RESERVED = PAGE;

/** Batch memory that worker threads fill in place: a shared WebAssembly memory, free from `offset` on. */
export interface SharedArena {
  memory: WebAssembly.Memory;
  offset: number;
}

/** The shared kernels of this thread on `memory`, with parameters at its thread index's place. */
function joinShared(memory: WebAssembly.Memory, thread: number): Exports {
  compiledShared ??= new WebAssembly.Module(Buffer.from(NORMALIZE_SHARED_WASM_BASE64, 'base64'));
  const kernels = new WebAssembly.Instance(compiledShared, { env: { memory } }).exports as unknown as Exports;
  const params = ((kernels.heapBase() + 63) & ~63) + thread * PARAMS;
  if (params + PARAMS > SHARED_RESERVED) throw new RangeError(`No room for the kernel parameters of thread ${thread}`);
  arenas.set(memory.buffer as ArrayBuffer, { kernels, params });
  return kernels;
}

/**
 * `bytes` of shared memory (a SharedArrayBuffer under a WebAssembly.Memory) for batch buffers that
 * worker threads fill: each joins it (joinSharedArena) and its kernels then read and write the buffers in
 * place, as this thread's do in a kernelArena, instead of through a cache-sized scratch and a copy
 * (~120 µs against ~200–250 µs per 256×256 sample, measured). Null when it cannot be had (more than
 * 4 GiB, no memory for it, or no shared WebAssembly memory in this runtime).
 */
export function sharedKernelArena(bytes: number): SharedArena | null {
  const pages = Math.ceil((SHARED_RESERVED + bytes) / PAGE);
  if (pages > 65536) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    joinShared(memory, 0);
    return { memory, offset: SHARED_RESERVED };
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError || error instanceof WebAssembly.LinkError) return null;
    throw error;
  }
}

/**
 * Lets this thread's kernels work in place on arrays of `memory` (a sharedKernelArena's, sent to a
 * worker): `thread` (1, 2, …; 0 is the thread that made it) keeps its parameters apart from the
 * others'. Returns the memory's buffer, for views of it.
 */
export function joinSharedArena(memory: WebAssembly.Memory, thread: number): SharedArrayBuffer {
  joinShared(memory, thread);
  return memory.buffer as unknown as SharedArrayBuffer;
}

/** This thread's kernels with a scratch area, for arrays outside any arena. */
let scratch: { kernels: Exports; base: number; params: number; input: Uint8Array; planes: Float32Array[] } | undefined;

function scratchKernels(): NonNullable<typeof scratch> {
  if (!scratch) {
    const { kernels, base } = instantiate(CHUNK * 3 + CHUNK * 3 * 4);
    const buffer = kernels.memory.buffer;
    const out = base + CHUNK * 3;
    scratch = {
      kernels,
      base,
      params: base - PARAMS,
      input: new Uint8Array(buffer, base, CHUNK * 3),
      planes: [0, 1, 2].map((c) => new Float32Array(buffer, out + c * CHUNK * 4, CHUNK)),
    };
  }
  return scratch;
}

/**
 * Interleaved 3-channel pixels → three planes (CHW), each value `x * gain[c] + offset[c]`: `pixels`
 * pixels from `src` at byte `from`, into `dst` at value `to` (plane c at `to + c * pixels`). With `split`
 * (see splitParams) in float32 arithmetic, within 1 ulp; else in float64, bit-equal.
 */
export function rgbToPlanes(
  src: Uint8Array,
  from: number,
  dst: Float32Array,
  to: number,
  pixels: number,
  gain: readonly number[],
  offset: readonly number[],
  split?: SplitParams | null,
): void {
  const [g0, g1, g2] = gain as [number, number, number];
  const [b0, b1, b2] = offset as [number, number, number];
  const arena = arenas.get(dst.buffer as ArrayBuffer);
  if (arena && src.buffer === dst.buffer) {
    const { kernels, params } = arena;
    if (split) {
      writeParams(kernels, params, split);
      kernels.rgbToPlanesSplit(src.byteOffset + from, dst.byteOffset + to * 4, pixels, pixels, params);
    } else {
      kernels.rgbToPlanes(src.byteOffset + from, dst.byteOffset + to * 4, pixels, pixels, g0, g1, g2, b0, b1, b2);
    }
    return;
  }
  const { kernels, base, params, input, planes } = scratchKernels();
  if (split) writeParams(kernels, params, split);
  const out = base + CHUNK * 3;
  for (let p = 0; p < pixels; p += CHUNK) {
    const n = Math.min(CHUNK, pixels - p);
    input.set(src.subarray(from + p * 3, from + (p + n) * 3));
    if (split) kernels.rgbToPlanesSplit(base, out, n, CHUNK, params);
    else kernels.rgbToPlanes(base, out, n, CHUNK, g0, g1, g2, b0, b1, b2);
    for (let c = 0; c < 3; c++) dst.set(n === CHUNK ? planes[c]! : planes[c]!.subarray(0, n), to + c * pixels + p);
  }
}

/**
 * `count` values in place order (HWC stays HWC), value k with channel k % 3's gain and offset (pass one
 * channel's thrice for grey): from `src` at byte `from` into `dst` at value `to`.
 */
export function interleaved3(src: Uint8Array, from: number, dst: Float32Array, to: number, count: number, gain: readonly number[], offset: readonly number[]): void {
  const [g0, g1, g2] = gain as [number, number, number];
  const [b0, b1, b2] = offset as [number, number, number];
  const arena = arenas.get(dst.buffer as ArrayBuffer);
  if (arena && src.buffer === dst.buffer) {
    arena.kernels.interleaved3(src.byteOffset + from, dst.byteOffset + to * 4, count, g0, g1, g2, b0, b1, b2);
    return;
  }
  const { kernels, base, input } = scratchKernels();
  const out = base + CHUNK * 3;
  const values = new Float32Array(kernels.memory.buffer, out, CHUNK * 3);
  // Chunks of a multiple of 3 values, so that every chunk starts at channel 0.
  for (let k = 0; k < count; k += CHUNK * 3) {
    const n = Math.min(CHUNK * 3, count - k);
    input.set(src.subarray(from + k, from + k + n));
    kernels.interleaved3(base, out, n, g0, g1, g2, b0, b1, b2);
    dst.set(n === CHUNK * 3 ? values : values.subarray(0, n), to + k);
  }
}
