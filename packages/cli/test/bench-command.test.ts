import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, runImgstore, samplesDir } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
let store: string;
beforeAll(async () => {
  tmp = makeTempDir('imgstore-bench-cmd-');
  store = join(tmp.dir, 'samples.lmdb');
  expect((await runImgstore(['convert', samplesDir, store, '--size', '32', '-q'])).code).toBe(0);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('imgstore bench', () => {
  it('reads full epochs with the DataLoader and reports samples/s per epoch and their median', async () => {
    const run = await runImgstore(['bench', store, '--epochs', '2', '--batch-size', '8', '--workers', '1', '--verify', 'once', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ path: store, records: 29, shape: [32, 32, 3], batchSize: 8, workers: 1, verify: 'once' });
    expect(result.epochs).toHaveLength(2);
    expect(result.samplesPerSecond).toBeGreaterThan(0);
    const text = await runImgstore(['bench', store, '--epochs', '1']);
    expect(text.stdout).toMatch(/^fastest uint8: \d+ samples\/s, [\d.]+ GB\/s \(median of 1 shuffled epochs, batch 64, \d+ workers?, verify always\)$/m);
    expect(text.stderr).toMatch(/^epoch 1, 0 workers, uint8: \d+ samples\/s$/m);
  });

  it('tries each worker count and uint8 vs float32, and prints a rate for each with ratios', async () => {
    const auto = Math.max(1, Math.min(8, availableParallelism() - 1));
    const run = await runImgstore(['bench', store, '--epochs', '1', '--batch-size', '8', '--workers', '0,2,auto', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { runs: Array<{ workers: number; dtype: string; samplesPerSecond: number; epochs: number[]; filledIn: string }> };
    const counts = [...new Set([0, 2, auto])];
    expect(result.runs.map((r) => `${r.workers} ${r.dtype}`)).toEqual(counts.flatMap((w) => [`${w} uint8`, `${w} float32`]));
    for (const r of result.runs) {
      expect(r.epochs).toHaveLength(1);
      expect(r.samplesPerSecond).toBeGreaterThan(0);
      expect(r.filledIn).toMatch(r.workers === 0 ? /^this thread$/ : /^(workers|this thread)$/);
    }
    const text = await runImgstore(['bench', store, '--epochs', '1', '--batch-size', '8', '--workers', '0,1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}workers +dtype +samples\/s +GB\/s +vs 0 workers +vs uint8 +filled in$/m);
    expect(text.stdout).toMatch(/^ {2}0 +uint8 +\d+ +[\d.]+ +- +- +this thread$/m);
    expect(text.stdout).toMatch(/^ {2}0 +float32 +\d+ +[\d.]+ +- +[\d.]+x +this thread$/m);
    expect(text.stdout).toMatch(/^ {2}1 +uint8 +\d+ +[\d.]+ +[\d.]+x +- +(workers|this thread)(, (workers|this thread))?$/m);
    expect(text.stdout).toMatch(/^ {2}1 +float32 +\d+ +[\d.]+ +[\d.]+x +[\d.]+x +(workers|this thread)(, (workers|this thread))?$/m);
    const one = await runImgstore(['bench', store, '--epochs', '1', '--batch-size', '8', '--workers', '1', '--dtype', 'float32', '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ workers: 1, dtype: 'float32', runs: [{ workers: 1, dtype: 'float32' }] });
    const shared = await runImgstore(['bench', store, '--epochs', '1', '--batch-size', '8', '--workers', '1', '--dtype', 'float32-shared', '--json']);
    expect(JSON.parse(shared.stdout)).toMatchObject({ workers: 1, dtype: 'float32-shared', runs: [{ workers: 1, dtype: 'float32-shared' }] });
  });

  it('names a bad option', async () => {
    const bad = await runImgstore(['bench', store, '--verify', 'never']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--verify.*never.*Allowed choices are always, once/);
    const workers = await runImgstore(['bench', store, '--workers', '0,two']);
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain("--workers must be worker counts or 'auto', separated by commas, e.g. 0,1,2");
    const dtype = await runImgstore(['bench', store, '--dtype', 'float16']);
    expect(dtype.code).toBe(2);
    expect(dtype.stderr).toContain('--dtype must be one or more of uint8, float32, float32-shared, separated by commas');
  });
});
