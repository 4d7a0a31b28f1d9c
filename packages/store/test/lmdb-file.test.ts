import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readvSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { open } from 'lmdb';
import { ClosedError, StoreFormatError } from '@imgstore/core';
import { LmdbFile, UnsupportedLmdbFeatureError, type LmdbDatabase } from '../src/lmdb-file/index.js';
import { F_BIGDATA, P_BRANCH, P_LEAF, PAGE_HEADER_SIZE, pageKeyCount, readPgno, readU16 } from '../src/lmdb-file/page.js';
import { createStoreWriter } from '../src/index.js';
import { cliBin, makeTempDir, repoRoot, samplesDir } from '../../../tools/test-support/index.js';

const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;

type Entry = [Buffer, Buffer];
type BinaryDb = {
  putSync(key: Buffer, value: Buffer): void;
  get(key: Buffer): Buffer | undefined;
  getRange(options?: object): Iterable<{ key: Buffer; value: Buffer }>;
};

/** A seeded generator (mulberry32), so every fixture is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(random: () => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function u32be(i: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32BE(i);
  return key;
}

/** Writes named databases with lmdb-js (the v1 build), opened as the store writer opens its folder. */
function writeWithLmdbJs(path: string, fill: (db: (name: string) => BinaryDb) => void): { env: { close(): void }; db: (name: string) => BinaryDb } {
  const env = open({ path, noSubdir: false, maxDbs: 8, ...binary } as Parameters<typeof open>[0]) as unknown as {
    openDB(options: object): BinaryDb;
    transactionSync(fn: () => void): void;
    close(): void;
  };
  const dbs = new Map<string, BinaryDb>();
  const db = (name: string) => {
    if (!dbs.has(name)) dbs.set(name, env.openDB({ name, ...binary }));
    return dbs.get(name)!;
  };
  env.transactionSync(() => fill(db));
  return { env, db };
}

function readAll(db: LmdbDatabase, options = {}): Entry[] {
  return [...db.range(options)];
}

function expectSameEntries(actual: Entry[], expected: Entry[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!actual[i]![0].equals(expected[i]![0]) || !actual[i]![1].equals(expected[i]![1])) {
      throw new Error(`entry ${i} differs: key ${actual[i]![0].toString('hex')} vs ${expected[i]![0].toString('hex')}`);
    }
  }
}

function lmdbJsEntries(db: BinaryDb, options: object = {}): Entry[] {
  return [...db.getRange(options)].map(({ key, value }) => [Buffer.from(key), Buffer.from(value)]);
}

/** Every key read with get, getInto and valueLocation (checked against the file's bytes) equals `expected`. */
function expectLookups(file: LmdbFile, db: LmdbDatabase, expected: Entry[]): void {
  const data = readFileSync(file.dataFile);
  const target = Buffer.alloc(1 << 20);
  for (const [key, value] of expected) {
    const got = db.get(key);
    if (got === undefined || !got.equals(value)) throw new Error(`get(${key.toString('hex')}) differs`);
    expect(db.getInto(key, target, 7)).toBe(value.length);
    if (!target.subarray(7, 7 + value.length).equals(value)) throw new Error(`getInto(${key.toString('hex')}) differs`);
    const location = db.valueLocation(key)!;
    expect(location.length).toBe(value.length);
    if (!data.subarray(location.position, location.position + location.length).equals(value)) {
      throw new Error(`valueLocation(${key.toString('hex')}) points elsewhere`);
    }
  }
}

/** Which python3 has py-lmdb (Debian's python3-lmdb is under /usr/bin when a pyenv shim comes first). */
function pythonWithLmdb(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import lmdb'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('no python3 with the lmdb module (apt-get install python3-lmdb)');
}

let tmp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  tmp = makeTempDir('imgstore-lmdb-file-');
});
afterAll(() => tmp.cleanup());

