import { defineConfig, type Options } from 'tsup';

/** The one build every package shares: ESM + CJS + .d.ts from src/index.ts (plus any extra entries). */
export function packageBuild(extra: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    // import.meta.url in the CJS build too (worker threads locate their entry files by it).
    shims: true,
    ...extra,
  });
}
