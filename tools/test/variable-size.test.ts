import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { HEADER_CRC_KEY, HEADER_KEY, InvalidOptionError, StoreDamagedError, StoreFormatError, type Codec, type Shape } from '@imgstore/core';
import { CodecRegistry, packPlain, packRecord, rawCodec, unpackPlain } from '@imgstore/codec';
import { createStoreWriter, openStore } from '@imgstore/store';
import { DataLoader, type Batch } from '@imgstore/dataset';
import { decodeImage } from '@imgstore/image';
import { jpegCodec } from '@imgstore/codec-jpeg';
import { parseSize } from '@imgstore/cli';
import { open as openLmdb } from 'lmdb';
import { makeTempDir, runImgstore, samplesDir } from '../test-support/index.js';

// Variable-size stores: `--size shorter:N` or `original` keep each image's aspect ratio; the header's shape
// is [0, 0, channels] and each record carries its own; the DataLoader batches them through a crop.
const temp = makeTempDir('imgstore-variable-');
afterAll(temp.cleanup);

/** A [h, w, 3] record whose pixel (y, x) encodes its own position, so crops can be checked exactly. */
function positional(h: number, w: number, seed: number): Uint8Array {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([y, x, seed], (y * w + x) * 3);
  return data;
}

const sizes: [number, number][] = [[40, 60], [50, 40], [40, 40], [64, 48], [45, 90], [40, 41], [80, 40]];
const apiStore = join(temp.dir, 'api.lmdb');

beforeAll(async () => {
  const writer = createStoreWriter(apiStore, { shape: [0, 0, 3], maxSampleBytes: 100 * 100 * 3, labelNames: ['a', 'b'] });
  for (const [i, [h, w]] of sizes.entries()) {
    await writer.append({ name: `${i}`, label: i % 2, shape: [h, w, 3], dtype: 'uint8', data: positional(h, w, i) });
  }
  await writer.finish();
});

