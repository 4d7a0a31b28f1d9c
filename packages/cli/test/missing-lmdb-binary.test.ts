import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliBin, makeImage, makeTempDir, runImgstore, runProcess } from '../../../tools/test-support/index.js';

// lmdb@2.6.8-v1 publishes a binary for linux-x64 only. Elsewhere (macOS, Windows, ARM) `require('lmdb')`
// fails: the CLI must refuse to convert in one line that names the platform and the build command, and
// read stores through the TypeScript engine. A preload makes 'lmdb' unresolvable, as it is there.
const HIDE_LMDB = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'lmdb') throw Object.assign(new Error("Cannot find module 'lmdb'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`;
const platform = `${process.platform}-${process.arch}`;

let tmp: ReturnType<typeof makeTempDir>;
let images: string;
let store: string;
let preload: string;

/** The CLI with lmdb hidden; NODE_OPTIONS so that the child processes it starts (verify) lack it too. */
const withoutLmdb = (args: string[]) => runProcess(process.execPath, [cliBin, ...args], { env: { NODE_OPTIONS: `--require ${preload}` } });

beforeAll(async () => {
  tmp = makeTempDir('imgstore-no-lmdb-');
  preload = join(tmp.dir, 'hide-lmdb.cjs');
  writeFileSync(preload, HIDE_LMDB);
  images = join(tmp.dir, 'images');
  for (const cls of ['a', 'b']) {
    mkdirSync(join(images, cls), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(images, cls, `${i}.jpg`), await makeImage(40, 30, 'jpeg', { seed: cls.charCodeAt(0) * 10 + i }));
  }
  // Written where lmdb loads (here), read below where it does not.
  store = join(tmp.dir, 'train.lmdb');
  const converted = await runImgstore(['convert', images, store, '--size', '16', '--codec', 'lz4', '-q']);
  expect(converted.code, converted.stderr).toBe(0);
}, 60_000);
afterAll(() => tmp.cleanup());

function expectOneLineRefusal(run: { code: number | null; stderr: string }, path: string) {
  expect(run.code).toBe(1);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^imgstore: Cannot write /);
  expect(lines[0]).toContain(path);
  expect(lines[0]).toContain(platform);
  expect(lines[0]).toContain('npm rebuild lmdb --build-from-source');
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('where lmdb-js cannot load', () => {
  it('convert fails at once in one line naming the platform and the build command; no store folder is created', async () => {
    const out = join(tmp.dir, 'new.lmdb');
    const started = performance.now();
    const run = await withoutLmdb(['convert', images, out, '--size', '16', '-q']);
    expectOneLineRefusal(run, out);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(existsSync(out)).toBe(false);
  });

  it('with --overwrite, an existing folder is left as it was', async () => {
    const out = join(tmp.dir, 'existing');
    mkdirSync(join(out, 'keep'), { recursive: true });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const run = await withoutLmdb(['convert', images, out, '--size', '16', '--overwrite', '-q']);
    expectOneLineRefusal(run, out);
    expect(readdirSync(out).sort()).toEqual(['keep', 'notes.txt']);
  });

  it('a shard conversion fails the same way', async () => {
    const out = join(tmp.dir, 'shards');
    const run = await withoutLmdb(['convert', images, out, '--size', '16', '--shard-count', '2', '--shard-index', '1', '-q']);
    expectOneLineRefusal(run, join(out, 'shard-00001-of-00002.lmdb'));
    expect(existsSync(join(out, 'shard-00001-of-00002.lmdb'))).toBe(false);
  });

  it('info reads the store with the TypeScript engine and says so (text and --json)', async () => {
    const text = await withoutLmdb(['info', store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^records {5}10$/m);
    expect(text.stdout).toMatch(/^engine {6}typescript$/m);
    const json = await withoutLmdb(['info', store, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ engine: 'typescript', records: 10 });
    // Where lmdb-js loads too, a finished store is read by the TypeScript engine (the default, 'auto').
    const native = await runImgstore(['info', store, '--json']);
    expect(JSON.parse(native.stdout)).toMatchObject({ engine: 'typescript', records: 10 });
  });

  it('verify checks every record (in its child process, without lmdb too)', async () => {
    const run = await withoutLmdb(['verify', store, '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/10/);
  });

  it('bench reads epochs and names the engine', async () => {
    const run = await withoutLmdb(['bench', store, '--epochs', '1', '--batch-size', '4']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`bench ${store}: engine typescript, 10 records`);
    expect(run.stdout).toMatch(/samples\/s/);
    const json = await withoutLmdb(['bench', store, '--epochs', '1', '--workers', '2', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ engine: 'typescript', records: 10 });
  });
});
