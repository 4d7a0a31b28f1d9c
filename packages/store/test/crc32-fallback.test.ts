import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, repoRoot, runProcess } from '../../../tools/test-support/index.js';

// @node-rs/crc32 is an optional dependency: where its binary cannot load, node:zlib computes the same
// checksums. The child process below cannot resolve the module, writes a store and reads it back.
const HIDE_ACCELERATOR = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@node-rs/crc32') throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`;
const SCRIPT = `
const { createStoreWriter, openStore, crc32, crc32Implementation, sealRecord } = await import(process.argv[1]);
const path = process.argv[2];
const shape = [8, 8, 3];
const writer = createStoreWriter(path, { shape });
await writer.append({ name: 'a', label: null, shape, dtype: 'uint8', data: new Uint8Array(192).fill(7) });
await writer.finish();
const store = openStore(path);
console.log(JSON.stringify({ crc32Implementation, check: crc32(new TextEncoder().encode('123456789')), pixel: store.get(0).data[5] }));
`;

describe('CRC-32 without the optional accelerator', () => {
  it('falls back to node:zlib with the same values', async () => {
    const tmp = makeTempDir();
    try {
      const preload = join(tmp.dir, 'hide-accelerator.cjs');
      (await import('node:fs')).writeFileSync(preload, HIDE_ACCELERATOR);
      const storeModule = pathToFileURL(join(repoRoot, 'packages/store/dist/internal.js')).href;
      const run = await runProcess(process.execPath, ['--require', preload, '--input-type=module', '-e', SCRIPT, storeModule, join(tmp.dir, 's.lmdb')]);
      expect(run.stderr).toBe('');
      // 0xCBF43926 is CRC-32/ISO-HDLC of "123456789", the standard check value.
      expect(JSON.parse(run.stdout)).toEqual({ crc32Implementation: 'node:zlib', check: 0xcbf43926, pixel: 7 });
    } finally {
      tmp.cleanup();
    }
  });
});
