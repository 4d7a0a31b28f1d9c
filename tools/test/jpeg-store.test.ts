import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError, StoreDamagedError, type Codec, type SampleRecord } from '@imgstore/core';
import { CodecRegistry, packEncodedRecord, rawCodec, unpackEncodedRecord } from '@imgstore/codec';
import { createStoreWriter, openStore } from '@imgstore/store';
import { DataLoader } from '@imgstore/dataset';
import { decodeImage } from '@imgstore/image';
import { createJpegCodec, jpegCodec, JPEG_FIELD } from '@imgstore/codec-jpeg';
import { makeImage, makeTempDir } from '../test-support/index.js';

// A store written with the jpeg codec from @imgstore/image, read back in this thread and by worker threads.
const temp = makeTempDir('imgstore-jpeg-');
const path = join(temp.dir, 'jpeg.lmdb');
const originals: Uint8Array[] = [];
const SHAPE = [24, 32, 3] as const;
const BYTES = 24 * 32 * 3;

beforeAll(async () => {
  const writer = createStoreWriter(path, { shape: SHAPE, codec: createJpegCodec({ quality: 85 }), labelNames: ['a', 'b'] });
  for (let i = 0; i < 12; i++) {
    const image = await decodeImage(await makeImage(64, 48, 'png', { seed: i + 1 }), { width: 32, height: 24 });
    originals.push(image.data);
    await writer.append({ name: `${i}.png`, label: i % 2, shape: SHAPE, dtype: 'uint8', data: image.data });
  }
  await writer.finish();
});
afterAll(temp.cleanup);

describe('a jpeg store', () => {
  it('says where to get the codec when it is not registered', () => {
    expect(() => openStore(path, { codecs: new CodecRegistry([rawCodec]) })).toThrow(/provided by @imgstore\/codec-jpeg.*registerJpegCodec/);
  });

  it('reads back close to the written pixels; readInto decodes into the batch to the same bytes as get', async () => {
    const store = openStore(path, { codecs: new CodecRegistry([jpegCodec]) });
    expect(store.header.codec).toBe('jpeg');
    const batch = new Uint8Array(BYTES * 2).fill(7);
    for (let i = 0; i < store.length; i++) {
      const sample = store.get(i);
      expect(sample.label).toBe(i % 2);
      let sum = 0;
      for (let j = 0; j < BYTES; j++) sum += Math.abs(sample.data[j]! - originals[i]![j]!);
      expect(sum / BYTES).toBeLessThan(8);
      store.readInto(i, batch, BYTES);
      expect(Buffer.from(batch.subarray(BYTES)).equals(Buffer.from(sample.data))).toBe(true);
    }
    expect(batch.subarray(0, BYTES).every((b) => b === 7)).toBe(true);
    expect(() => store.readInto(0, batch, BYTES + 1)).toThrow(InvalidOptionError);
    await store.close();
  });

  it('is read by DataLoader worker threads, which load the codec from its module themselves', async () => {
    // This thread's default registry has no jpeg codec: the workers cannot borrow it.
    const store = openStore(path, { codecs: new CodecRegistry([jpegCodec]) });
    const expected = [...Array(store.length).keys()].map((i) => Buffer.from(store.get(i).data));
    const loader = new DataLoader(store, { batchSize: 5, workers: 2, shuffle: true, seed: 3 });
    const seen: number[] = [];
    try {
      for await (const batch of loader) {
        batch.indices.forEach((index, k) => {
          seen.push(index);
          expect(Buffer.from(batch.data.subarray(k * BYTES, (k + 1) * BYTES)).equals(expected[index]!)).toBe(true);
        });
      }
    } finally {
      await loader.close();
      await store.close();
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...expected.keys()]);
  });

  it('reports a record whose JPEG is cut (valid checksum) as StoreDamagedError naming it', async () => {
    const badPath = join(temp.dir, 'jpeg-cut.lmdb');
    // What a buggy writer (not a disk: the checksum covers that) would leave: one record's JPEG cut short.
    const cutJpeg = (r: SampleRecord) => {
      const jpeg = Buffer.from(unpackEncodedRecord(jpegCodec.encode(r), JPEG_FIELD).data);
      return packEncodedRecord(r, JPEG_FIELD, jpeg.subarray(0, jpeg.length >> 1));
    };
    const cutting: Codec = { ...jpegCodec, encode: (r: SampleRecord) => (r.name === 'cut' ? cutJpeg(r) : jpegCodec.encode(r)) };
    const writer = createStoreWriter(badPath, { shape: [8, 8, 3], codec: cutting, codecs: new CodecRegistry() });
    for (const name of ['ok', 'cut']) await writer.append({ name, label: null, shape: [8, 8, 3], dtype: 'uint8', data: new Uint8Array(192).fill(50) });
    await writer.finish();
    const store = openStore(badPath, { codecs: new CodecRegistry([jpegCodec]) });
    expect(Math.abs(store.get(0).data[0]! - 50)).toBeLessThanOrEqual(2);
    expect(() => store.get(1)).toThrow(StoreDamagedError);
    expect(() => store.readInto(1, new Uint8Array(192), 0)).toThrow(/record 1 \(key [0-9a-f]+\) passed its checksum but does not decode: Cannot decode record: corrupt or truncated JPEG data/);
    await store.close();
  });

  it('refuses RGBA when the writer is created, before any file is made', () => {
    expect(() => createStoreWriter(join(temp.dir, 'rgba.lmdb'), { shape: [8, 8, 4], codec: jpegCodec })).toThrow(/JPEG has no alpha/);
    expect(existsSync(join(temp.dir, 'rgba.lmdb'))).toBe(false);
  });
});
