import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir, runImgstore, samplesDir, uniquePixels } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
let store: string;
beforeAll(async () => {
  tmp = makeTempDir('imgstore-preview-');
  store = join(tmp.dir, 'samples.lmdb');
  expect((await runImgstore(['convert', samplesDir, store, '--size', '40x30', '-q'])).code).toBe(0);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('imgstore preview', () => {
  it('draws a PNG of columns × tiles (plus caption strips), the same for the same seed', async () => {
    const files = ['a.png', 'b.png', 'c.png', 'all.png'].map((f) => join(tmp.dir, f));
    const runs = await Promise.all([
      runImgstore(['preview', store, '-o', files[0]!, '--count', '10', '--seed', '3']),
      runImgstore(['preview', store, '-o', files[1]!, '--count', '10', '--seed', '3']),
      runImgstore(['preview', store, '-o', files[2]!, '--count', '10', '--seed', '4', '--columns', '5']),
      runImgstore(['preview', store, '-o', files[3]!, '--count', '500']),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const meta = await Promise.all(files.map((f) => sharp(f).metadata()));
    // 10 tiles of 40×30 in ceil(sqrt(10)) = 4 columns and 3 rows, 16 px of caption under each row.
    expect(meta[0]).toMatchObject({ format: 'png', width: 4 * 40, height: 3 * (30 + 16) });
    expect(meta[2]).toMatchObject({ width: 5 * 40, height: 2 * (30 + 16) });
    expect(meta[3]).toMatchObject({ width: 6 * 40, height: 5 * (30 + 16) }); // all 29 samples
    expect(readFileSync(files[0]!).equals(readFileSync(files[1]!))).toBe(true);
    expect(runs[3]!.stdout).toContain('29 samples of 29');
    // The first tile is the stored sample drawn first.
    const first = await sharp(files[0]!).extract({ left: 0, top: 0, width: 40, height: 30 }).removeAlpha().raw().toBuffer();
    const reader = openStore(store);
    const candidates = [...Array(reader.length).keys()].filter((i) => Buffer.from(reader.get(i).data).equals(first));
    expect(candidates).toHaveLength(1);
    await reader.close();
  });

  it('needs -o, names bad options', async () => {
    expect((await runImgstore(['preview', store])).stderr).toContain("required option '-o, --output <file>' not specified");
    const bad = await runImgstore(['preview', store, '-o', join(tmp.dir, 'x.png'), '--count', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--count must be an integer of at least 1');
  });
});

describe('imgstore export', () => {
  it('writes every record as a PNG with exactly its stored pixels, in class folders', async () => {
    const out = join(tmp.dir, 'exported');
    const run = await runImgstore(['export', store, out, '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['animals', 'landscapes', 'objects', 'sky']);
    const reader = openStore(store);
    for (const sample of reader) {
      const file = join(out, sample.name.replace(/\.[^.]+$/, '.png'));
      const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([40, 30, 3]);
      expect(data.equals(Buffer.from(sample.data)), sample.name).toBe(true);
    }
    await reader.close();
    const again = await runImgstore(['export', store, out, '-q']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists and is not empty; pass --overwrite');
    expect((await runImgstore(['export', store, out, '--format', 'jpeg', '--overwrite', '-q'])).code).toBe(0);
    expect(readdirSync(join(out, 'sky')).filter((f) => f.endsWith('.jpg'))).toHaveLength(8);
  });

  it('never writes outside the folder, whatever names the store holds; colliding names stay apart', async () => {
    const hostile = join(tmp.dir, 'hostile.lmdb');
    const names = ['../../evil.png', '/etc/passwd', 'a/../../b.png', '..\\..\\win.png', 'C:\\x.png', 'nul\u0000byte.png', 'ok/fine.png', '..', 'OK/Fine.png', ''];
    const shape: [number, number, number] = [4, 4, 3];
    const writer = createStoreWriter(hostile, { shape, labelNames: ['../up', 'plain'] });
    for (const [i, name] of names.entries()) {
      await writer.append({ name, label: i % 2, shape, dtype: 'uint8', data: uniquePixels(48, i) });
    }
    await writer.finish();
    const parent = join(tmp.dir, 'jail');
    const out = join(parent, 'out');
    mkdirSync(parent);
    writeFileSync(join(parent, 'sentinel'), 'x');
    const run = await runImgstore(['export', hostile, out]);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(parent).sort()).toEqual(['out', 'sentinel']);
    const written = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(written).toHaveLength(names.length);
    for (const entry of written) expect(resolve(entry.parentPath, entry.name).startsWith(resolve(out) + '/')).toBe(true);
    // Label "../up" becomes the folder ".._up": a plain name inside the export folder.
    expect(run.stdout).toMatch(/record 0 "\.\.\/\.\.\/evil\.png" written as \.\._up\/evil\.png/);
    expect(run.stdout).toMatch(/record 8 "OK\/Fine\.png" written as \.\._up\/OK\/Fine-8\.png/);
    expect(run.stdout).toMatch(/record 7 "\.\." written as plain\/record\.png/);
  });
});
