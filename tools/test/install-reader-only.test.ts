import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '@imgstore/store';
import { makeImage, makeTempDir, repoRoot, runImgstore, runProcess } from '../test-support/index.js';

// The inference story: `npm install @imgstore/store` alone (core, codec, store; no sharp, no CLI, no rebuild)
// reads a store the CLI wrote.
let tmp: ReturnType<typeof makeTempDir>;
let app: string;
let store: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-pack-');
  const images = join(tmp.dir, 'images', 'only-class');
  mkdirSync(images, { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(images, `${i}.jpg`), await makeImage(40, 30, 'jpeg', { seed: i }));
  store = join(tmp.dir, 'train.lmdb');
  const converted = await runImgstore(['convert', join(tmp.dir, 'images'), store, '--size', '16', '-q']);
  expect(converted.code, converted.stderr).toBe(0);

  const packs = join(tmp.dir, 'packs');
  mkdirSync(packs);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = await runProcess(npm, ['pack', '--pack-destination', packs, '-w', 'packages/core', '-w', 'packages/codec', '-w', 'packages/store'], {
    cwd: repoRoot,
  });
  expect(packed.code, packed.stderr).toBe(0);
  const tarballs = readdirSync(packs).map((name) => join(packs, name));
  expect(tarballs).toHaveLength(3);

  app = join(tmp.dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'inference-app', private: true, type: 'module' }));
  const installed = await runProcess(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: app });
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);
afterAll(() => tmp.cleanup());

describe('install only the reader', () => {
  it('brings no sharp and no CLI', () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, '@imgstore/store'))).toBe(true);
    expect(existsSync(join(modules, 'sharp'))).toBe(false);
    expect(existsSync(join(modules, '@img'))).toBe(false);
    expect(existsSync(join(modules, '@imgstore/image'))).toBe(false);
    expect(existsSync(join(modules, '@imgstore/cli'))).toBe(false);
  });

  it('reads the store from a plain ESM script and a plain CommonJS script', async () => {
    const body = `
      const store = openStore(process.argv[2]);
      const sample = store.get(store.length - 1);
      console.log(JSON.stringify({ length: store.length, name: sample.name, sum: sample.data.reduce((a, b) => a + b, 0) }));
      await store.close();`;
    writeFileSync(join(app, 'read.mjs'), `import { openStore } from '@imgstore/store';\n${body}`);
    writeFileSync(join(app, 'read.cjs'), `const { openStore } = require('@imgstore/store');\n(async () => {${body}})();`);

    const reader = openStore(store);
    const last = reader.get(reader.length - 1);
    const expected = { length: 4, name: 'only-class/3.jpg', sum: last.data.reduce((a, b) => a + b, 0) };
    await reader.close();

    for (const script of ['read.mjs', 'read.cjs']) {
      const run = await runProcess(process.execPath, [script, store], { cwd: app });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(expected);
    }
  });
});
