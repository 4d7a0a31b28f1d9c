import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { shapeByteLength, type Sample, type Shape } from '@imgstore/core';
import { createStoreWriter, openDataset, openStore, type StoreReader } from '@imgstore/store';
import { registerJpegCodec } from '@imgstore/codec-jpeg';
import { makeImage, makeTempDir, runImgstore, runProcess, uniquePixels } from '../test-support/index.js';

// Both read engines (imgstore's TypeScript LMDB reader and lmdb-js) must return the same thing for every
// kind of store the suite writes, including stores written by py-lmdb: header, records, rejects, counts.
const ENGINES = ['typescript', 'lmdb-js'] as const;
// Debian's python3-lmdb, -msgpack, -lz4 (as tools/test/python-reader.test.ts): the py-lmdb stores are
// skipped without them, except under CI, where they are required.
const PYTHON = '/usr/bin/python3';
const pythonReady =
  (process.env.CI === 'true' || process.env.CI === '1') ||
  (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import lmdb, msgpack, lz4.block'], { stdio: 'ignore' }).status === 0);

let tmp: ReturnType<typeof makeTempDir>;
let images: string;
const stores: Record<string, string> = {};
/** Pixels the store must hold, where this test wrote them itself (writer and py-lmdb stores). */
const expected: Record<string, (index: number) => { name: string; label: number | null; shape: Shape; data: Uint8Array }> = {};

async function convert(name: string, args: string[], folder = images) {
  const out = join(tmp.dir, name);
  const run = await runImgstore(['convert', folder, out, '--threads', '1', '-q', ...args]);
  expect(run.code, `${name}: ${run.stderr}`).toBe(0);
  return out;
}

// py-lmdb writes a store as FORMAT.md describes it: msgpack records sealed with CRC-32, rejects, the
// header and its checksum last. 2 × 50 records over several leaf pages, and 3 on overflow pages.
const PY_WRITER = `
import sys, zlib, struct, lmdb, msgpack, lz4.block
path, codec = sys.argv[1], sys.argv[2]
def pixels(i, n):
    x = ((i + 1) * 2654435761) & 0xffffffff
    out = bytearray(n)
    for k in range(n):
        x = (x * 1103515245 + 12345) & 0xffffffff
        out[k] = x >> 24
    return bytes(out)
def shape(i):
    return [40, 40, 3] if i % 37 == 5 else [8, 6, 3]
env = lmdb.open(path, max_dbs=8, map_size=1 << 26)
meta, records, rejects = (env.open_db(n) for n in (b'meta', b'records', b'rejects'))
count = 100
with env.begin(write=True) as txn:
    for i in range(count):
        s = shape(i)
        payload = msgpack.packb({'name': 'py/%d.png' % i, 'label': i % 2, 'shape': s, 'dtype': 'uint8', 'data': pixels(i, s[0] * s[1] * s[2])}, use_bin_type=True)
        if codec == 'lz4':
            payload = lz4.block.compress(payload, store_size=True)
        txn.put(struct.pack('>I', i), struct.pack('<I', zlib.crc32(payload)) + payload, db=records)
    txn.put(struct.pack('>I', 0), msgpack.packb({'name': 'py/bad.png', 'reason': 'not an image'}), db=rejects)
with env.begin(write=True) as txn:
    header = msgpack.packb({'format': 'imgstore', 'version': 1, 'codec': codec, 'count': count, 'shape': [0, 0, 3],
        'maxSampleBytes': 40 * 40 * 3, 'dtype': 'uint8', 'layout': 'HWC', 'colorSpace': 'srgb', 'labelNames': ['even', 'odd'],
        'rejected': 1, 'labelCounts': [50, 50], 'provenance': {'tool': 'py-lmdb', 'toolVersion': lmdb.__version__, 'createdAt': '2026-01-01T00:00:00.000Z'}},
        use_bin_type=True)
    txn.put(b'header', header, db=meta)
    txn.put(b'header-crc32', struct.pack('<I', zlib.crc32(header)), db=meta)
env.close()
`;
const pyShape = (i: number): Shape => (i % 37 === 5 ? [40, 40, 3] : [8, 6, 3]);

beforeAll(async () => {
  tmp = makeTempDir('imgstore-engines-');
  registerJpegCodec();
  // Two classes of RGBA PNGs and JPEGs of different sizes (some with an aspect ratio that is not square), and one corrupt file.
  images = join(tmp.dir, 'images');
  for (const cls of ['cat', 'dog']) {
    mkdirSync(join(images, cls), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const seed = cls.length * 100 + i;
      writeFileSync(join(images, cls, `${i}.png`), await makeImage(30 + 7 * i, 24 + 3 * i, 'png', { channels: 4, seed }));
      writeFileSync(join(images, cls, `${i}.jpg`), await makeImage(48 - 2 * i, 36, 'jpeg', { seed: seed + 50 }));
    }
  }
  writeFileSync(join(images, 'dog', 'broken.jpg'), 'not an image');
  const corruptOnly = join(tmp.dir, 'corrupt-only');
  mkdirSync(corruptOnly);
  writeFileSync(join(corruptOnly, 'broken.png'), 'not an image either');

  // Two at a time: the machine is shared.
  const conversions: [string, string[], string?][] = [
    ['raw', ['--size', '16']],
    ['lz4', ['--size', '20x12', '--codec', 'lz4']],
    ['jpeg', ['--size', '24', '--codec', 'jpeg']],
    ['jpeg-grey', ['--size', '17x13', '--codec', 'jpeg', '--channels', '1']],
    ['shorter', ['--size', 'shorter:24']],
    ['original-lz4', ['--size', 'original', '--codec', 'lz4']],
    ['grey', ['--size', '16', '--channels', '1']],
    ['rgba', ['--size', '16', '--channels', '4']],
    ['empty', ['--size', '16'], corruptOnly],
  ];
  for (let i = 0; i < conversions.length; i += 2) {
    await Promise.all(conversions.slice(i, i + 2).map(async ([name, args, folder]) => (stores[name] = await convert(`${name}.lmdb`, args, folder))));
  }
  const sharded = join(tmp.dir, 'sharded');
  const shardRuns = await Promise.all(
    [0, 1, 2].map((index) => runImgstore(['convert', images, sharded, '--size', '16', '--codec', 'lz4', '--shard-count', '3', '--shard-index', String(index), '--threads', '1', '-q'])),
  );
  for (const run of shardRuns) expect(run.code, run.stderr).toBe(0);
  const manifest = await runImgstore(['manifest', sharded]);
  expect(manifest.code, manifest.stderr).toBe(0);
  stores.sharded = sharded;

  // Resumed twice: three writer sessions, the first two closed without finish().
  const resumedShape: Shape = [20, 20, 3];
  const resumedRecord = (i: number) => ({ name: `r/${i}.png`, label: i % 3, shape: resumedShape, data: uniquePixels(1200, i) });
  stores.resumed = join(tmp.dir, 'resumed.lmdb');
  for (const [session, [from, to]] of ([[0, 40], [40, 75], [75, 130]] as const).entries()) {
    const writer = createStoreWriter(stores.resumed, { shape: resumedShape, labelNames: ['a', 'b', 'c'], resume: session > 0, recordsPerCommit: 7 + session * 5 });
    for (let i = from; i < to; i++) await writer.append({ ...resumedRecord(i), dtype: 'uint8' });
    await writer.reject(`r/bad-${session}.png`, 'corrupt');
    if (session < 2) await writer.close();
    else await writer.finish();
  }
  expected.resumed = resumedRecord;

  // Many small records: a records tree with two levels of branch pages.
  const tinyShape: Shape = [2, 2, 3];
  const tinyRecord = (i: number) => ({ name: `${i}`, label: null, shape: tinyShape, data: uniquePixels(12, i) });
  stores.many = join(tmp.dir, 'many.lmdb');
  const many = createStoreWriter(stores.many, { shape: tinyShape, recordsPerCommit: 1000 });
  for (let i = 0; i < 30_000; i++) await many.append({ ...tinyRecord(i), dtype: 'uint8' });
  await many.finish();
  expected.many = tinyRecord;

  for (const codec of pythonReady ? ['raw', 'lz4'] : []) {
    const path = join(tmp.dir, `py-${codec}.lmdb`);
    const run = await runProcess(PYTHON, ['-c', PY_WRITER, path, codec]);
    expect(run.code, run.stderr).toBe(0);
    stores[`py-lmdb-${codec}`] = path;
    expected[`py-lmdb-${codec}`] = (i) => {
      const shape = pyShape(i);
      return { name: `py/${i}.png`, label: i % 2, shape, data: uniquePixels(shapeByteLength(shape), i) };
    };
  }
}, 300_000);
afterAll(() => tmp.cleanup());

/** Everything a reader says about a store, in plain values (records as name, label, shape and a copy of the pixels). */
function describeReader(reader: Pick<StoreReader, 'length' | 'get' | 'readInto' | 'rejects' | 'sampleShape'>) {
  const records: Omit<Sample, 'index'>[] = [];
  const readInto: Buffer[] = [];
  for (let i = 0; i < reader.length; i++) {
    const { name, label, shape, dtype, data } = reader.get(i);
    records.push({ name, label, shape, dtype, data: Buffer.from(data) });
    // Through readInto at an offset inside a larger buffer, as a batch slot.
    const target = Buffer.alloc(data.length + 32, 0xee);
    const info = reader.readInto(i, target, 16);
    expect(info.shape).toEqual(shape);
    readInto.push(target);
  }
  return { length: reader.length, sampleShape: reader.sampleShape, records, readInto, rejects: reader.rejects() };
}

const STORE_KINDS = [
  'raw',
  'lz4',
  'jpeg',
  'jpeg-grey',
  'shorter',
  'original-lz4',
  'grey',
  'rgba',
  'empty',
  'resumed',
  'many',
  'py-lmdb-raw',
  'py-lmdb-lz4',
];

describe('both engines read every kind of store alike', () => {
  it.for(STORE_KINDS)('%s', { timeout: 120_000 }, async (kind, context) => {
    if (kind.startsWith('py-lmdb') && !pythonReady) context.skip();
    const path = stores[kind]!;
    const [ts, native] = ENGINES.map((engine) => openStore(path, { engine }));
    try {
      expect(ts!.engine).toBe('typescript');
      expect(native!.engine).toBe('lmdb-js');
      expect(ts!.header).toEqual(native!.header);
      expect(ts!.countEntries()).toEqual(native!.countEntries());
      expect(ts!.countEntries()).toEqual({ records: native!.length, rejects: native!.header.rejected });
      const [a, b] = [describeReader(ts!), describeReader(native!)];
      expect(a.length).toBe(b.length);
      expect(a.rejects).toEqual(b.rejects);
      for (let i = 0; i < a.length; i++) {
        expect(a.records[i], `${kind} record ${i}`).toEqual(b.records[i]);
        expect(a.readInto[i]!.equals(b.readInto[i]!), `${kind} readInto ${i}`).toBe(true);
        expect(a.readInto[i]!.subarray(16, 16 + a.records[i]!.data.length).equals(a.records[i]!.data as Buffer)).toBe(true);
        expect(ts!.getStoredBytes(i).equals(native!.getStoredBytes(i)), `${kind} stored bytes ${i}`).toBe(true);
      }
      const want = expected[kind];
      if (want) {
        for (let i = 0; i < a.length; i++) {
          const { name, label, shape, data } = want(i);
          expect(a.records[i]).toEqual({ name, label, shape, dtype: 'uint8', data: Buffer.from(data) });
        }
      }
    } finally {
      await ts!.close();
      await native!.close();
    }
  });

  it('the stores are what their names say', () => {
    const open = (kind: string) => {
      const store = openStore(stores[kind]!, { engine: 'typescript' });
      void store.close();
      return store;
    };
    expect(open('empty').length).toBe(0);
    expect(open('empty').header.rejected).toBe(1);
    expect(open('jpeg').header.codec).toBe('jpeg');
    expect(open('jpeg-grey').header.shape).toEqual([13, 17, 1]);
    expect(open('shorter').header.shape).toEqual([0, 0, 3]);
    expect(open('original-lz4').header.shape).toEqual([0, 0, 3]);
    expect(open('grey').header.shape).toEqual([16, 16, 1]);
    expect(open('rgba').header.shape).toEqual([16, 16, 4]);
    expect(open('resumed').length).toBe(130);
    expect(open('resumed').header.rejected).toBe(3);
    expect(open('many').length).toBe(30_000);
    if (pythonReady) expect(open('py-lmdb-lz4').header.provenance.tool).toBe('py-lmdb');
    expect(open('raw').header.rejected).toBe(1);
  });

  it('a sharded dataset: every shard and the dataset as a whole', async () => {
    const [ts, native] = ENGINES.map((engine) => openDataset(stores.sharded!, { engine }));
    try {
      expect(ts!.shards.map((s) => s.engine)).toEqual(['typescript', 'typescript', 'typescript']);
      expect(native!.shards.map((s) => s.engine)).toEqual(['lmdb-js', 'lmdb-js', 'lmdb-js']);
      expect(ts!.shards.map((s) => s.header)).toEqual(native!.shards.map((s) => s.header));
      expect(ts!.shards.map((s) => s.countEntries())).toEqual(native!.shards.map((s) => s.countEntries()));
      expect(ts!.length).toBe(25 - 1);
      expect(describeReader(ts!)).toEqual(describeReader(native!));
    } finally {
      await ts!.close();
      await native!.close();
    }
  });

  it("'auto' reads a finished store with the TypeScript engine, and both engines read the same store at once", async () => {
    const auto = openStore(stores.raw!);
    const native = openStore(stores.raw!, { engine: 'lmdb-js' });
    try {
      expect(auto.engine).toBe('typescript');
      expect(native.engine).toBe('lmdb-js');
      expect(Buffer.from(native.get(3).data).equals(Buffer.from(auto.get(3).data))).toBe(true);
    } finally {
      await auto.close();
      await native.close();
    }
  });

  it("'auto' reads a store still being written (allowIncomplete) with lmdb-js, whose reader table protects its pages", async () => {
    const path = join(tmp.dir, 'unfinished.lmdb');
    const shape: Shape = [4, 4, 3];
    const writer = createStoreWriter(path, { shape, recordsPerCommit: 1 });
    for (let i = 0; i < 3; i++) await writer.append({ name: `${i}`, label: null, shape, dtype: 'uint8', data: uniquePixels(48, i) });
    const unfinished = openStore(path, { allowIncomplete: true });
    try {
      expect(unfinished.engine).toBe('lmdb-js');
      expect(unfinished.complete).toBe(false);
      expect(unfinished.length).toBe(3);
    } finally {
      await unfinished.close();
    }
    await writer.finish();
    const finished = openStore(path, { allowIncomplete: true });
    expect(finished.engine).toBe('typescript');
    await finished.close();
  });

  it.skipIf(!pythonReady)('the py-lmdb stores hold a CRC that zlib computes (the test writes what FORMAT.md says)', async () => {
    const store = openStore(stores['py-lmdb-raw']!, { engine: 'typescript' });
    try {
      const stored = store.getStoredBytes(5);
      expect(stored.readUInt32LE(0)).toBe(crc32(stored.subarray(4)));
      expect(store.get(5).shape).toEqual([40, 40, 3]);
    } finally {
      await store.close();
    }
  });
});
