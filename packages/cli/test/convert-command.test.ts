import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '@imgstore/store';
import { makeImage, makeTempDir, runImgstore } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
let folder: string;

// An ImageFolder of generated images in every input format, plus bad inputs of each kind.
beforeAll(async () => {
  tmp = makeTempDir();
  folder = join(tmp.dir, 'images');
  const formats = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
  for (const [c, cls] of ['cats', 'dogs'].entries()) {
    mkdirSync(join(folder, cls, 'nested'), { recursive: true });
    for (const [i, format] of formats.entries()) {
      writeFileSync(join(folder, cls, `${i}-${format}.img`), await makeImage(90 + i * 10, 70, format, { seed: c * 10 + i }));
    }
    writeFileSync(join(folder, cls, 'nested', 'deep photo "quoted" é.jpg'), await makeImage(50, 80, 'jpeg', { seed: 99 + c }));
  }
  const jpeg = await makeImage(120, 90, 'jpeg', { seed: 5 });
  writeFileSync(join(folder, 'cats', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(folder, 'dogs', 'notes.jpg'), 'plain text, not an image');
  writeFileSync(join(folder, 'dogs', 'empty.png'), '');
  writeFileSync(join(folder, 'dogs', '.DS_Store'), 'hidden files are ignored');
}, 60_000);
afterAll(() => tmp.cleanup());

describe('imgstore convert', () => {
  let store: string;
  let result: Awaited<ReturnType<typeof runImgstore>>;

  beforeAll(async () => {
    store = join(tmp.dir, 'train.lmdb');
    result = await runImgstore(['convert', folder, store, '--size', '32x24']);
  });

  it('stores every good input in sorted order with ImageFolder labels', () => {
    expect(result.code).toBe(0);
    const reader = openStore(store);
    try {
      expect(reader.header.labelNames).toEqual(['cats', 'dogs']);
      expect(reader.header.shape).toEqual([24, 32, 3]);
      expect([...reader].map((s) => [s.name, s.label])).toEqual([
        ['cats/0-jpeg.img', 0],
        ['cats/1-png.img', 0],
        ['cats/2-webp.img', 0],
        ['cats/3-gif.img', 0],
        ['cats/4-tiff.img', 0],
        ['cats/5-avif.img', 0],
        ['cats/nested/deep photo "quoted" é.jpg', 0],
        ['dogs/0-jpeg.img', 1],
        ['dogs/1-png.img', 1],
        ['dogs/2-webp.img', 1],
        ['dogs/3-gif.img', 1],
        ['dogs/4-tiff.img', 1],
        ['dogs/5-avif.img', 1],
        ['dogs/nested/deep photo "quoted" é.jpg', 1],
      ]);
    } finally {
      void reader.close();
    }
  });

  it('lists each bad input with its reason, stores none of them, and says so in the summary', () => {
    expect(result.stdout).toMatch(/Stored 14 of 17 inputs .* 3 rejected/);
    expect(result.stdout).toMatch(/rejected cats\/truncated\.jpg: truncated or corrupt image/);
    expect(result.stdout).toMatch(/rejected dogs\/notes\.jpg: not an image/);
    expect(result.stdout).toMatch(/rejected dogs\/empty\.png: /);
    expect(result.stdout).not.toMatch(/DS_Store/);
  });

  it('prints progress on stderr when not on a terminal', () => {
    expect(result.stderr).toMatch(/convert 17\/17 \(100\.0%\)/);
  });

  it('info shows the header, count and size; --json and --rejects for programs', async () => {
    const text = await runImgstore(['info', store]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/records\s+14/);
    expect(text.stdout).toMatch(/format\s+imgstore v1\.1, codec raw/);
    expect(text.stdout).toMatch(/shape\s+24×32×3 uint8 HWC/);
    expect(text.stdout).toMatch(/labels\s+2: cats \d+ \(\d+\.\d%\), dogs \d+ \(\d+\.\d%\)/);
    const json = await runImgstore(['info', store, '--json', '--rejects']);
    const info = JSON.parse(json.stdout);
    expect(info.records).toBe(14);
    expect(info.bytes).toBeGreaterThan(0);
    expect(info.header).toMatchObject({ format: 'imgstore', version: 1, codec: 'raw', rejected: 3 });
    expect(info.header.labelCounts.reduce((a: number, b: number) => a + b)).toBe(14);
    expect(info.rejects.map((r: { name: string }) => r.name)).toEqual(['cats/truncated.jpg', 'dogs/empty.png', 'dogs/notes.jpg']);
  });

  it('--strict turns rejects into a non-zero exit', async () => {
    const strict = await runImgstore(['convert', folder, join(tmp.dir, 'strict'), '--size', '8', '--strict', '-q']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/3 input\(s\) rejected and --strict was given/);
  });

  it('gives the same records whatever the concurrency and decode threads', async () => {
    const one = join(tmp.dir, 'c1');
    const many = join(tmp.dir, 'c8');
    expect((await runImgstore(['convert', folder, one, '--size', '32', '-j', '1', '--threads', '1', '-q'])).code).toBe(0);
    expect((await runImgstore(['convert', folder, many, '--size', '32', '-j', '8', '--threads', '3', '-q'])).code).toBe(0);
    const [a, b] = [openStore(one), openStore(many)];
    try {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) {
        const [x, y] = [a.get(i), b.get(i)];
        expect([x.name, x.label]).toEqual([y.name, y.label]);
        expect(Buffer.from(x.data).equals(Buffer.from(y.data))).toBe(true);
      }
    } finally {
      void a.close();
      void b.close();
    }
  });

  it('a flat folder gives unlabeled samples', async () => {
    const flat = join(tmp.dir, 'flat');
    mkdirSync(flat);
    for (let i = 0; i < 3; i++) writeFileSync(join(flat, `p${i}.png`), await makeImage(20, 20, 'png', { seed: i }));
    const out = join(tmp.dir, 'flat.lmdb');
    expect((await runImgstore(['convert', flat, out, '--size', '8', '-q'])).code).toBe(0);
    const reader = openStore(out);
    expect(reader.header.labelNames).toBeNull();
    expect(reader.get(0).label).toBeNull();
    await reader.close();
  });
});

