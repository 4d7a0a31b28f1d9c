import { createRequire } from 'node:module';
import type sharpModule from 'sharp';

let loaded: typeof sharpModule | undefined;

/**
 * sharp, loaded on first use: loading libvips takes ~80 ms, and conversion of plain JPEGs, the jpeg
 * codec and every reading command never need it (the CLI starts that much sooner).
 */
export function loadSharp(): typeof sharpModule {
  return (loaded ??= createRequire(import.meta.url)('sharp') as typeof sharpModule);
}