describe('a variable-size store', () => {
  it('keeps each record its own shape, and says so in the header', async () => {
    const store = openStore(apiStore);
    expect(store.sampleShape).toEqual([0, 0, 3]);
    expect(store.header.maxSampleBytes).toBe(30_000);
    sizes.forEach(([h, w], i) => {
      const sample = store.get(i);
      expect([...sample.shape]).toEqual([h, w, 3]);
      expect(Buffer.from(sample.data).equals(Buffer.from(positional(h, w, i)))).toBe(true);
    });
    // readInto needs room for the record it reads.
    const room = new Uint8Array(40 * 60 * 3);
    expect(store.readInto(0, room, 0).shape).toEqual([40, 60, 3]);
    expect(() => store.readInto(1, new Uint8Array(100), 0)).toThrow(InvalidOptionError);
    await store.close();
  });

  it('refuses records the writer cannot take, naming the option', () => {
    const writer = () => createStoreWriter(join(temp.dir, `w-${Math.random()}.lmdb`), { shape: [0, 0, 3], maxSampleBytes: 300 });
    expect(() => createStoreWriter(join(temp.dir, 'x.lmdb'), { shape: [0, 0, 3] })).toThrow('maxSampleBytes');
    expect(() => createStoreWriter(join(temp.dir, 'x.lmdb'), { shape: [0, 8, 3] })).toThrow('or [0, 0, channels] for variable size');
    expect(() => createStoreWriter(join(temp.dir, 'x.lmdb'), { shape: [8, 8, 3], maxSampleBytes: 10 })).toThrow('maxSampleBytes');
    const w = writer();
    const record = (shape: Shape) => ({ name: 'r', label: null, shape, dtype: 'uint8' as const, data: new Uint8Array(shape[0] * shape[1] * shape[2]) });
    return Promise.all([
      expect(w.append(record([10, 10, 1]))).rejects.toThrow('[height, width, 3]'),
      expect(w.append(record([10, 11, 3]))).rejects.toThrow('at most 300 bytes'),
    ]).finally(() => w.close());
  });

  it('refuses a record over the bound and one with other channels, as damage', async () => {
    const path = join(temp.dir, 'bad.lmdb');
    // A "raw" codec that writes another shape than it was given, with valid checksums: what a buggy writer
    // would leave. Each record is named by the shape it gets.
    const lying: Codec = {
      ...rawCodec,
      encode: (r) => {
        const shape = JSON.parse(r.name) as [number, number, number];
        return packRecord({ ...r, shape, data: new Uint8Array(shape[0] * shape[1] * shape[2]) });
      },
    };
    const writer = createStoreWriter(path, { shape: [0, 0, 3], maxSampleBytes: 1000, codec: lying, codecs: new CodecRegistry() });
    for (const name of ['[20,20,3]', '[10,10,1]', '[10,10,3]']) {
      await writer.append({ name, label: null, shape: [10, 10, 3], dtype: 'uint8', data: new Uint8Array(300) });
    }
    await writer.finish();
    const store = openStore(path);
    expect(store.get(2).shape).toEqual([10, 10, 3]);
    expect(() => store.get(0)).toThrow(StoreDamagedError); // 1,200 bytes of pixels, over maxSampleBytes 1,000
    expect(() => store.get(1)).toThrow(/has 1 channels but the header says 3/);
    await store.close();
  });

  it('has a header that says how big a record may be, or is refused', async () => {
    const path = join(temp.dir, 'no-bound.lmdb');
    const writer = createStoreWriter(path, { shape: [0, 0, 3], maxSampleBytes: 300 });
    await writer.finish();
    const env = openLmdb({ path, noSubdir: false, maxDbs: 8 });
    const meta = env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
    const header = unpackPlain(meta.getBinary(Buffer.from(HEADER_KEY))!) as Record<string, unknown>;
    expect(header).toMatchObject({ shape: [0, 0, 3], maxSampleBytes: 300 });
    delete header.maxSampleBytes;
    await meta.put(Buffer.from(HEADER_KEY), packPlain(header));
    // With its checksum, the edit is a checksum mismatch; without it (a store written before header
    // checksums), the field check itself refuses the header.
    await env.close();
    expect(() => openStore(path)).toThrow(/damaged header: checksum mismatch/);
    const again = openLmdb({ path, noSubdir: false, maxDbs: 8 });
    await again.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' }).remove(Buffer.from(HEADER_CRC_KEY));
    await again.close();
    expect(() => openStore(path)).toThrow(StoreFormatError);
    expect(() => openStore(path)).toThrow('malformed header: field "maxSampleBytes"');
  });
});

describe('the DataLoader over a variable-size store', () => {
  it('asks for a crop when there is none', () => {
    const store = openStore(apiStore);
    expect(() => new DataLoader(store, { batchSize: 4 })).toThrow(/vary in size.*augment: \{ crop: \[224, 224\] \}/);
    void store.close();
  });

  it('batches random crops, the same in the main thread and in 2 workers, each a true window of its sample', async () => {
    const store = openStore(apiStore);
    const read = async (workers: number) => {
      const loader = new DataLoader(store, { batchSize: 3, workers, shuffle: true, seed: 5, augment: { crop: [32, 36], flip: true } });
      const out: Batch[] = [];
      try {
        for (let epoch = 0; epoch < 2; epoch++) {
          loader.setEpoch(epoch);
          for await (const b of loader) out.push({ ...b, data: b.data.slice(), labels: b.labels.slice(), indices: b.indices.slice() });
        }
      } finally {
        await loader.close();
      }
      return out;
    };
    const [inThread, threaded] = [await read(0), await read(2)];
    expect(threaded.map((b) => [...b.indices])).toEqual(inThread.map((b) => [...b.indices]));
    threaded.forEach((b, k) => expect(Buffer.from(b.data).equals(Buffer.from(inThread[k]!.data))).toBe(true));
    for (const batch of inThread) {
      expect(batch.shape.slice(1)).toEqual([32, 36, 3]);
      batch.indices.forEach((index, k) => {
        const [h, w] = sizes[index]!;
        const crop = batch.data.subarray(k * 32 * 36 * 3, (k + 1) * 32 * 36 * 3);
        // Row y of the crop is row top+y of the sample: consecutive, inside it; columns a window (maybe mirrored).
        const top = crop[0]!;
        const columns = [...Array(36).keys()].map((x) => crop[x * 3 + 1]!);
        const left = Math.min(...columns);
        expect(top + 32).toBeLessThanOrEqual(h);
        expect(left + 36).toBeLessThanOrEqual(w);
        expect([...columns].sort((a, b) => a - b)).toEqual([...Array(36).keys()].map((x) => left + x));
        for (let y = 0; y < 32; y++) expect(crop[y * 36 * 3]).toBe(top + y);
        expect(crop[2]).toBe(index); // the sample's own pixels
        expect(batch.labels[k]).toBe(index % 2);
      });
    }
    await store.close();
  });

  it("centre-crops for evaluation: each sample's middle window", async () => {
    const store = openStore(apiStore);
    const loader = new DataLoader(store, { batchSize: 4, augment: { crop: [40, 40], cropAt: 'center' } });
    for await (const batch of loader) {
      batch.indices.forEach((index, k) => {
        const [h, w] = sizes[index]!;
        const crop = batch.data.subarray(k * 40 * 40 * 3, (k + 1) * 40 * 40 * 3);
        expect([crop[0], crop[1]], `sample ${index}`).toEqual([(h - 40) >> 1, (w - 40) >> 1]); // its own (y, x)
      });
    }
    await store.close();
  });

  it('names a sample smaller than the crop', async () => {
    const store = openStore(apiStore);
    const strict = new DataLoader(store, { batchSize: 8, augment: { crop: [42, 42] } });
    await expect(async () => {
      for await (const _ of strict) void _;
    }).rejects.toThrow(/Sample \d is 40×\d+×3, smaller than the crop 42×42×3/);
    await store.close();
  });
});