describe('LmdbFile on files written by lmdb-js', () => {
  let path: string;
  let writer: ReturnType<typeof writeWithLmdbJs>;

  beforeAll(() => {
    path = join(tmp.dir, 'lmdb-js.lmdb');
    const random = rng(1);
    writer = writeWithLmdbJs(path, (db) => {
      // Record-like: 4-byte big-endian keys, overflow values of several pages and small ones.
      for (let i = 0; i < 300; i++) db('records').putSync(u32be(i), bytes(random, i % 3 === 0 ? 40 + (i % 50) : 3000 + i * 97));
      // Random keys of 1 to 200 bytes in random order: a tree of depth >= 3.
      for (let i = 0; i < 20_000; i++) {
        const size = random() < 0.01 ? 5000 + Math.floor(random() * 20_000) : Math.floor(random() * 64);
        db('strings').putSync(bytes(random, 1 + Math.floor(random() * 200)), bytes(random, size));
      }
      db('meta').putSync(Buffer.from('header'), Buffer.from('hello'));
      db('empty');
    });
  });
  afterAll(() => writer.env.close());

  it('reads the meta page, the named databases and their entry counts', () => {
    const file = LmdbFile.open(path);
    try {
      expect(file.pageSize).toBe(4096);
      expect(file.dataFile).toBe(join(path, 'data.mdb'));
      expect(file.databaseNames()).toEqual(['empty', 'meta', 'records', 'strings']);
      expect(file.database('records').entries).toBe(300);
      expect(file.database('strings').entries).toBe(lmdbJsEntries(writer.db('strings')).length);
      expect(file.database('strings').record.depth).toBeGreaterThanOrEqual(3);
      expect(file.database('records').record.overflowPages).toBeGreaterThan(0);
      expect(file.database('meta').get(Buffer.from('header'))!.toString()).toBe('hello');
      expect(() => file.database('nope')).toThrow(expect.objectContaining({ reason: 'not-a-store' }));
    } finally {
      file.close();
    }
  });

  it('iterates in the order of lmdb-js getRange, and gets every key, by get, getInto and valueLocation', () => {
    const file = LmdbFile.open(join(path, 'data.mdb'));
    try {
      for (const name of ['records', 'strings', 'meta']) {
        const expected = lmdbJsEntries(writer.db(name));
        const db = file.database(name);
        expectSameEntries(readAll(db), expected);
        expect(db.entries).toBe(expected.length);
        expectLookups(file, db, expected);
      }
    } finally {
      file.close();
    }
  });

  it('ranges with start and end bounds as lmdb-js does (start inclusive, end exclusive)', () => {
    const file = LmdbFile.open(path);
    try {
      const all = lmdbJsEntries(writer.db('strings'));
      const random = rng(2);
      const bounds: [Buffer | undefined, Buffer | undefined][] = [
        [all[100]![0], all[5000]![0]],
        [all[17]![0], undefined],
        [undefined, all[17]![0]],
        [bytes(random, 3), undefined],
        [all[200]![0], all[200]![0]],
      ];
      for (let i = 0; i < 20; i++) {
        const a = bytes(random, 1 + (i % 5));
        const b = bytes(random, 1 + (i % 7));
        bounds.push(Buffer.compare(a, b) <= 0 ? [a, b] : [b, a]);
      }
      for (const [start, end] of bounds) {
        const options = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
        expectSameEntries(readAll(file.database('strings'), options), lmdbJsEntries(writer.db('strings'), options));
      }
    } finally {
      file.close();
    }
  });

  it('returns undefined for absent keys (neighbours, prefixes, extensions, the empty key)', () => {
    const file = LmdbFile.open(path);
    try {
      const db = file.database('strings');
      const keys = new Set(lmdbJsEntries(writer.db('strings')).map(([key]) => key.toString('hex')));
      const random = rng(3);
      let absent = 0;
      for (const [key] of lmdbJsEntries(writer.db('strings')).slice(0, 2000)) {
        for (const probe of [key.subarray(0, key.length - 1), Buffer.concat([key, Buffer.of(0)]), bytes(random, key.length)]) {
          if (keys.has(probe.toString('hex'))) continue;
          absent++;
          expect(db.get(probe)).toBeUndefined();
          expect(db.getInto(probe, Buffer.alloc(1), 0)).toBeUndefined();
          expect(db.valueLocation(probe)).toBeUndefined();
        }
      }
      expect(absent).toBeGreaterThan(4000);
      if (!keys.has('')) expect(db.get(Buffer.alloc(0))).toBeUndefined();
      expect(file.database('records').get(u32be(300))).toBeUndefined();
    } finally {
      file.close();
    }
  });

  it('gives the same answers with tiny or no page caches, with gets interleaved in a cursor walk', () => {
    const expected = lmdbJsEntries(writer.db('strings'));
    for (const options of [{ leafCachePages: 3, branchCachePages: 2 }, { leafCachePages: 0, branchCachePages: 0 }, { leafCachePages: 1 }]) {
      const file = LmdbFile.open(path, options);
      try {
        const db = file.database('strings');
        expectLookups(file, db, expected.slice(0, 3000));
        const random = rng(9);
        let i = 0;
        for (const [key, value] of db.range()) {
          if (!key.equals(expected[i]![0]) || !value.equals(expected[i]![1])) throw new Error(`entry ${i} differs`);
          const other = expected[Math.floor(random() * expected.length)]!;
          if (!db.get(other[0])!.equals(other[1])) throw new Error(`get during the walk differs at ${i}`);
          i++;
        }
        expect(i).toBe(expected.length);
      } finally {
        file.close();
      }
    }
  });

  it('lets a caller read an overflow value itself: one readv of page header, head and the rest', () => {
    const file = LmdbFile.open(path);
    try {
      const db = file.database('records');
      const expected = lmdbJsEntries(writer.db('records'));
      const header = Buffer.alloc(16);
      const head = Buffer.alloc(10);
      let overflowValues = 0;
      for (const [key, value] of expected) {
        const location = db.valueLocation(key, undefined, false)!;
        if (location.overflowPage < 0) continue;
        overflowValues++;
        const rest = Buffer.alloc(location.length - head.length);
        expect(readvSync(file.fd, [header, head, rest], location.position - 16)).toBe(16 + location.length);
        db.checkOverflowPageHeader(location, header);
        expect(Buffer.concat([head, rest]).equals(value)).toBe(true);
        header.writeUInt16LE(0, 10);
        expect(() => db.checkOverflowPageHeader(location, header)).toThrow(expect.objectContaining({ reason: 'damaged' }));
      }
      expect(overflowValues).toBe(200);
    } finally {
      file.close();
    }
  });

  it('reads an empty named database', () => {
    const file = LmdbFile.open(path);
    try {
      const db = file.database('empty');
      expect(db.entries).toBe(0);
      expect(db.record.root).toBeNull();
      expect(db.get(Buffer.from('x'))).toBeUndefined();
      expect(readAll(db)).toEqual([]);
    } finally {
      file.close();
    }
  });

  it('refuses a value that does not fit the target with a RangeError, target untouched', () => {
    const file = LmdbFile.open(path);
    try {
      const target = Buffer.alloc(100, 7);
      expect(() => file.database('records').getInto(u32be(1), target, 0)).toThrow(RangeError);
      expect(target.every((b) => b === 7)).toBe(true);
    } finally {
      file.close();
    }
  });

  it('never creates or opens lock.mdb: reads a lone data.mdb copy', () => {
    const folder = join(tmp.dir, 'lone');
    mkdirSync(folder);
    copyFileSync(join(path, 'data.mdb'), join(folder, 'data.mdb'));
    const file = LmdbFile.open(folder);
    try {
      expect(file.database('records').entries).toBe(300);
    } finally {
      file.close();
    }
    expect(readdirSync(folder)).toEqual(['data.mdb']);
  });

  it('throws ClosedError after close', () => {
    const file = LmdbFile.open(path);
    const db = file.database('records');
    file.close();
    expect(() => db.get(u32be(0))).toThrow(ClosedError);
    expect(() => file.database('strings')).toThrow(ClosedError);
  });

  it('uses the meta page with the newer transaction, and the other one when the newer is invalid', () => {
    const copy = join(tmp.dir, 'meta-choice.mdb');
    copyFileSync(join(path, 'data.mdb'), copy);
    const file = LmdbFile.open(copy);
    const { pgno, txnid } = file.meta;
    file.close();
    const data = readFileSync(copy);
    const other = data.subarray(4096 * (1 - pgno), 4096 * (1 - pgno) + 152);
    expect(Number(other.readBigUInt64LE(144))).toBeLessThan(txnid);
    // Break the newer meta page's flags: the older one, one transaction back, is used.
    data.writeUInt16LE(0, 4096 * pgno + 10);
    writeFileSync(copy, data);
    const older = LmdbFile.open(copy);
    expect(older.meta.pgno).toBe(1 - pgno);
    expect(older.meta.txnid).toBe(Number(other.readBigUInt64LE(144)));
    older.close();
  });

  it('refuses a missing path, a file that is not LMDB, and an LMDB v2 file with the matching reasons', () => {
    expect(() => LmdbFile.open(join(tmp.dir, 'nothing-here'))).toThrow(expect.objectContaining({ reason: 'missing' }));
    const junk = join(tmp.dir, 'junk.mdb');
    writeFileSync(junk, bytes(rng(4), 20_000));
    expect(() => LmdbFile.open(junk)).toThrow(expect.objectContaining({ reason: 'not-a-store' }));
    const v2 = Buffer.alloc(8192);
    v2.writeUInt32LE(0xbeefc0de, 24);
    v2.writeUInt32LE(2, 28);
    writeFileSync(junk, v2);
    expect(() => LmdbFile.open(junk)).toThrow(expect.objectContaining({ reason: 'lmdb-data-format' }));
  });
});

