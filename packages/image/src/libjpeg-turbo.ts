import { createRequire } from 'node:module';

type Turbo = typeof import('@julusian/jpeg-turbo');
let loaded: Turbo | undefined;

/**
 * libjpeg-turbo through @julusian/jpeg-turbo (a prebuilt binding with its own libturbojpeg): conversion
 * decodes plain JPEG inputs with it (see decodeImage); native SIMD decodes photos ~3× faster than the
 * WebAssembly build that @imgstore/codec-jpeg reads stores with (see that package's README).
 * Loaded on first use, like sharp (see load-sharp.ts): a process that never decodes a JPEG (a CLI
 * command that only reads a raw store) does not pay for loading it.
 */
export function turbo(): Turbo {
  return (loaded ??= createRequire(import.meta.url)('@julusian/jpeg-turbo') as Turbo);
}
