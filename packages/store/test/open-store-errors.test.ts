import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { join } from 'node:path';
import { open } from 'lmdb';
import {
  StoreDamagedError,
  StoreFormatError,
  UnknownCodecError,
  type Codec,
  type StoreFormatReason,
} from '@imgstore/core';
import { CodecRegistry, lz4Codec, packPlain, rawCodec } from '@imgstore/codec';
import {
  crc32,
  crc32Implementation,
  createStoreWriter,
  detectLmdbDataFormat,
  openStore,
  recordKey,
  sealRecord,
} from '@imgstore/store/internal';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

const shape = [2, 2, 3] as const;
const pixels = (i: number) => new Uint8Array(12).fill(i);

async function writeStore(
  path: string,
  count = 3,
  options: { finish?: boolean; codec?: string | Codec; shape?: [number, number, number] } = {},
) {
  const recordShape = options.shape ?? [2, 2, 3];
  const writer = createStoreWriter(path, { shape: recordShape, ...(options.codec ? { codec: options.codec } : {}) });
  const bytes = recordShape[0] * recordShape[1] * recordShape[2];
  for (let i = 0; i < count; i++) {
    const data = bytes === 12 ? pixels(i) : uniquePixels(bytes, i);
    await writer.append({ name: `${i}.png`, label: null, shape: recordShape, dtype: 'uint8', data });
  }
  if (options.finish === false) await writer.close();
  else await writer.finish();
}

/** Puts a raw value into a store's database with lmdb directly, as a damaged or foreign store would hold. */
async function putRaw(path: string, dbName: string, key: Buffer, value: Buffer) {
  const env = open({ path, noSubdir: false, maxDbs: 8 });
  const db = env.openDB({ name: dbName, encoding: 'binary', keyEncoding: 'binary' });
  await db.put(key, value);
  await env.close();
}

// Every refusal and every damage report holds for both read engines.
const ENGINES = ['typescript', 'lmdb-js'] as const;
let engine: (typeof ENGINES)[number];
const openWith = (path: string, options: Parameters<typeof openStore>[1] = {}) => openStore(path, { engine, ...options });

function expectFormatError(path: string, reason: StoreFormatReason, message: RegExp | string) {
  let caught: unknown;
  try {
    openWith(path);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StoreFormatError);
  expect((caught as StoreFormatError).reason).toBe(reason);
  expect((caught as StoreFormatError).path).toBe(path);
  expect((caught as Error).message).toMatch(message);
}

