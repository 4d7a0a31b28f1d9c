import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '@imgstore/store';
import { makeTempDir, runImgstore, samplesDir } from '../../../tools/test-support/index.js';

const tmp = makeTempDir('imgstore-wds-cli-');
afterAll(tmp.cleanup);

describe('imgstore export --format webdataset, then imgstore convert of the shards', () => {
  it('writes shards of --shard-size samples and converts them back (the printed pattern, quoted) to the same records', async () => {
    const first = join(tmp.dir, 'first.lmdb');
    expect((await runImgstore(['convert', samplesDir, first, '--size', '20x16', '-q'])).code).toBe(0);
    const wds = join(tmp.dir, 'wds');
    const exported = await runImgstore(['export', first, wds, '--format', 'webdataset', '--shard-size', '12', '-q']);
    expect(exported.code, exported.stderr).toBe(0);
    const pattern = join(wds, 'shard-{000000..000002}.tar');
    expect(exported.stdout).toContain(`Wrote 29 samples to 3 WebDataset shards: ${pattern}`);
    expect(readdirSync(wds).sort()).toEqual(['classes.txt', 'shard-000000.tar', 'shard-000001.tar', 'shard-000002.tar']);

    const second = join(tmp.dir, 'second.lmdb');
    const converted = await runImgstore(['convert', pattern, second, '--size', '20x16', '-q']);
    expect(converted.code, converted.stderr).toBe(0);
    expect(converted.stdout).toContain('Stored 29 of 29 inputs');
    const [a, b] = [openStore(first), openStore(second)];
    try {
      expect(b.header.labelNames).toEqual(a.header.labelNames);
      for (let i = 0; i < a.length; i++) {
        expect([b.get(i).label, Buffer.from(b.get(i).data).equals(Buffer.from(a.get(i).data))]).toEqual([a.get(i).label, true]);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('--shard-size without --format webdataset, a bad --shard-bytes, a pattern naming missing shards: errors naming them', async () => {
    const store = join(tmp.dir, 'first.lmdb');
    // Usage errors, checked before anything is read or written: run side by side.
    const [noFormat, badBytes, missing] = await Promise.all([
      runImgstore(['export', store, join(tmp.dir, 'x'), '--shard-size', '5']),
      runImgstore(['export', store, join(tmp.dir, 'y'), '--format', 'webdataset', '--shard-bytes', '3XB']),
      runImgstore(['convert', join(tmp.dir, 'wds', 'shard-{000000..000009}.tar'), join(tmp.dir, 'z.lmdb')]),
    ]);
    expect([noFormat.code, noFormat.stderr]).toEqual([2, expect.stringContaining('--shard-size is for --format webdataset')]);
    expect([badBytes.code, badBytes.stderr]).toEqual([2, expect.stringContaining("'--shard-bytes <size>' argument '3XB' is invalid")]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('names 7 of 10 files that do not exist')]);
  });
});
