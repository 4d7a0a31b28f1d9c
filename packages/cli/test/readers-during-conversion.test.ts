import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openStore } from '@imgstore/store';
import { DataLoader } from '@imgstore/dataset';
import { cliBin, makeTempDir, repoRoot } from '../../../tools/test-support/index.js';

// Readers in other processes and in worker threads read a store while the real CLI writes it. Each input
// is a solid colour given by its number, so every pixel of every record read can be checked.
const INPUTS = 300;
const SIZE = 16;
const colour = (i: number) => [(i * 3) % 256, (i * 7) % 256, (i * 11) % 256] as const;

const READER = `
import { openStore } from '@imgstore/store';
const [path] = process.argv.slice(1);
const colour = (i) => [(i * 3) % 256, (i * 7) % 256, (i * 11) % 256];
let last = 0, snapshots = 0, partial = 0;
for (;;) {
  const store = openStore(path, { allowIncomplete: true });
  snapshots++;
  if (store.length < last) throw new Error('snapshot went back from ' + last + ' to ' + store.length);
  last = store.length;
  for (const sample of store) {
    const c = colour(Number(/(\\d+)/.exec(sample.name)[1]));
    for (let p = 0; p < sample.data.length; p++) {
      if (sample.data[p] !== c[p % 3]) throw new Error('record ' + sample.index + ' has a wrong pixel at ' + p);
    }
  }
  const complete = store.complete;
  await store.close();
  if (complete) break;
  if (++partial === 1) console.log('partial ' + last);
}
console.log(JSON.stringify({ snapshots, partial, length: last }));
`;

let tmp: ReturnType<typeof makeTempDir>;
let folder: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-readers-');
  folder = join(tmp.dir, 'images');
  mkdirSync(folder);
  for (let i = 0; i < INPUTS; i++) {
    const [r, g, b] = colour(i);
    const png = await sharp({ create: { width: 24, height: 20, channels: 3, background: { r, g, b } } }).png().toBuffer();
    writeFileSync(join(folder, `${String(i).padStart(4, '0')}.png`), png);
  }
}, 60_000);
afterAll(() => tmp.cleanup());

interface Collected {
  stdout: string;
  stderr: string;
  closed: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Gathers a child's output as it comes (`stdout` grows) and its exit. */
function collect(child: ChildProcess): Collected {
  const out: Collected = { stdout: '', stderr: '', closed: undefined as never };
  child.stdout!.on('data', (chunk) => (out.stdout += chunk));
  child.stderr!.on('data', (chunk) => (out.stderr += chunk));
  out.closed = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out.stdout, stderr: out.stderr }));
  });
  return out;
}

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('readers while a conversion writes', () => {
  it('reader processes and DataLoader workers see consistent snapshots and never a torn record', async () => {
    const path = join(tmp.dir, 'live.lmdb');
    const writer = spawn(process.execPath, [cliBin, 'convert', folder, path, '--size', `${SIZE}x${SIZE}`, '--fit', 'fill', '-j', '2', '-q'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const written = collect(writer);
    // Pause the writer once it has committed something (possibly mid-way through its next transaction).
    const committed = await until(() => {
      try {
        const store = openStore(path, { allowIncomplete: true });
        const length = store.length;
        void store.close();
        return length > 0 ? length : undefined;
      } catch {
        return undefined;
      }
    });
    writer.kill('SIGSTOP');

    const readers = Array.from({ length: 3 }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', READER, path], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const results = readers.map(collect);
    await until(() => (results.every((r) => r.stdout.includes('partial') || r.stderr !== '') ? true : undefined));

    // Worker threads read the paused (unfinished) store too.
    const snapshot = openStore(path, { allowIncomplete: true });
    expect(snapshot.complete).toBe(false);
    expect(snapshot.length).toBeGreaterThanOrEqual(committed);
    expect(snapshot.length).toBeLessThan(INPUTS);
    const loader = new DataLoader(snapshot, { batchSize: 16, workers: 2, shuffle: true, seed: 1 });
    writer.kill('SIGCONT'); // the workers read while the conversion goes on
    const seen = new Set<number>();
    for await (const batch of loader) {
      batch.indices.forEach((index, k) => {
        seen.add(index);
        const c = colour(Number(/(\d+)/.exec(snapshot.get(index).name)![1]));
        const pixels = batch.data.subarray(k * SIZE * SIZE * 3, (k + 1) * SIZE * SIZE * 3);
        expect(pixels.every((v, p) => v === c[p % 3])).toBe(true);
      });
    }
    await loader.close();
    expect(seen.size).toBe(snapshot.length);
    await snapshot.close();

    const done = await written.closed;
    expect(done.code, done.stderr).toBe(0);
    for (const result of await Promise.all(results.map((r) => r.closed))) {
      expect(result.stderr).toBe('');
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^partial \d+$/);
      const summary = JSON.parse(lines[lines.length - 1]!);
      expect(summary.length).toBe(INPUTS);
      expect(summary.partial).toBeGreaterThanOrEqual(1);
    }
    const final = openStore(path);
    expect(final.length).toBe(INPUTS);
    await final.close();
  }, 60_000);
});