describe('LmdbFile on files written by py-lmdb', () => {
  let path: string;
  let expected: Record<string, [string, string][]>;

  beforeAll(() => {
    path = join(tmp.dir, 'py.lmdb');
    const dump = join(tmp.dir, 'py.json');
    const script = `
import json, random, sys, lmdb
random.seed(7)
env = lmdb.open(sys.argv[1], max_dbs=8, map_size=1 << 30)
names = {}
with env.begin(write=True) as txn:
    for name in ['alpha', 'empty', 'dups', 'ints']:
        names[name] = env.open_db(name.encode(), txn=txn, dupsort=(name == 'dups'), integerkey=(name == 'ints'))
    for i in range(30000):
        key = bytes(random.getrandbits(8) for _ in range(random.randint(1, 120)))
        size = random.randint(2000, 60000) if random.random() < 0.01 else random.randint(0, 100)
        txn.put(key, random.randbytes(size), db=names['alpha'])
    for i in range(10):
        txn.put(b'd', str(i).encode(), db=names['dups'])
    txn.put((5).to_bytes(8, 'little'), b'five', db=names['ints'])
    txn.put(b'zzz-plain', b'a value of the main database')
# A second transaction: deletes and overwrites, so pages are freed and reused.
with env.begin(write=True) as txn:
    keys = [k for k, _ in txn.cursor(db=names['alpha'])]
    for k in keys[::7]:
        txn.delete(k, db=names['alpha'])
    for k in keys[1::13]:
        txn.put(k, random.randbytes(random.choice([10, 9000])), db=names['alpha'])
out = {}
with env.begin() as txn:
    for name in ['alpha', 'empty']:
        out[name] = [[k.hex(), v.hex()] for k, v in txn.cursor(db=names[name])]
    out['main'] = [[k.hex(), v.hex()] for k, v in txn.cursor() if k == b'zzz-plain']
json.dump(out, open(sys.argv[2], 'w'))
`;
    execFileSync(pythonWithLmdb(), ['-c', script, path, dump], { stdio: 'inherit' });
    expected = JSON.parse(readFileSync(dump, 'utf8'));
  });

  const entries = (name: string): Entry[] => expected[name]!.map(([k, v]) => [Buffer.from(k, 'hex'), Buffer.from(v, 'hex')]);

  it('reads every entry of a deep tree with overflow values after deletes and overwrites', () => {
    const file = LmdbFile.open(path);
    try {
      const db = file.database('alpha');
      expect(db.record.depth).toBeGreaterThanOrEqual(3);
      expect(db.entries).toBe(expected.alpha!.length);
      expectSameEntries(readAll(db), entries('alpha'));
      expectLookups(file, db, entries('alpha'));
      expect(file.database('empty').entries).toBe(0);
      expect(readAll(file.database('empty'))).toEqual([]);
      expect(file.databaseNames()).toEqual(['alpha', 'dups', 'empty', 'ints']);
      expect(file.main.get(Buffer.from('zzz-plain'))!.toString()).toBe('a value of the main database');
    } finally {
      file.close();
    }
  });

  it('refuses MDB_DUPSORT and MDB_INTEGERKEY databases with UnsupportedLmdbFeatureError', () => {
    const file = LmdbFile.open(path);
    try {
      for (const [name, feature] of [
        ['dups', 'MDB_DUPSORT'],
        ['ints', 'MDB_INTEGERKEY'],
      ] as const) {
        let error: unknown;
        try {
          file.database(name);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(UnsupportedLmdbFeatureError);
        expect(error).toBeInstanceOf(StoreFormatError);
        expect(error).toMatchObject({ feature, reason: 'not-a-store' });
      }
      expect(() => file.database('zzz-plain')).toThrow(/not a named database/);
    } finally {
      file.close();
    }
  });
});

/** An imgstore store read key by key equals what lmdb-js reads. */
function expectStoreMatchesLmdbJs(storePath: string): void {
  const file = LmdbFile.open(storePath);
  const env = open({ path: storePath, noSubdir: false, maxDbs: 8, readOnly: true, ...binary } as Parameters<typeof open>[0]) as unknown as {
    openDB(options: object): BinaryDb;
  };
  try {
    for (const name of ['meta', 'records', 'rejects']) {
      const expected = lmdbJsEntries(env.openDB({ name, ...binary }));
      const db = file.database(name);
      expect(db.entries).toBe(expected.length);
      expectSameEntries(readAll(db), expected);
      expectLookups(file, db, expected);
    }
    expect(file.database('records').entries).toBeGreaterThan(0);
  } finally {
    file.close();
  }
}

describe('LmdbFile on imgstore stores', () => {
  it('reads a store written by StoreWriter key by key as lmdb-js does', async () => {
    const storePath = join(tmp.dir, 'writer.lmdb');
    const writer = createStoreWriter(storePath, { shape: [64, 64, 3], labelNames: ['a', 'b'], recordsPerCommit: 16 });
    const random = rng(5);
    for (let i = 0; i < 60; i++) {
      await writer.append({ name: `a/${i}.jpg`, label: i % 2, shape: [64, 64, 3], dtype: 'uint8', data: bytes(random, 64 * 64 * 3) });
    }
    await writer.reject('b/broken.jpg', 'truncated');
    await writer.finish();
    expectStoreMatchesLmdbJs(storePath);
  });

  it.skipIf(!existsSync(cliBin))('reads a store converted by the CLI key by key as lmdb-js does', () => {
    const storePath = join(tmp.dir, 'cli.lmdb');
    execFileSync(process.execPath, [cliBin, 'convert', samplesDir, storePath], { cwd: repoRoot, stdio: 'ignore' });
    expectStoreMatchesLmdbJs(storePath);
  });
});

describe('LmdbFile on damaged files', () => {
  let source: string;
  let small: string;
  let pageSize: number;
  let keys: Buffer[];
  let counter = 0;

  /** 'records' (overflow and small values) and 'strings' (random keys, a tree of depth >= 3). */
  function writeFixture(name: string, records: number, strings: number): string {
    const folder = join(tmp.dir, name);
    const random = rng(6);
    const { env } = writeWithLmdbJs(folder, (db) => {
      for (let i = 0; i < records; i++) db('records').putSync(u32be(i), bytes(random, i % 4 === 0 ? 9000 : 30));
      for (let i = 0; i < strings; i++) db('strings').putSync(bytes(random, 8 + Math.floor(random() * 100)), bytes(random, 20));
    });
    env.close();
    return join(folder, 'data.mdb');
  }

  beforeAll(() => {
    source = writeFixture('damage.lmdb', 400, 20_000);
    small = writeFixture('small.lmdb', 40, 1500);
    const file = LmdbFile.open(source);
    pageSize = file.pageSize;
    keys = readAll(file.database('strings')).map(([key]) => key);
    expect(file.database('strings').record.depth).toBeGreaterThanOrEqual(3);
    file.close();
  });

  /** A copy of the fixture changed by `damage`. */
  function damagedCopy(damage: (data: Buffer) => unknown): string {
    const copy = join(tmp.dir, `damaged-${counter++}.mdb`);
    const data = readFileSync(source);
    damage(data);
    writeFileSync(copy, data);
    return copy;
  }

  /** Opens and reads everything (every key of the fixture by get too); returns the error thrown. */
  function readEverything(path: string, stringKeys = keys, records = 400): unknown {
    // Large enough for any value the file can hold: a size that does not fit is the caller's RangeError.
    const target = Buffer.alloc(statSync(path).size);
    try {
      const file = LmdbFile.open(path);
      try {
        for (const name of file.databaseNames()) {
          const db = file.database(name);
          for (const [key] of db.range()) db.get(key);
        }
        for (const key of stringKeys) file.database('strings').get(key);
        for (let i = 0; i < records; i++) file.database('records').getInto(u32be(i), target, 0);
      } finally {
        file.close();
      }
    } catch (error) {
      return error;
    }
    return undefined;
  }

  function expectDamaged(path: string, pattern?: RegExp): void {
    const started = performance.now();
    const error = readEverything(path);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(StoreFormatError);
    expect(error).toMatchObject({ reason: 'damaged', path });
    if (pattern) expect((error as Error).message).toMatch(pattern);
  }

  /** Page number of the root of 'strings' (a branch page) in the fixture. */
  function stringsRoot(): number {
    const file = LmdbFile.open(source);
    const root = file.database('strings').record.root!;
    file.close();
    return root;
  }

  /** Offset in the file of node `index` of page `pgno`. */
  function nodeAt(data: Buffer, pgno: number, index: number): number {
    return pgno * pageSize + readU16(data, pgno * pageSize + PAGE_HEADER_SIZE + 2 * index);
  }

  function setChild(data: Buffer, pgno: number, index: number, child: number): void {
    const node = nodeAt(data, pgno, index);
    data.writeUInt32LE(child % 2 ** 32, node);
    data.writeUInt16LE(Math.floor(child / 2 ** 32), node + 4);
  }

  it('reads the undamaged fixture', () => {
    expect(readEverything(source)).toBeUndefined();
  });

  it('refuses a file truncated at several lengths', () => {
    const size = statSync(source).size;
    for (const length of [100, 4000, pageSize, pageSize + 100, 2 * pageSize, Math.floor(size / 2), size - pageSize, size - 1]) {
      const copy = damagedCopy(() => undefined);
      truncateSync(copy, length);
      expectDamaged(copy);
    }
    const copy = damagedCopy(() => undefined);
    truncateSync(copy, 10);
    expect(readEverything(copy)).toMatchObject({ reason: 'not-a-store' });
  });

  it('refuses a file whose two meta pages are both corrupted', () => {
    expectDamaged(
      damagedCopy((data) => {
        data.writeUInt16LE(0, 10); // page 0: not flagged as a meta page
        data.writeUInt32LE(12345, pageSize + 40); // page 1: impossible page size
      }),
      /no valid meta page/,
    );
  });

  it('refuses a branch node pointing past the end of the file', () => {
    expectDamaged(damagedCopy((data) => setChild(data, stringsRoot(), 1, data.length / pageSize + 10)), /outside pages/);
    expectDamaged(damagedCopy((data) => setChild(data, stringsRoot(), 0, 2 ** 40)), /outside pages/);
    expectDamaged(damagedCopy((data) => setChild(data, stringsRoot(), 0, 0)), /outside pages/);
  });

  it('refuses a branch pointing to itself (a cycle)', () => {
    const root = stringsRoot();
    expectDamaged(damagedCopy((data) => setChild(data, root, 0, root)));
    expectDamaged(damagedCopy((data) => setChild(data, root, 1, root)));
  });

  it('refuses a node offset outside its page and a key running past the page end', () => {
    const root = stringsRoot();
    expectDamaged(
      damagedCopy((data) => data.writeUInt16LE(pageSize - 4, root * pageSize + PAGE_HEADER_SIZE + 2)),
      /outside its node area/,
    );
    expectDamaged(
      damagedCopy((data) => data.writeUInt16LE(8, root * pageSize + PAGE_HEADER_SIZE)),
      /outside its node area/,
    );
    expectDamaged(damagedCopy((data) => data.writeUInt16LE(60000, nodeAt(data, root, 1) + 6)), /runs past the page end/);
  });

  it('refuses wrong page flags, numbers and free-space bounds', () => {
    const root = stringsRoot();
    expectDamaged(damagedCopy((data) => data.writeUInt16LE(P_LEAF, root * pageSize + 10)), /page flags/);
    expectDamaged(damagedCopy((data) => data.writeUInt32LE(root + 1, root * pageSize)), /holds page number/);
    expectDamaged(damagedCopy((data) => data.writeUInt16LE(pageSize + 2, root * pageSize + 14)), /free space/);
  });

  it('refuses an overflow value whose pages lie past the end or are not overflow pages', () => {
    const data = readFileSync(source);
    const file = LmdbFile.open(source);
    const overflow = file.database('records').valueLocation(u32be(0))!.overflowPage;
    file.close();
    expect(overflow).toBeGreaterThan(1);
    // The leaf node of 'records' holding that overflow page number.
    let bigNode = -1;
    for (let pgno = 2; pgno < data.length / pageSize && bigNode < 0; pgno++) {
      const page = data.subarray(pgno * pageSize, (pgno + 1) * pageSize);
      if ((readU16(page, 10) & (P_LEAF | P_BRANCH)) !== P_LEAF) continue;
      for (let i = 0; i < pageKeyCount(page); i++) {
        const node = readU16(page, PAGE_HEADER_SIZE + 2 * i);
        if ((readU16(page, node + 4) & F_BIGDATA) !== 0 && readU16(page, node + 6) === 4 && readPgno(page, node + 12) === overflow) {
          bigNode = pgno * pageSize + node;
          break;
        }
      }
    }
    expect(bigNode).toBeGreaterThan(0);
    expectDamaged(damagedCopy((d) => d.writeUInt32LE(d.length / pageSize - 1, bigNode + 12)), /overflow page/);
    expectDamaged(damagedCopy((d) => d.writeUInt32LE(0xfffffff0, bigNode)), /overflow page/);
    expectDamaged(damagedCopy((d) => d.writeUInt16LE(P_LEAF, overflow * pageSize + 10)), /not an overflow page/);
    expectDamaged(damagedCopy((d) => d.writeUInt32LE(overflow + 1, overflow * pageSize)), /holds page number/);
  });

  it('never gives anything but a correct read or StoreFormatError when random bytes are flipped (property)', () => {
    const data = readFileSync(small);
    const smallFile = LmdbFile.open(small);
    const smallKeys = readAll(smallFile.database('strings')).map(([key]) => key);
    smallFile.close();
    expect(readEverything(small, smallKeys, 40)).toBeUndefined();
    // Structural pages (meta, branch, leaf) get most flips: flips in value bytes are harmless by design.
    const structural: number[] = [];
    for (let pgno = 0; pgno < data.length / pageSize; pgno++) {
      if ((readU16(data, pgno * pageSize + 10) & (P_BRANCH | P_LEAF | 0x08)) !== 0) structural.push(pgno);
    }
    const flip = fc.record({
      page: fc.nat({ max: structural.length - 1 }),
      anywhere: fc.nat({ max: data.length - 1 }),
      inPage: fc.nat({ max: pageSize - 1 }),
      useAnywhere: fc.boolean(),
      value: fc.integer({ min: 1, max: 255 }),
    });
    const copy = join(tmp.dir, 'flipped.mdb');
    let refused = 0;
    fc.assert(
      fc.property(fc.array(flip, { minLength: 1, maxLength: 8 }), (flips) => {
        const damaged = Buffer.from(data);
        for (const f of flips) {
          const position = f.useAnywhere ? f.anywhere : structural[f.page]! * pageSize + f.inPage;
          damaged[position] = damaged[position]! ^ f.value;
        }
        writeFileSync(copy, damaged);
        const started = performance.now();
        const error = readEverything(copy, smallKeys, 40);
        if (performance.now() - started > 5000) throw new Error('a damaged file took over 5 s');
        if (error !== undefined && !(error instanceof StoreFormatError)) throw error;
        if (error !== undefined) refused++;
      }),
      { seed: 20240521, numRuns: 200 },
    );
    expect(refused).toBeGreaterThan(20);
  });
});