describe('imgstore convert --size shorter:N | original', () => {
  it('parses the size forms', () => {
    expect(parseSize('shorter:256')).toEqual({ shorterSide: 256 });
    expect(parseSize('original')).toEqual({ originalSize: true });
    expect(parseSize('224')).toEqual({ width: 224, height: 224 });
    expect(() => parseSize('shorter:0')).toThrow('shorter:N or original');
    expect(() => parseSize('longer:5')).toThrow('shorter:N or original');
  });

  it('stores each image at its own aspect ratio; info, verify, bench and the DataLoader read it', async () => {
    const path = join(temp.dir, 'shorter.lmdb');
    const run = await runImgstore(['convert', samplesDir, path, '--size', 'shorter:48', '--codec', 'jpeg', '-q']);
    expect(run.code, run.stderr).toBe(0);
    const store = openStore(path, { codecs: new CodecRegistry([jpegCodec]) });
    expect(store.sampleShape).toEqual([0, 0, 3]);
    const shapes = new Set<string>();
    for (let i = 0; i < store.length; i++) {
      const { shape, name } = store.get(i);
      expect(Math.min(shape[0], shape[1]), name).toBe(48);
      shapes.add(`${shape[0]}x${shape[1]}`);
    }
    expect(shapes.size).toBeGreaterThan(3); // the samples really differ in shape
    // The same image decoded on its own has the stored size.
    const first = await decodeImage(join(samplesDir, store.get(0).name), { shorterSide: 48 });
    expect([first.height, first.width, 3]).toEqual([...store.get(0).shape]);
    await store.close();

    const info = await runImgstore(['info', path]);
    expect(info.stdout).toContain('height×width×3, varying per record (--size shorter:48)');
    expect((await runImgstore(['verify', path, '-q'])).code).toBe(0);
    const noCrop = await runImgstore(['bench', path, '--epochs', '1']);
    expect(noCrop.code).toBe(2);
    expect(noCrop.stderr).toContain('give --crop');
    const bench = await runImgstore(['bench', path, '--epochs', '1', '--crop', '40', '--workers', '2', '--json']);
    expect(bench.code, bench.stderr).toBe(0);

    const original = join(temp.dir, 'original.lmdb');
    expect((await runImgstore(['convert', samplesDir, original, '--size', 'original', '-q'])).code).toBe(0);
    const kept = openStore(original);
    const sample = kept.get(0);
    const decoded = await decodeImage(join(samplesDir, sample.name), { originalSize: true });
    expect(Buffer.from(sample.data).equals(Buffer.from(decoded.data))).toBe(true);
    await kept.close();
  }, 120_000);
});

