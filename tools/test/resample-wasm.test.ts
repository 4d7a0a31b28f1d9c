import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test-support/index.js';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { compileWasm, renderWasmModule } from '../build-wasm.mjs';

describe('the resampler WebAssembly in @imgstore/image', () => {
  it('is what its AssemblyScript source compiles to (run `npm run build:wasm` after editing it)', async () => {
    const committed = readFileSync(join(repoRoot, 'packages/image/src/resample-wasm.ts'), 'utf8');
    const bytes: Buffer = await compileWasm('resample');
    expect(renderWasmModule('resample', bytes)).toBe(committed);
  }, 60_000);
});
