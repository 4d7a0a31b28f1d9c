import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, openStore, shardStoreName, type StoreReader } from '@imgstore/store';
import { cliBin, makeImage, makeTempDir, repoRoot, runImgstore, runProcess } from '../../../tools/test-support/index.js';

// The Python package from its sources on Debian's Python (as tools/test/python-reader.test.ts; skipped without it).
const python = '/usr/bin/python3';
const pythonEnv = { PYTHONPATH: join(repoRoot, 'python/src'), PYTHONDONTWRITEBYTECODE: '1' };
const pythonReady = existsSync(python) && spawnSync(python, ['-c', 'import lmdb, msgpack, lz4, numpy'], { stdio: 'ignore' }).status === 0;

// `convert --append`: a second folder added to a finished store, killed with kill -9 part-way, resumed,
// and compared with a one-shot conversion of both folders.
const args = ['--size', '24x20', '-j', '4'];
let tmp: ReturnType<typeof makeTempDir>;
let first: string; // a/000-039, b/000-039
let second: string; // b/000-009 (the same files: already in the store), b/100-139, c/000-079, c/bad.jpg
let both: string;
let base: string; // the store of `first`
let reference: string; // the one-shot conversion of `both`

async function writeImages(folder: string, cls: string, from: number, to: number) {
  mkdirSync(join(folder, cls), { recursive: true });
  for (let i = from; i < to; i++) {
    writeFileSync(join(folder, cls, `${String(i).padStart(3, '0')}.jpg`), await makeImage(64, 48, 'jpeg', { seed: cls.charCodeAt(0) * 1000 + i }));
  }
}

beforeAll(async () => {
  tmp = makeTempDir('imgstore-append-');
  [first, second, both] = ['first', 'second', 'both'].map((name) => join(tmp.dir, name)) as [string, string, string];
  await writeImages(first, 'a', 0, 40);
  await writeImages(first, 'b', 0, 40);
  mkdirSync(join(second, 'b'), { recursive: true });
  for (let i = 0; i < 10; i++) copyFileSync(join(first, 'b', `00${i}.jpg`), join(second, 'b', `00${i}.jpg`));
  await writeImages(second, 'b', 100, 140);
  await writeImages(second, 'c', 0, 80);
  writeFileSync(join(second, 'c', 'bad.jpg'), 'not an image');
  cpSync(first, both, { recursive: true });
  cpSync(second, both, { recursive: true });
  base = join(tmp.dir, 'base.lmdb');
  reference = join(tmp.dir, 'reference.lmdb');
  for (const [folder, store] of [
    [first, base],
    [both, reference],
  ] as const) {
    const run = await runImgstore(['convert', folder, store, ...args, '-q']);
    expect(run.code, run.stderr).toBe(0);
  }
}, 180_000);
afterAll(() => tmp.cleanup());

/** Starts `convert <second> <store> --append` and sends SIGKILL once the progress reports `killAt` inputs done. */
function appendUntilKilled(store: string, killAt: number) {
  return new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, 'convert', second, store, '--append', '-j', '4', '--progress-interval', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const done = [...stderr.matchAll(/convert (\d+)\//g)].map((m) => Number(m[1]));
      if (!sent && done.length && done[done.length - 1]! >= killAt) {
        sent = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, stderr }));
  });
}

function byName(store: StoreReader) {
  const map = new Map<string, { label: string | null; data: Buffer }>();
  for (let i = 0; i < store.length; i++) {
    const s = store.get(i);
    expect(map.has(s.name), `${s.name} stored twice`).toBe(false);
    map.set(s.name, { label: s.label === null ? null : store.header.labelNames![s.label]!, data: Buffer.from(s.data) });
  }
  return map;
}

