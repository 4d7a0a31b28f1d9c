import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, StoreFormatError } from '@imgstore/core';
import { openDataset, openStore, shardStoreName } from '@imgstore/store';
import { DataLoader, DistributedSampler } from '@imgstore/dataset';
import { makeImage, makeTempDir, runImgstore } from '../../../tools/test-support/index.js';

// Shards converted by separate processes, as cluster tasks would, joined by a manifest, read as one.
const args = ['--size', '20x16', '-j', '2', '-q'];
let tmp: ReturnType<typeof makeTempDir>;
let folder: string;
let single: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-shards-');
  folder = join(tmp.dir, 'images');
  for (const cls of ['ant', 'bee', 'cat']) {
    mkdirSync(join(folder, cls), { recursive: true });
    for (let i = 0; i < 23; i++) writeFileSync(join(folder, cls, `${i}.png`), await makeImage(30, 24, 'png', { seed: cls.charCodeAt(0) * 100 + i }));
  }
  writeFileSync(join(folder, 'bee', 'broken.jpg'), 'not an image');
  single = join(tmp.dir, 'single.lmdb');
  expect((await runImgstore(['convert', folder, single, ...args])).code).toBe(0);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('sharded conversion', () => {
  it('3 shard processes (index from the flag, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID) + manifest = the single-store conversion, record for record', async () => {
    const out = join(tmp.dir, 'dataset');
    const runs = await Promise.all([
      runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '0', ...args]),
      runImgstore(['convert', folder, out, '--shard-count', '3', ...args], { env: { JOB_COMPLETION_INDEX: '1' } }),
      // Slurm array 1-3: task 3 is shard 2; the count comes from Slurm too.
      runImgstore(['convert', folder, out, ...args], { env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' } }),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    for (let i = 0; i < 3; i++) expect(existsSync(join(out, shardStoreName(i, 3)))).toBe(true);

    const manifestRun = await runImgstore(['manifest', out]);
    expect(manifestRun.code, manifestRun.stderr).toBe(0);
    expect(manifestRun.stdout).toContain(`Wrote ${join(out, MANIFEST_FILE)}: 3 shards, 69 records, 1 rejected`);
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8'));
    expect(manifest.shards.map((s: { records: number }) => s.records).reduce((a: number, b: number) => a + b)).toBe(69);

    const [dataset, reference] = [openDataset(out), openStore(single)];
    try {
      expect(dataset.length).toBe(reference.length);
      expect(dataset.labelNames).toEqual(['ant', 'bee', 'cat']);
      for (let i = 0; i < reference.length; i++) {
        const { shard, local } = dataset.locate(i);
        expect(dataset.shards[shard]!.getStoredBytes(local).equals(reference.getStoredBytes(i)), `record ${i}`).toBe(true);
        expect(dataset.get(i).index).toBe(i);
      }
      expect(dataset.rejects()).toEqual(reference.rejects());
      expect(dataset.labelCounts).toEqual([23, 23, 23]);
      expect(reference.header.labelCounts).toEqual([23, 23, 23]);

      // DistributedSampler over the sharded dataset: 4 ranks, equal counts, together every index.
      const perRank = [0, 1, 2, 3].map((rank) => [...new DistributedSampler({ length: dataset.length, rank, worldSize: 4, seed: 5 }).indices(0)]);
      expect(new Set(perRank.map((r) => r.length)).size).toBe(1);
      expect(new Set(perRank.flat()).size).toBe(dataset.length);

      // DataLoader workers reopen the sharded dataset from its manifest.
      const loader = new DataLoader(dataset, { batchSize: 8, workers: 2, shuffle: true, seed: 2 });
      const seen: number[] = [];
      for await (const batch of loader) {
        batch.indices.forEach((index, k) => {
          seen.push(index);
          const bytes = 20 * 16 * 3;
          expect(Buffer.from(batch.data.subarray(k * bytes, (k + 1) * bytes)).equals(Buffer.from(reference.get(index).data))).toBe(true);
        });
      }
      await loader.close();
      expect(seen.sort((a, b) => a - b)).toEqual([...Array(reference.length).keys()]);
    } finally {
      await Promise.all([dataset.close(), reference.close()]);
    }
  });

  it('info on a dataset folder: shards, records, label distribution', async () => {
    const out = join(tmp.dir, 'dataset'); // converted by the test above
    const info = await runImgstore(['info', out]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain(`dataset     ${out} (3 shards)`);
    expect(info.stdout).toContain('labels      3: ant 23 (33.3%), bee 23 (33.3%), cat 23 (33.3%)');
    expect(info.stdout).toMatch(/shard 2 {2}23 records, 1 rejected/); // bee/broken.jpg sorts last among bee/
    const json = JSON.parse((await runImgstore(['info', out, '--json', '--rejects'])).stdout);
    expect(json).toMatchObject({ records: 69, labelCounts: [23, 23, 23], rejects: [{ name: 'bee/broken.jpg' }] });
  });

  it('the manifest refuses a missing shard and shards that disagree; openDataset refuses a shard converted again', async () => {
    const out = join(tmp.dir, 'partial');
    expect((await runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '0', ...args])).code).toBe(0);
    expect((await runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '2', ...args])).code).toBe(0);
    const missing = await runImgstore(['manifest', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${out} is missing shard(s) 1 of 3`);

    const other = ['--size', '8x8', '-q'];
    expect((await runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '1', ...other])).code).toBe(0);
    const mismatch = await runImgstore(['manifest', out]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/Shards disagree on shape: shard-00000-of-00003\.lmdb has \[16,20,3\], shard-00001-of-00003\.lmdb has \[8,8,3\]/);

    expect((await runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '1', '--overwrite', ...args])).code).toBe(0);
    expect((await runImgstore(['manifest', out])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await runImgstore(['convert', folder, out, '--shard-count', '3', '--shard-index', '2', '--overwrite', ...args])).code).toBe(0);
    expect(() => openDataset(out)).toThrow(StoreFormatError);
    expect(() => openDataset(out)).toThrow(/shard 2 \(shard-00002-of-00003\.lmdb\) was written at .* as the manifest says \(converted again\? rebuild the manifest\)/);
  });

  it('shard options: usage errors name the option', async () => {
    const noCount = await runImgstore(['convert', folder, join(tmp.dir, 'x'), '--shard-index', '1']);
    expect(noCount.code).toBe(2);
    expect(noCount.stderr).toContain('--shard-index needs --shard-count');
    const noIndex = await runImgstore(['convert', folder, join(tmp.dir, 'x'), '--shard-count', '4']);
    expect(noIndex.code).toBe(2);
    expect(noIndex.stderr).toContain('--shard-count needs a shard index');
    const tooBig = await runImgstore(['convert', folder, join(tmp.dir, 'x'), '--shard-count', '4'], { env: { JOB_COMPLETION_INDEX: '4' } });
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('Shard index 4 (from JOB_COMPLETION_INDEX) is not below the shard count 4');
  });
});