describe.each(ENGINES)('engine %s', (name) => {
  beforeEach(() => {
    engine = name;
  });

  describe('openStore refuses what is not a finished store, saying which', () => {
    it('nothing at the path', () => {
      expectFormatError(join(tmp.dir, 'nope'), 'missing', /nothing exists there/);
    });

    it('a file instead of a folder', () => {
      const path = join(tmp.dir, 'file.lmdb');
      writeFileSync(path, 'hello');
      expectFormatError(path, 'not-a-store', /is a file/);
    });

    it('a folder without data.mdb', () => {
      mkdirSync(join(tmp.dir, 'empty'));
      expectFormatError(join(tmp.dir, 'empty'), 'not-a-store', /has no data\.mdb/);
    });

    it('a garbage data.mdb (never handed to native code)', () => {
      const path = join(tmp.dir, 'garbage');
      mkdirSync(path);
      writeFileSync(join(path, 'data.mdb'), Buffer.alloc(8192, 0xab));
      expectFormatError(path, 'not-a-store', /data\.mdb is not an LMDB file/);
    });

    it('an LMDB data format v2 file (lmdb-js prebuilt default)', () => {
      const path = join(tmp.dir, 'v2');
      mkdirSync(path);
      const page = Buffer.alloc(8192);
      page.writeUInt32LE(0xbeefc0de, 24);
      page.writeUInt32LE(2, 28);
      writeFileSync(join(path, 'data.mdb'), page);
      expect(detectLmdbDataFormat(join(path, 'data.mdb'))).toBe('v2');
      expectFormatError(path, 'lmdb-data-format', /LMDB data format v2/);
    });

    it('a truncated data.mdb (would be SIGBUS in native code): checked against its meta page first', async () => {
      const path = join(tmp.dir, 'truncated');
      await writeStore(path, 40, { shape: [32, 32, 3] });
      const dataFile = join(path, 'data.mdb');
      const size = statSync(dataFile).size;
      for (const keep of [Math.floor(size / 2), size - 4096, 8192 + 100]) {
        truncateSync(dataFile, keep);
        expectFormatError(path, 'damaged', new RegExp(`data\\.mdb it is truncated: its meta page needs ${size} bytes but the file has ${keep}`));
      }
      truncateSync(dataFile, 4100); // the second meta page is cut
      expectFormatError(path, 'damaged', /second meta page is missing/);
      truncateSync(dataFile, 0);
      expectFormatError(path, 'not-a-store', /data\.mdb is not an LMDB file/);
    });

    it('a meta page with an impossible page size', async () => {
      const path = join(tmp.dir, 'page-size');
      await writeStore(path);
      const dataFile = join(path, 'data.mdb');
      const bytes = readFileSync(dataFile);
      bytes.writeUInt32LE(4095, 40);
      writeFileSync(dataFile, bytes);
      expectFormatError(path, 'damaged', /impossible page size \(4095\)/);
    });

    it('an LMDB environment that is not an imgstore store', async () => {
      const path = join(tmp.dir, 'foreign');
      await putRaw(path, 'meta', Buffer.from('header'), packPlain({ format: 'something-else' }));
      expectFormatError(path, 'not-a-store', /not an imgstore store/);
    });

    it('a conversion that never finished (no header)', async () => {
      const path = join(tmp.dir, 'unfinished');
      await writeStore(path, 3, { finish: false });
      expectFormatError(path, 'incomplete', /has no header: its conversion did not finish \(3 records committed\)/);
    });

    it('a newer format version', async () => {
      const path = join(tmp.dir, 'newer');
      await writeStore(path);
      const header = openWith(path).header;
      await putRaw(path, 'meta', Buffer.from('header'), packPlain({ ...header, version: 3 }));
      expectFormatError(path, 'version', `Store ${path} has format version 3; this reader reads 1`);
    });

    it('a codec that is not registered', async () => {
      const path = join(tmp.dir, 'custom');
      const custom: Codec = { ...rawCodec, id: 'my-codec' };
      await writeStore(path, 2, { codec: custom });
      expect(() => openWith(path, { codecs: new CodecRegistry([lz4Codec, rawCodec]) })).toThrow(UnknownCodecError);
      expect(() => openWith(path, { codecs: new CodecRegistry([lz4Codec]) })).toThrow(
        'Unknown codec "my-codec"; registered codecs: lz4',
      );
      const store = openWith(path, { codecs: new CodecRegistry([custom]) });
      expect(Buffer.from(store.get(1).data)).toEqual(Buffer.from(pixels(1)));
      await store.close();
    });
  });

  describe('damaged records give a StoreDamagedError naming store, index and key', () => {
    it('a flipped bit fails the checksum', async () => {
      const path = join(tmp.dir, 'flipped');
      await writeStore(path);
      const good = Buffer.from(openWith(path).get(1).data);
      expect(good).toEqual(Buffer.from(pixels(1)));
      const sealed = sealRecord(lz4Codec.encode({ name: '1.png', label: null, shape, dtype: 'uint8', data: pixels(1) }));
      sealed.writeUInt8(sealed.readUInt8(sealed.length - 10) ^ 0x04, sealed.length - 10);
      await putRaw(path, 'records', recordKey(1), sealed);
      const store = openWith(path);
      expect(() => store.get(1)).toThrow(StoreDamagedError);
      expect(() => store.get(1)).toThrow(`Store ${path} record 1 (key 00000001) is damaged: checksum mismatch`);
      expect(Buffer.from(store.get(2).data)).toEqual(Buffer.from(pixels(2)));
      await store.close();
    });

    it('bits flipped in data.mdb inside any record are caught by its checksum; other records still read', async () => {
      const path = join(tmp.dir, 'bitrot');
      const recordShape: [number, number, number] = [32, 32, 3];
      await writeStore(path, 12, { shape: recordShape });
      const dataFile = join(path, 'data.mdb');
      const pristine = readFileSync(dataFile);
      for (const [index, offsetInPixels, bit] of [[0, 0, 0], [3, 1500, 7], [7, 3071, 3], [11, 2048, 5]] as const) {
        const at = pristine.indexOf(Buffer.from(uniquePixels(3072, index)));
        expect(at).toBeGreaterThan(0);
        const damaged = Buffer.from(pristine);
        damaged.writeUInt8(damaged.readUInt8(at + offsetInPixels) ^ (1 << bit), at + offsetInPixels);
        writeFileSync(dataFile, damaged);
        const store = openWith(path);
        let caught: unknown;
        try {
          store.get(index);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(StoreDamagedError);
        expect((caught as StoreDamagedError).index).toBe(index);
        expect((caught as Error).message).toContain(`record ${index} (key ${recordKey(index).toString('hex')}) is damaged: checksum mismatch`);
        const other = (index + 1) % 12;
        expect(Buffer.from(store.get(other).data)).toEqual(Buffer.from(uniquePixels(3072, other)));
        await store.close();
      }
    });

    it('a record whose shape or label disagrees with the header (checksum valid) is damage, not a buffer overrun', async () => {
      const path = join(tmp.dir, 'mismatch');
      await writeStore(path);
      const wrongShape = rawCodec.encode({ name: 'x', label: null, shape: [3, 3, 3], dtype: 'uint8', data: new Uint8Array(27) });
      await putRaw(path, 'records', recordKey(0), sealRecord(wrongShape));
      const store = openWith(path);
      expect(() => store.readInto(0, new Uint8Array(24), 0)).toThrow(
        /record 0 \(key 00000000\) has shape \[3,3,3\] but the header says \[2,2,3\]/,
      );
      await store.close();

      const labeled = join(tmp.dir, 'labeled');
      const writer = createStoreWriter(labeled, { shape: [2, 2, 3], labelNames: ['cat', 'dog'] });
      await writer.append({ name: 'a', label: 1, shape, dtype: 'uint8', data: pixels(1) });
      await writer.finish();
      const badLabel = rawCodec.encode({ name: 'a', label: 2, shape, dtype: 'uint8', data: pixels(1) });
      await putRaw(labeled, 'records', recordKey(0), sealRecord(badLabel));
      const reader = openWith(labeled);
      expect(() => reader.get(0)).toThrow(/has label 2 but the header names only 2 labels/);
      await reader.close();
    });

    it('the checksum is zlib CRC-32, computed by the SIMD implementation here, on views at any offset', () => {
      expect(crc32Implementation).toBe('@node-rs/crc32');
      const bytes = uniquePixels(200_003, 9);
      for (const [start, end] of [[0, 0], [0, 1], [1, 200_003], [7, 196_615], [4096, 4097]] as const) {
        const view = bytes.subarray(start, end);
        expect(crc32(view)).toBe(zlibCrc32(view));
      }
    });

    it("an LZ4 record that claims more bytes than the header's sample size: refused before allocating", async () => {
      const path = join(tmp.dir, 'lz4-bomb');
      await writeStore(path, 3, { codec: 'lz4' });
      const encoded = Buffer.from(lz4Codec.encode({ name: '0.png', label: null, shape, dtype: 'uint8', data: pixels(0) }));
      encoded.writeUInt32LE(900 * 1024 * 1024, 0); // below the codec's own 1 GiB ceiling
      await putRaw(path, 'records', recordKey(0), sealRecord(encoded));
      const store = openWith(path);
      const before = process.memoryUsage().rss;
      expect(() => store.get(0)).toThrow(StoreDamagedError);
      expect(() => store.get(0)).toThrow(`claims ${900 * 1024 * 1024} bytes, more than a record may hold (${12 + 64 * 1024})`);
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
      await store.close();
    });

    it('a value that passes its checksum but does not decode', async () => {
      const path = join(tmp.dir, 'undecodable');
      await writeStore(path);
      await putRaw(path, 'records', recordKey(0), sealRecord(Buffer.from('not an lz4 frame')));
      const store = openWith(path);
      expect(() => store.get(0)).toThrow(/record 0 \(key 00000000\) passed its checksum but does not decode/);
      await store.close();
    });

    it('a missing record that the header counts', async () => {
      const path = join(tmp.dir, 'missing-record');
      await writeStore(path);
      const env = open({ path, noSubdir: false, maxDbs: 8 });
      await env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' }).remove(recordKey(2));
      await env.close();
      const store = openWith(path);
      expect(() => store.get(2)).toThrow(/has no record 2 \(key 00000002\) although its header counts 3/);
      await store.close();
    });

    it('an index out of range is an option error, not damage', async () => {
      const path = join(tmp.dir, 'range');
      await writeStore(path);
      const store = openWith(path);
      expect(() => store.get(3)).toThrow('Expected integer from 0 to 2 for index but received 3 of type number');
      await store.close();
    });
  });
});
