import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { openStore, type StoreReader } from '@imgstore/store';
import { registerJpegCodec } from '@imgstore/codec-jpeg';
import { makeImage, makeTempDir, repoRoot, runImgstore, runProcess } from '../test-support/index.js';

// The inference story: `npm install @imgstore/store @imgstore/codec-jpeg` alone (core, codec, store,
// codec-jpeg; no sharp, no CLI, no rebuild) reads stores the CLI wrote, also once lmdb and @lmdb/* are
// removed: what an install on macOS, Windows or ARM amounts to (lmdb@2.6.8-v1 has no binary there).
let tmp: ReturnType<typeof makeTempDir>;
let app: string;
let store: string;
/** raw, lz4 and jpeg stores of the same images. */
const stores: Record<string, string> = {};

beforeAll(async () => {
  tmp = makeTempDir('imgstore-pack-');
  const images = join(tmp.dir, 'images', 'only-class');
  mkdirSync(images, { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(images, `${i}.jpg`), await makeImage(40, 30, 'jpeg', { seed: i }));
  store = join(tmp.dir, 'train.lmdb');
  const converted = await runImgstore(['convert', join(tmp.dir, 'images'), store, '--size', '16', '-q']);
  expect(converted.code, converted.stderr).toBe(0);
  stores.raw = store;
  for (const codec of ['lz4', 'jpeg']) {
    stores[codec] = join(tmp.dir, `${codec}.lmdb`);
    const run = await runImgstore(['convert', join(tmp.dir, 'images'), stores[codec]!, '--size', '24x20', '--codec', codec, '-q']);
    expect(run.code, run.stderr).toBe(0);
  }

  const packs = join(tmp.dir, 'packs');
  mkdirSync(packs);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const workspaces = ['core', 'codec', 'store', 'codec-jpeg'].flatMap((name) => ['-w', `packages/${name}`]);
  const packed = await runProcess(npm, ['pack', '--pack-destination', packs, ...workspaces], { cwd: repoRoot });
  expect(packed.code, packed.stderr).toBe(0);
  const tarballs = readdirSync(packs).map((name) => join(packs, name));
  expect(tarballs).toHaveLength(4);

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
    expect(existsSync(join(modules, '@imgstore/codec-jpeg'))).toBe(true);
    // No native build tooling either: every native package comes prebuilt or is optional.
    for (const name of ['cmake-js', 'node-gyp', 'prebuild-install']) expect(existsSync(join(modules, name)), name).toBe(false);
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

/** Every record of a store, hashed: names, labels, shapes, pixels (jpeg: decoded). Same code in the app scripts. */
const DIGEST = `
  const hash = createHash('sha256');
  for (let i = 0; i < store.length; i++) {
    const { name, label, shape, data } = store.get(i);
    hash.update(JSON.stringify([name, label, shape]));
    hash.update(data);
  }
  const slot = new Uint8Array(store.length ? store.get(0).data.length : 0);
  if (store.length) store.readInto(store.length - 1, slot, 0);
  hash.update(slot);`;

/** The DIGEST code above, run here on the repo's own reader: the app scripts and this test hash alike. */
const hashStore = new Function('store', 'createHash', `${DIGEST}\n  return hash;`) as (store: StoreReader, create: typeof createHash) => Hash;

function digest(path: string): { engine: string; length: number; digest: string } {
  const store = openStore(path, { engine: 'typescript' });
  const hash = hashStore(store, createHash);
  void store.close();
  return { engine: store.engine, length: store.length, digest: hash.digest('hex') };
}

describe('installed without lmdb (as on macOS, Windows, linux-arm64)', () => {
  it('reads raw, lz4 and jpeg stores from ESM and CommonJS with the TypeScript engine, the same pixels as the repo', async () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, 'lmdb'))).toBe(true);
    rmSync(join(modules, 'lmdb'), { recursive: true, force: true });
    rmSync(join(modules, '@lmdb'), { recursive: true, force: true });

    const body = `
      registerJpegCodec();
      const out = {};
      for (const path of process.argv.slice(2)) {
        const store = openStore(path);
        ${DIGEST}
        out[path] = { engine: store.engine, length: store.length, digest: hash.digest('hex') };
        await store.close();
      }
      console.log(JSON.stringify(out));`;
    writeFileSync(
      join(app, 'read-all.mjs'),
      `import { createHash } from 'node:crypto';\nimport { openStore } from '@imgstore/store';\nimport { registerJpegCodec } from '@imgstore/codec-jpeg';\n${body}`,
    );
    writeFileSync(
      join(app, 'read-all.cjs'),
      `const { createHash } = require('node:crypto');\nconst { openStore } = require('@imgstore/store');\nconst { registerJpegCodec } = require('@imgstore/codec-jpeg');\n(async () => {${body}})();`,
    );

    registerJpegCodec();
    const expected = Object.fromEntries(Object.values(stores).map((path) => [path, digest(path)]));
    expect(Object.values(expected).map((e) => e.length)).toEqual([4, 4, 4]);
    for (const script of ['read-all.mjs', 'read-all.cjs']) {
      const run = await runProcess(process.execPath, [script, ...Object.values(stores)], { cwd: app });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout), script).toEqual(expected);
    }
  });
});
