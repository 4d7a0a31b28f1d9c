import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(text.stdout).toMatch(/samples\/s, [\d.]+ GB\/s \(median of 1 shuffled epochs, batch 64, 0 workers, verify always\)/);
    expect(text.stderr).toMatch(/^epoch 1: \d+ samples\/s$/m);
  });

  it('names a bad option', async () => {
    const bad = await runImgstore(['bench', store, '--verify', 'never']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--verify.*never.*Allowed choices are always, once/);
  });
});