describe('imgstore errors: one line naming the problem, non-zero exit', () => {
  it('a missing input folder', async () => {
    const r = await runImgstore(['convert', join(tmp.dir, 'no-such-folder'), join(tmp.dir, 'x')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`imgstore: Input folder ${join(tmp.dir, 'no-such-folder')} does not exist`);
  });

  it('an existing store without --overwrite, and with it', async () => {
    const out = join(tmp.dir, 'exists');
    expect((await runImgstore(['convert', folder, out, '--size', '8', '-q'])).code).toBe(0);
    const again = await runImgstore(['convert', folder, out, '--size', '8', '-q']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`imgstore: Store ${out} already exists; pass overwrite (--overwrite) to replace it`);
    expect((await runImgstore(['convert', folder, out, '--size', '8', '-q', '--overwrite'])).code).toBe(0);
  });

  it('an unwritable output', async () => {
    const locked = join(tmp.dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const plainFile = join(tmp.dir, 'plain-file');
    writeFileSync(plainFile, 'x');
    // root ignores permission bits, so for root the store goes below a regular file instead.
    const target = process.getuid?.() === 0 ? join(plainFile, 'store') : join(locked, 'store');
    const r = await runImgstore(['convert', folder, target, '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(target);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a bad --size', async () => {
    const r = await runImgstore(['convert', folder, join(tmp.dir, 'y'), '--size', '256x0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('for --size but received "256x0"');
    expect(readdirSync(tmp.dir)).not.toContain('y');
  });

  it('a typo in an option names the option and suggests the right one', async () => {
    const r = await runImgstore(['convert', folder, join(tmp.dir, 'z'), '--sise', '64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--sise'");
    expect(r.stderr).toContain('--size');
  });

  it('a bad --fit lists the choices', async () => {
    const r = await runImgstore(['convert', folder, join(tmp.dir, 'z'), '--fit', 'stretch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are cover, contain, fill/);
  });

  it('info on something that is not a store', async () => {
    const r = await runImgstore(['info', folder]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`imgstore: ${folder} is not an imgstore store: it has no data.mdb`);
  });
});

describe('--help and --version on every command', () => {
  it.each([[[]], [['convert']], [['info']]])('%j', async (command) => {
    const help = await runImgstore([...command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: imgstore/);
    const version = await runImgstore([...command, '--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
