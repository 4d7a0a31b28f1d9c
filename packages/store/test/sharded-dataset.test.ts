import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, StoreFormatError } from '@imgstore/core';
import { buildManifest, createStoreWriter, openDataset, shardStoreName, writeManifest } from '@imgstore/store';
import { makeTempDir } from '../../../tools/test-support/index.js';

const shape: [number, number, number] = [2, 2, 3];
let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

/** Writes shard stores of the given sizes; record names are their global index. */
async function writeShards(dir: string, sizes: number[], options: { shape?: [number, number, number] } = {}) {
  let next = 0;
  for (const [index, size] of sizes.entries()) {
    const recordShape = options.shape ?? shape;
    const writer = createStoreWriter(join(dir, shardStoreName(index, sizes.length)), { shape: recordShape, labelNames: ['a', 'b'] });
    for (let i = 0; i < size; i++, next++) {
      const data = new Uint8Array(recordShape[0] * recordShape[1] * 3).fill(next);
      await writer.append({ name: `${next}`, label: next % 2, shape: recordShape, dtype: 'uint8', data });
    }
    await writer.finish();
  }
}

describe('openDataset over shards', () => {
  it('one global index across shards of different sizes (empty ones included)', async () => {
    const dir = join(tmp.dir, 'ds');
    await writeShards(dir, [3, 0, 5, 1]);
    const manifest = writeManifest(dir);
    expect(manifest).toMatchObject({ records: 9, shape, codec: 'raw', labelNames: ['a', 'b'] });
    expect(manifest.shards.map((s) => s.path)).toEqual([0, 1, 2, 3].map((i) => shardStoreName(i, 4)));
    for (const path of [dir, join(dir, MANIFEST_FILE)]) {
      const dataset = openDataset(path);
      expect(dataset.length).toBe(9);
      expect([...dataset].map((s) => [s.index, s.name, s.data[0]])).toEqual([...Array(9).keys()].map((i) => [i, `${i}`, i]));
      expect(dataset.locate(3)).toEqual({ shard: 2, local: 0 });
      expect(dataset.locate(8)).toEqual({ shard: 3, local: 0 });
      expect(() => dataset.get(9)).toThrow('Expected integer from 0 to 8 for index');
      const target = new Uint8Array(24);
      expect(dataset.readInto(7, target, 12)).toEqual({ label: 1, shape });
      expect(target[12]).toBe(7);
      expect(dataset.toSource()).toMatchObject({ factory: 'openDataset', args: [join(dir, MANIFEST_FILE), {}] });
      await dataset.close();
    }
  });

  it('a single store folder opens as a dataset of one shard', async () => {
    const dir = join(tmp.dir, 'one');
    await writeShards(dir, [4]);
    const dataset = openDataset(join(dir, shardStoreName(0, 1)));
    expect([dataset.length, dataset.shards.length]).toEqual([4, 1]);
    await dataset.close();
  });

  it('refuses mixed shard counts, shards of another shape, and a manifest path that leaves its folder', async () => {
    const dir = join(tmp.dir, 'mixed');
    await writeShards(dir, [1, 1]);
    await writeShards(join(tmp.dir, 'other'), [1, 1, 1]);
    const { renameSync } = await import('node:fs');
    renameSync(join(tmp.dir, 'other', shardStoreName(2, 3)), join(dir, shardStoreName(2, 3)));
    expect(() => buildManifest(dir)).toThrow(/mixes shards of different counts \(2, 3\)/);

    const shapes = join(tmp.dir, 'shapes');
    await writeShards(shapes, [1]);
    mkdirSync(join(tmp.dir, 'tmp2'));
    await writeShards(join(tmp.dir, 'tmp2'), [1, 1], { shape: [3, 3, 3] });
    renameSync(join(tmp.dir, 'tmp2', shardStoreName(1, 2)), join(shapes, shardStoreName(1, 2)));
    renameSync(join(shapes, shardStoreName(0, 1)), join(shapes, shardStoreName(0, 2)));
    expect(() => buildManifest(shapes)).toThrow(StoreFormatError);
    expect(() => buildManifest(shapes)).toThrow(/Shards disagree on shape/);

    const escape = join(tmp.dir, 'escape');
    await writeShards(escape, [2]);
    const manifest = writeManifest(escape);
    writeFileSync(join(escape, MANIFEST_FILE), JSON.stringify({ ...manifest, shards: [{ ...manifest.shards[0], path: '../mixed/x.lmdb' }] }));
    expect(() => openDataset(escape)).toThrow(/has a path that is not a folder name next to the manifest/);
    expect(JSON.parse(readFileSync(join(escape, MANIFEST_FILE), 'utf8')).shards).toHaveLength(1);
  });
});