describe('imgstore convert --append', () => {
  it('kill -9 during an append leaves the previous store readable; --resume finishes it, equal to a one-shot conversion', async () => {
    const store = join(tmp.dir, 'grown.lmdb');
    cpSync(base, store, { recursive: true });
    const baseStore = openStore(base);
    const baseRecords = [...Array(baseStore.length).keys()].map((i) => baseStore.getStoredBytes(i));
    await baseStore.close();

    // 10 skipped + 64 records (the first commit) are done by input 74: the kill lands after a commit.
    const killed = await appendUntilKilled(store, 80);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');

    // The previous store, exactly: the header still counts 80 records, and they are unchanged.
    const during = openStore(store);
    expect(during.length).toBe(80);
    expect(during.header.labelNames).toEqual(['a', 'b']);
    expect(during.rejects()).toEqual([]);
    for (let i = 0; i < 80; i++) expect(during.getStoredBytes(i).equals(baseRecords[i]!), `record ${i}`).toBe(true);
    await during.close();
    if (pythonReady) {
      const py = await runProcess(python, ['-m', 'imgstore.dump', store], { env: pythonEnv });
      expect(py.code, py.stderr).toBe(0);
      const names = py.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name);
      expect(names).toHaveLength(80);
      expect(names[79]).toBe('b/039.jpg');
    }
    const verify = await runImgstore(['verify', store]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    // Another append is refused until this one is finished.
    const refused = await runImgstore(['convert', second, store, '--append', '-q']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/append into .* was interrupted after \d+ records; finish it first: the same command with --resume/);
    // --resume without --append does not take the store for finished.
    const plainResume = await runImgstore(['convert', second, store, '--resume', '-q']);
    expect(plainResume.code).toBe(1);
    expect(plainResume.stderr).toMatch(/is complete but an append into it was interrupted: finish it with --append --resume/);

    // Inputs the killed run committed are not decoded again: if the resume read them, they would be rejects.
    const originals = [100, 101, 102, 103, 104].map((i) => {
      const path = join(second, 'b', `${i}.jpg`);
      const bytes = readFileSync(path);
      writeFileSync(path, 'garbage now');
      return [path, bytes] as const;
    });
    const resumed = await runImgstore(['convert', second, store, '--append', '--resume', '-q']);
    for (const [path, bytes] of originals) writeFileSync(path, bytes);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/Resumed after \d+ inputs already committed/);
    expect(resumed.stdout).toMatch(/Appended 120 of 131 inputs to .* \(now 200 records, .*; 10 already in the store \(skipped\), 1 rejected/);
    expect(resumed.stdout).toContain('rejected c/bad.jpg');

    // Every record equals the one-shot conversion's record of the same name (pixels and label name).
    const [one, grown] = [openStore(reference), openStore(store)];
    try {
      expect(grown.length).toBe(one.length);
      expect(grown.header.labelNames).toEqual(['a', 'b', 'c']); // new names after the store's
      expect(grown.header.labelNames).toEqual(one.header.labelNames);
      expect(grown.header.labelCounts).toEqual(one.header.labelCounts);
      expect(grown.rejects()).toEqual(one.rejects());
      const expected = byName(one);
      const actual = byName(grown);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [name, record] of expected) {
        expect(actual.get(name)!.label, name).toBe(record.label);
        expect(actual.get(name)!.data.equals(record.data), name).toBe(true);
      }
      // The store's records come first, unchanged; the appended ones follow in the folder's order.
      for (let i = 0; i < 80; i++) expect(grown.getStoredBytes(i).equals(baseRecords[i]!)).toBe(true);
      expect(grown.get(80).name).toBe('b/100.jpg');
    } finally {
      await one.close();
      await grown.close();
    }

    // The same folder once more: every name is already in the store (the reject is tried again).
    const again = await runImgstore(['convert', second, store, '--append', '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Appended 0 of 131 inputs to .* \(now 200 records, .*; 130 already in the store \(skipped\), 1 rejected/);
  });

  it("takes the store's settings, refuses other ones and a folder whose labelling differs", async () => {
    const store = join(tmp.dir, 'settings.lmdb');
    cpSync(base, store, { recursive: true });
    const size = await runImgstore(['convert', second, store, '--append', '--size', '32x32', '-q']);
    expect(size.code, size.stderr).toBe(2); // a usage error, as other invalid options
    expect(size.stderr).toMatch(/Expected the shape of store .*\[20,24,3\] for shape but received \[32,32,3\]/);
    const fit = await runImgstore(['convert', second, store, '--append', '--fit', 'fill', '-q']);
    expect(fit.code, fit.stderr).toBe(2);
    expect(fit.stderr).toMatch(/Expected the fit of store .*'cover' for fit/);
    const flat = join(tmp.dir, 'flat');
    mkdirSync(flat);
    copyFileSync(join(first, 'a', '000.jpg'), join(flat, 'x.jpg'));
    const unlabeled = await runImgstore(['convert', flat, store, '--append', '-q']);
    expect(unlabeled.code, unlabeled.stderr).toBe(1);
    expect(unlabeled.stderr).toMatch(/Store .* is labeled \(a, b\.\.\.\) but folder .* has no labels/);
    const missing = await runImgstore(['convert', flat, join(tmp.dir, 'nothing.lmdb'), '--append', '-q']);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/nothing\.lmdb/);
    const usage = await runImgstore(['convert', flat, store, '--append', '--overwrite']);
    expect(usage.code).toBe(2);
    // Nothing was changed by the refused runs.
    const unchanged = openStore(store);
    expect(unchanged.length).toBe(80);
    await unchanged.close();
  });

  it('a sharded dataset: append to a shard, then imgstore manifest again', async () => {
    const dataset = join(tmp.dir, 'shards');
    for (const index of [0, 1]) {
      const run = await runImgstore(['convert', first, dataset, ...args, '--shard-count', '2', '--shard-index', String(index), '-q']);
      expect(run.code, run.stderr).toBe(0);
    }
    expect((await runImgstore(['manifest', dataset])).code).toBe(0);
    const more = join(tmp.dir, 'more');
    await writeImages(more, 'a', 200, 206);
    const appended = await runImgstore(['convert', more, join(dataset, shardStoreName(1, 2)), '--append', '-q']);
    expect(appended.code, appended.stderr).toBe(0);
    // The manifest no longer describes the shard: refused until it is written again.
    expect(() => openDataset(dataset)).toThrow(/has 46 records, the manifest says 40/);
    expect((await runImgstore(['manifest', dataset])).code).toBe(0);
    const joined = openDataset(dataset);
    expect(joined.length).toBe(86);
    expect(joined.get(85).name).toBe('a/205.jpg');
    await joined.close();
  });
});
