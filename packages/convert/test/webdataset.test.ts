import { afterAll, describe, expect, it } from 'vitest';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { InputError, InterruptedError, InvalidOptionError } from '@imgstore/core';
import { convertFolder, exportStore, MAX_MEMBER_BYTES, readWebDataset, UnusualTarError, resolveWebDatasetShards, scanFolder, scanWebDataset, type WebDatasetInput } from '@imgstore/convert';
import { decodeImage } from '@imgstore/image';
import { openStore } from '@imgstore/store';
import { makeImage, makeTempDir, samplesDir } from '../../../tools/test-support/index.js';

const tmp = makeTempDir('imgstore-wds-');
afterAll(tmp.cleanup);

/** Sets bytes of the name in the ustar header at `offset` and fixes the header's checksum. */
function setUstarNameBytes(tar: Buffer, offset: number, index: number, bytes: number[]): void {
  tar.set(bytes, offset + index);
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[offset + i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
}

type Member = { name: string; data?: string | Uint8Array; type?: 'file' | 'symlink' | 'directory' };

/** Writes a tar of `members` in this order. */
async function writeTar(path: string, members: Member[]): Promise<string> {
  const tar = pack();
  const done = pipeline(tar, createWriteStream(path));
  for (const member of members) {
    const { name } = member;
    const data = typeof member.data === 'string' ? Buffer.from(member.data) : (member.data ?? Buffer.alloc(0));
    if (member.type === 'symlink') tar.entry({ name, type: 'symlink', linkname: 'elsewhere.jpg' });
    else if (member.type === 'directory') tar.entry({ name, type: 'directory' });
    else tar.entry({ name, size: data.length }, data);
  }
  tar.finalize();
  await done;
  return path;
}

async function collect(scan: { files(): AsyncGenerator<WebDatasetInput> }): Promise<WebDatasetInput[]> {
  const out: WebDatasetInput[] = [];
  for await (const input of scan.files()) out.push(input);
  return out;
}

describe('resolveWebDatasetShards', () => {
  it('expands a brace pattern in order, takes one .tar file, or a folder holding only .tar files (and classes.txt)', async () => {
    const dir = join(tmp.dir, 'resolve');
    mkdirSync(dir);
    for (const i of [0, 1, 2]) await writeTar(join(dir, `part-000${i}.tar`), [{ name: 'a.jpg', data: 'x' }]);
    expect(resolveWebDatasetShards(join(dir, 'part-{0000..0002}.tar'))).toEqual([0, 1, 2].map((i) => join(dir, `part-000${i}.tar`)));
    expect(resolveWebDatasetShards(join(dir, 'part-0001.tar'))).toEqual([join(dir, 'part-0001.tar')]);
    writeFileSync(join(dir, 'classes.txt'), 'cat\n');
    expect(resolveWebDatasetShards(dir)).toEqual([0, 1, 2].map((i) => join(dir, `part-000${i}.tar`)));
    // Any other file makes it an image folder (whose .tar files are then rejected as non-images).
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect(resolveWebDatasetShards(dir)).toBeNull();
  });

  it('a pattern naming shards that do not exist: InputError listing them', () => {
    const pattern = join(tmp.dir, 'nowhere-{00..03}.tar');
    const error = (() => {
      try {
        return resolveWebDatasetShards(pattern);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`names 4 of 4 files that do not exist`);
    expect((error as Error).message).toContain(join(tmp.dir, 'nowhere-00.tar'));
  });
});

describe('readWebDataset', () => {
  it('groups consecutive members by key (up to the first dot of the file name), shard after shard', async () => {
    const a = await writeTar(join(tmp.dir, 'group-a.tar'), [
      { name: 'train/', type: 'directory' },
      { name: 'train/x.y.jpg', data: 'J1' },
      { name: 'train/x.y.cls', data: '3' },
      { name: 'train/.DS_Store', data: 'junk' },
      { name: 'z.seg.png', data: 'P' },
    ]);
    const b = await writeTar(join(tmp.dir, 'group-b.tar'), [{ name: 'w.webp', data: 'W' }]);
    const groups = [];
    for await (const group of readWebDataset([a, b])) groups.push(group);
    expect(groups.map((g) => [g.key, g.members.map((m) => [m.ext, Buffer.from(m.data!).toString()]), g.problem])).toEqual([
      ['train/x', [['y.jpg', 'J1'], ['y.cls', '3']], null],
      ['z', [['seg.png', 'P']], null],
      ['w', [['webp', 'W']], null],
    ]);
  });

  it('a key that comes back later, a member twice, a link, a member without extension: problem groups, nothing merged', async () => {
    const shard = await writeTar(join(tmp.dir, 'problems.tar'), [
      { name: 'a.jpg', data: '1' },
      { name: 'b.jpg', data: '2' },
      { name: 'a.cls', data: '0' },
      { name: 'c.jpg', data: '3' },
      { name: 'c.jpg', data: '4' },
      { name: 'd.jpg', type: 'symlink' },
      { name: 'README', data: 'hello' },
    ]);
    const problems = [];
    for await (const group of readWebDataset([shard])) problems.push([group.key, group.problem]);
    expect(problems).toEqual([
      ['a', null],
      ['b', null],
      ['a', 'key a comes back in problems.tar after other keys (members of a sample must be consecutive)'],
      ['c', 'member c.jpg is in problems.tar twice'],
      ['d', 'member d.jpg is a symlink, not a file'],
      ['README', 'member README has no extension (WebDataset names members <key>.<ext>)'],
    ]);
  });

  it('names that are not UTF-8 keep their bytes (as %XX), so two such samples stay two', async () => {
    const shard = await writeTar(join(tmp.dir, 'bytes.tar'), [
      { name: 'f___.jpg', data: '1' },
      { name: 'f_.jpg', data: '2' },
      { name: 'caf\u00e9-\u732b.jpg', data: '3' }, // UTF-8 (written as a pax header)
    ]);
    // The plain ustar names get raw bytes that are not UTF-8: f\xff\xc3\xa9.jpg (a stray byte, then é) and f\xfe.jpg.
    const tar = readFileSync(shard);
    setUstarNameBytes(tar, 0, 1, [0xff, 0xc3, 0xa9]);
    setUstarNameBytes(tar, 1024, 1, [0xfe]);
    writeFileSync(shard, tar);
    const keys = [];
    for await (const group of readWebDataset([shard])) keys.push(group.key);
    expect(keys).toEqual(['f%FF\u00e9', 'f%FE', 'caf\u00e9-\u732b']);
  });

  it('a truncated shard: InputError naming it', async () => {
    const whole = await writeTar(join(tmp.dir, 'whole.tar'), [{ name: 'a.jpg', data: Buffer.alloc(5000, 7) }]);
    const cut = join(tmp.dir, 'cut.tar');
    writeFileSync(cut, readFileSync(whole).subarray(0, 3000));
    const read = async () => {
      for await (const _group of readWebDataset([cut]));
    };
    await expect(read()).rejects.toThrow(InputError);
    await expect(read()).rejects.toThrow(`Cannot read tar shard ${cut}`);
  });
});

describe('readWebDataset headersOnly (the count pass)', () => {
  /** Everything a group says, bodies included, to compare the two readers. */
  async function groupsOf(shard: string, headersOnly: boolean) {
    const out = [];
    for await (const g of readWebDataset([shard], { headersOnly })) {
      out.push([g.key, g.problem, g.members.map((m) => [m.ext, m.data && Buffer.from(m.data).toString('hex')])]);
    }
    return out;
  }

  it('gives the groups tar-stream gives: tar-stream, GNU tar (long names) and ustar (prefix) shards', async () => {
    const long = `${'deep/'.repeat(30)}${'x'.repeat(120)}`;
    const made = await writeTar(join(tmp.dir, 'parity-pax.tar'), [
      { name: `${long}.jpg`, data: 'long name' },
      { name: `${long}.cls`, data: '1' },
      { name: 'caf\u00e9.jpg', data: Buffer.alloc(1500, 3) },
      { name: '.hidden.jpg', data: 'h' },
      { name: 'link.jpg', type: 'symlink' },
      { name: 'sub/', type: 'directory' },
      { name: 'sub/a.b.png', data: '' },
    ]);
    const src = join(tmp.dir, 'parity-src');
    const deep = join(src, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, `${'c'.repeat(90)}.jpg`), 'ustar prefix');
    writeFileSync(join(deep, `${'c'.repeat(90)}.cls`), '0');
    writeFileSync(join(src, `${'d'.repeat(150)}.jpg`), 'gnu long name');
    const gnu = join(tmp.dir, 'parity-gnu.tar');
    const ustar = join(tmp.dir, 'parity-ustar.tar');
    execFileSync('tar', ['--format=gnu', '-cf', gnu, '-C', src, '.']);
    execFileSync('tar', ['--format=ustar', '-cf', ustar, '-C', src, 'a'.repeat(60)]);
    for (const shard of [made, gnu, ustar]) {
      const fast = await groupsOf(shard, true);
      expect(fast.length).toBeGreaterThan(0);
      expect(fast).toEqual(await groupsOf(shard, false));
    }
    expect((await groupsOf(gnu, true)).map((g) => g[0])).toContain(`./${'d'.repeat(150)}`.replace(/^\.\//, ''));
  });

  it('a member larger than maxMemberBytes (default 512 MiB) is a problem group, never read into memory', async () => {
    const shard = await writeTar(join(tmp.dir, 'large.tar'), [
      { name: 'large.jpg', data: Buffer.alloc(5000, 1) },
      { name: 'next.jpg', data: 'y' },
    ]);
    const expected = [
      ['large', 'member large.jpg is 5000 bytes; at most 4096', [['jpg', null]]],
      ['next', null, [['jpg', Buffer.from('y').toString('hex')]]],
    ];
    for (const headersOnly of [true, false]) {
      const groups = [];
      for await (const g of readWebDataset([shard], { headersOnly, maxMemberBytes: 4096 })) {
        groups.push([g.key, g.problem, g.members.map((m) => [m.ext, m.data && Buffer.from(m.data).toString('hex')])]);
      }
      expect(groups).toEqual(expected);
    }
    expect(MAX_MEMBER_BYTES).toBe(512 * 1024 * 1024);
  });

  it('a truncated shard or a global pax header: UnusualTarError, so that the scan reads it through tar-stream', async () => {
    const whole = await writeTar(join(tmp.dir, 'unusual-whole.tar'), [{ name: 'a.jpg', data: Buffer.alloc(5000, 7) }]);
    const cut = join(tmp.dir, 'unusual-cut.tar');
    writeFileSync(cut, readFileSync(whole).subarray(0, 3000));
    await expect(groupsOf(cut, true)).rejects.toThrow(UnusualTarError);
    // The scan falls back and reports the damage as the conversion's reader would.
    await expect(scanWebDataset([cut])).rejects.toThrow(`Cannot read tar shard ${cut}`);
    const global = join(tmp.dir, 'unusual-global.tar');
    execFileSync('tar', ['--format=pax', '--pax-option=globexthdr.name=g,comment=x', '-cf', global, '-C', tmp.dir, 'unusual-whole.tar']);
    await expect(groupsOf(global, true)).rejects.toThrow(UnusualTarError);
    expect((await scanWebDataset([global])).count).toBe(1);
  });
});

describe('scanWebDataset', () => {
  it('integer .cls labels, .json metadata, image bytes as stored in the tar; labels are 0..max without classes.txt', async () => {
    const jpg = await makeImage(20, 10, 'jpeg');
    const png = await makeImage(10, 20, 'png');
    const dir = join(tmp.dir, 'ints');
    mkdirSync(dir);
    const shard = await writeTar(join(dir, 's.tar'), [
      { name: 'k1.jpg', data: jpg },
      { name: 'k1.cls', data: '2\n' },
      { name: 'k1.json', data: '{"caption":"a cat","boxes":[[1,2,3,4]]}' },
      { name: 'k2.png', data: png },
      { name: 'k2.cls', data: '0' },
      { name: 'k3.jpg', data: jpg },
    ]);
    const scan = await scanWebDataset([shard]);
    expect([scan.layout, scan.count, scan.labelNames]).toEqual(['webdataset', 3, ['0', '1', '2']]);
    const inputs = await collect(scan);
    expect(inputs.map((i) => [i.name, i.label, i.meta, i.reject])).toEqual([
      ['k1.jpg', 2, { caption: 'a cat', boxes: [[1, 2, 3, 4]] }, undefined],
      ['k2.png', 0, undefined, undefined],
      // A labeled dataset labels every sample (as a label file does).
      ['k3.jpg', null, undefined, 'no .cls label, and other samples have one (in s.tar)'],
    ]);
    expect(Buffer.from(inputs[0]!.bytes!).equals(jpg)).toBe(true);
    expect(Buffer.from(inputs[1]!.bytes!).equals(png)).toBe(true);
  });

  it('class names in .cls become sorted label names; classes.txt beside the shards names integer labels', async () => {
    const dir = join(tmp.dir, 'names');
    mkdirSync(dir);
    const shard = await writeTar(join(dir, 's.tar'), [
      { name: 'a.jpg', data: 'x' },
      { name: 'a.cls', data: 'zebra' },
      { name: 'b.jpg', data: 'x' },
      { name: 'b.cls', data: 'ant' },
    ]);
    const scan = await scanWebDataset([shard]);
    expect(scan.labelNames).toEqual(['ant', 'zebra']);
    expect((await collect(scan)).map((i) => i.label)).toEqual([1, 0]);

    const withClasses = join(tmp.dir, 'classes');
    mkdirSync(withClasses);
    writeFileSync(join(withClasses, 'classes.txt'), 'dog\ncat\n');
    const ints = await writeTar(join(withClasses, 's.tar'), [
      { name: 'a.jpg', data: 'x' },
      { name: 'a.cls', data: '1' },
      { name: 'b.jpg', data: 'x' },
      { name: 'b.cls', data: '2' },
    ]);
    const named = await scanWebDataset([ints]);
    expect(named.labelNames).toEqual(['dog', 'cat']);
    expect((await collect(named)).map((i) => [i.label, i.reject])).toEqual([
      [1, undefined],
      [null, '.cls 2 is not a class index of classes.txt (0 to 1) (in s.tar)'],
    ]);
  });

  it('no image, two images, an unknown member, malformed .json or .cls: each a reject with its reason', async () => {
    const dir = join(tmp.dir, 'rejects');
    mkdirSync(dir);
    const shard = await writeTar(join(dir, 's.tar'), [
      { name: 'none.cls', data: '1' },
      { name: 'two.jpg', data: 'x' },
      { name: 'two.png', data: 'x' },
      { name: 'txt.jpg', data: 'x' },
      { name: 'txt.txt', data: 'a caption' },
      { name: 'json.jpg', data: 'x' },
      { name: 'json.cls', data: '0' },
      { name: 'json.json', data: '{"a":' },
      { name: 'cls.jpg', data: 'x' },
      { name: 'cls.cls', data: '1\n2\n' },
      { name: 'big.jpg', data: 'x' },
      { name: 'big.cls', data: '0' },
      { name: 'big.json', data: JSON.stringify({ caption: 'x'.repeat(50_000) }) },
      { name: 'ok.jpg', data: 'x' },
      { name: 'ok.cls', data: '0' },
    ]);
    const scan = await scanWebDataset([shard]);
    expect(scan.count).toBe(7);
    const rejects = (await collect(scan)).map((i) => [i.name, i.reject, i.bytes === undefined]);
    expect(rejects).toEqual([
      ['none.cls', 'no image member (.jpg, .jpeg, .png or .webp) among .cls (in s.tar)', true],
      ['two.jpg', 'more than one image member (.jpg, .png); imgstore stores one image per sample (in s.tar)', true],
      ['txt.jpg', 'unsupported member .txt: a sample is one image (.jpg/.jpeg/.png/.webp), a .cls label and a .json metadata member (in s.tar)', true],
      ['json.jpg', expect.stringMatching(/^\.json is not valid JSON: .+ \(in s\.tar\)$/), true],
      ['cls.jpg', '.cls is not a label (expected one integer or one class name, UTF-8, on one line) (in s.tar)', true],
      ['big.jpg', expect.stringMatching(/^\.json of 500\d\d bytes as msgpack, more than the 49152 a sample may hold \(in s\.tar\)$/), true],
      ['ok.jpg', undefined, false],
    ]);
  });
});

describe('exportStore, format webdataset', () => {
  it('writes shards of at most shardSamples samples: PNG pixels, .cls labels and classes.txt as in the store', async () => {
    const store = join(tmp.dir, 'export-src.lmdb');
    await convertFolder({ input: samplesDir, output: store, width: 24, height: 16, threads: 1 });
    const dir = join(tmp.dir, 'export-wds');
    const summary = await exportStore(store, dir, { format: 'webdataset', shardSamples: 10 });
    expect(summary.written).toBe(29);
    expect(summary.shards).toEqual([0, 1, 2].map((i) => join(dir, `shard-00000${i}.tar`)));
    expect(summary.pattern).toBe(join(dir, 'shard-{000000..000002}.tar'));
    expect(resolveWebDatasetShards(summary.pattern!)).toEqual(summary.shards);
    expect(readFileSync(join(dir, 'classes.txt'), 'utf8')).toBe('animals\nlandscapes\nobjects\nsky\n');

    const scan = await scanWebDataset(summary.shards!);
    const reader = openStore(store);
    try {
      expect([scan.count, scan.labelNames]).toEqual([29, reader.header.labelNames]);
      let index = 0;
      for await (const input of scan.files()) {
        const sample = reader.get(index++);
        expect([input.name, input.label, input.reject]).toEqual([sample.name.replace(/\.[^.]+$/, '.png'), sample.label, undefined]);
        const image = await decodeImage(Buffer.from(input.bytes!), { originalSize: true });
        expect(Buffer.from(image.data).equals(Buffer.from(sample.data))).toBe(true);
      }
      expect(index).toBe(29);
    } finally {
      await reader.close();
    }
  });

  it('shardBytes closes a shard before it would grow past the bound; options only with webdataset', async () => {
    const store = join(tmp.dir, 'export-src.lmdb');
    const dir = join(tmp.dir, 'export-bytes');
    // One 24x16 PNG with its headers is a few KB: a 4 KB bound gives a shard per sample.
    const summary = await exportStore(store, dir, { format: 'webdataset', shardBytes: 4096 });
    expect(summary.shards!.length).toBeGreaterThan(10);
    expect((await scanWebDataset(summary.shards!)).count).toBe(29);
    await expect(exportStore(store, join(tmp.dir, 'x'), { shardSamples: 5 })).rejects.toThrow(InvalidOptionError);
    await expect(exportStore(store, join(tmp.dir, 'x'), { shardSamples: 5 })).rejects.toThrow(/shardSamples/);
    await expect(exportStore(store, join(tmp.dir, 'x'), { format: 'webdataset', shardSample: 5 } as never)).rejects.toThrow(/shardSample/);
  });
});

describe('exportStore, format webdataset, of a multi-label store', () => {
  it('is refused (a .cls holds one label), before any shard is written', async () => {
    const store = join(tmp.dir, 'multi.lmdb');
    await convertFolder({ input: samplesDir, output: store, width: 8, height: 8, labels: join(samplesDir, '..', 'tags.jsonl'), threads: 1 });
    const dir = join(tmp.dir, 'multi-wds');
    await expect(exportStore(store, dir, { format: 'webdataset' })).rejects.toThrow(InvalidOptionError);
    await expect(exportStore(store, dir, { format: 'webdataset' })).rejects.toThrow(/multi-label store/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('convertFolder from WebDataset shards', () => {
  it('round trip folder -> store -> WebDataset -> store: the same pixels, labels, label names and metadata, in order', async () => {
    // Metadata for every third image (any JSON value), from a metadata file beside the folder.
    const names = [...scanFolder(samplesDir).files()].map((f) => f.name);
    const metaFile = join(tmp.dir, 'round-trip-meta.jsonl');
    const metaOf = (i: number) => ({ id: i, caption: `image ${i}`, boxes: [[i, 2, 3.5, 4]], tags: i % 2 ? null : ['a', 'b'] });
    writeFileSync(metaFile, names.map((name, i) => (i % 3 === 0 ? `${JSON.stringify({ path: name, ...metaOf(i) })}\n` : '')).join(''));
    const first = join(tmp.dir, 'round-trip-1.lmdb');
    await convertFolder({ input: samplesDir, output: first, width: 24, height: 16, meta: metaFile, threads: 1 });
    const wds = join(tmp.dir, 'round-trip-wds');
    const exported = await exportStore(first, wds, { format: 'webdataset', shardSamples: 8 });
    expect(exported.shards).toHaveLength(4);

    const second = join(tmp.dir, 'round-trip-2.lmdb');
    const summary = await convertFolder({ input: exported.pattern!, output: second, width: 24, height: 16, threads: 1 });
    expect([summary.read, summary.stored, summary.rejects]).toEqual([29, 29, []]);
    expect(summary.header.provenance.settings).toMatchObject({ layout: 'webdataset' });
    const a = openStore(first);
    const b = openStore(second);
    try {
      expect(b.header.labelNames).toEqual(a.header.labelNames);
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) {
        const [x, y] = [a.get(i), b.get(i)];
        expect([y.name, y.label, y.shape, y.meta]).toEqual([x.name.replace(/\.[^./]+$/, '.png'), x.label, x.shape, x.meta]);
        expect(Buffer.from(y.data).equals(Buffer.from(x.data))).toBe(true);
      }
      expect(a.get(0).meta).toEqual(metaOf(0));
      expect(a.get(1).meta).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    // The folder of shards (with its classes.txt) reads the same as the pattern.
    const again = await convertFolder({ input: wds, output: join(tmp.dir, 'round-trip-3.lmdb'), width: 24, height: 16, threads: 1 });
    expect([again.stored, again.header.labelNames]).toEqual([29, summary.header.labelNames]);
  });

  it('rejects are listed with their reason, a resumed conversion skips what is committed, a label file with shards is refused', async () => {
    const dir = join(tmp.dir, 'convert-rejects');
    mkdirSync(dir);
    const images = await Promise.all([1, 2, 3, 4, 5].map((seed) => makeImage(30, 20, 'jpeg', { seed })));
    const shard = await writeTar(join(dir, 'mixed.tar'), [
      { name: 'a.jpg', data: images[0]! },
      { name: 'a.cls', data: 'cat' },
      { name: 'b.txt', data: 'no image' },
      { name: 'c.png', data: Buffer.from('not a png at all') },
      { name: 'c.cls', data: 'cat' },
      { name: 'd.jpg', data: images[1]! },
      { name: 'd.cls', data: 'dog' },
      { name: 'd.json', data: '{"id":"d"}' },
      { name: 'e.jpg', data: images[2]! },
      { name: 'f.jpg', data: images[3]! },
      { name: 'g.jpg', data: images[4]! },
    ]);
    const output = join(tmp.dir, 'convert-rejects.lmdb');
    const controller = new AbortController();
    const stopAfterFour = (p: { done: number }) => {
      if (p.done === 4) controller.abort();
    };
    const options = { input: shard, output, width: 16, height: 16, threads: 1, concurrency: 2 };
    await expect(convertFolder({ ...options, signal: controller.signal, onProgress: stopAfterFour })).rejects.toThrow(InterruptedError);
    const summary = await convertFolder({ ...options, resume: true });
    expect([summary.resumedAt, summary.read, summary.stored]).toEqual([4, 7, 2]);
    // c.png is labeled but not an image: decoding rejects it, naming what it found.
    const unlabeled = 'no .cls label, and other samples have one (in mixed.tar)';
    expect(summary.rejects.map((r) => [r.name, r.reason])).toEqual([
      ['b.txt', expect.stringContaining('unsupported member .txt')],
      ['c.png', expect.not.stringContaining('(in mixed.tar)')],
      ['e.jpg', unlabeled],
      ['f.jpg', unlabeled],
      ['g.jpg', unlabeled],
    ]);
    const store = openStore(output);
    try {
      expect(store.header.labelNames).toEqual(['cat', 'dog']);
      expect([0, 1].map((i) => [store.get(i).name, store.get(i).label, store.get(i).meta])).toEqual([
        ['a.jpg', 0, undefined],
        ['d.jpg', 1, { id: 'd' }],
      ]);
      const once = await convertFolder({ ...options, output: join(tmp.dir, 'convert-rejects-once.lmdb') });
      const other = openStore(join(tmp.dir, 'convert-rejects-once.lmdb'));
      try {
        for (let i = 0; i < store.length; i++) expect(Buffer.from(other.get(i).data).equals(Buffer.from(store.get(i).data))).toBe(true);
      } finally {
        await other.close();
      }
      expect(once.stored).toBe(2);
    } finally {
      await store.close();
    }
    const labels = join(dir, 'labels.csv');
    writeFileSync(labels, 'path,label\na.jpg,cat\n');
    await expect(convertFolder({ ...options, output: join(tmp.dir, 'x.lmdb'), labels })).rejects.toThrow(/no label or metadata file with WebDataset shards/);
  });
});
