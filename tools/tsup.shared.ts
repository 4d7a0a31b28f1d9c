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
    ...extra,
  });
}
