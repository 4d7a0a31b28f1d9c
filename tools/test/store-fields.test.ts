import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { open } from 'lmdb';
import { StoreDamagedError } from '@imgstore/core';
import { lz4Codec, packEncodedRecord, rawCodec, unpackEncodedRecord } from '@imgstore/codec';
import { jpegCodec } from '@imgstore/codec-jpeg';
import { createStoreWriter, openStore } from '@imgstore/store';
import { openRecord, sealRecord } from '@imgstore/store/internal';
import { makeTempDir, uniquePixels } from '../test-support/index.js';

// store.fields(i): a record without its pixels (what an append reads to learn the names a store holds),
// equal to get(i) but for `data`, and checked like get: a damaged record is a StoreDamagedError.
const shape: [number, number, number] = [8, 8, 3];
const codecs = { raw: rawCodec, lz4: lz4Codec, jpeg: jpegCodec };
let tmp: ReturnType<typeof makeTempDir>;
const paths: Record<string, string> = {};

beforeAll(async () => {
  tmp = makeTempDir('imgstore-fields-');
  for (const [id, codec] of Object.entries(codecs)) {
    const path = (paths[id] = join(tmp.dir, `${id}.lmdb`));
    const writer = createStoreWriter(path, { shape, codec, labelNames: ['a', 'b', 'c'] });
    for (let i = 0; i < 6; i++) {
      await writer.append({ name: `dir/${i}.png`, label: i % 3, ...(i % 2 ? { meta: { id: i, box: [i, 2] } } : {}), shape, dtype: 'uint8', data: uniquePixels(192, i) });
    }
    await writer.finish();
  }
});
afterAll(() => tmp.cleanup());

/** Replaces record `index`'s stored value with lmdb directly, as damage or another writer would. */
async function rewriteRecord(path: string, index: number, edit: (stored: Buffer) => Buffer): Promise<void> {
  const env = open({ path, noSubdir: false, maxDbs: 8 });
  const records = env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' });
  const key = Buffer.from([0, 0, 0, index]);
  await records.put(key, edit(records.get(key) as Buffer));
  await env.close();
}

async function withStore(path: string, use: (store: ReturnType<typeof openStore>) => void, options: Parameters<typeof openStore>[1] = {}): Promise<void> {
  const store = openStore(path, options);
  try {
    use(store);
  } finally {
    await store.close();
  }
}

describe('store.fields', () => {
  for (const id of Object.keys(codecs)) {
    for (const engine of ['typescript', 'lmdb-js'] as const) {
      it(`${id} (${engine}): every record's fields equal get()'s but for the pixels`, async () => {
        await withStore(
          paths[id]!,
          (store) => {
            for (let i = 0; i < store.length; i++) {
              const { data: _pixels, ...expected } = store.get(i);
              expect(store.fields(i)).toEqual(expected);
              expect('data' in store.fields(i)).toBe(false);
            }
          },
          { engine },
        );
      });
    }
  }

  it('decodes no pixels: a JPEG record whose image is broken (checksum intact) still gives its fields', async () => {
    let fields: ReturnType<typeof unpackEncodedRecord> | undefined;
    await rewriteRecord(paths.jpeg!, 2, (stored) => {
      const payload = openRecord(stored, true);
      if (typeof payload === 'string') throw new Error(payload);
      const { data: _jpeg, ...rest } = (fields = unpackEncodedRecord(payload, 'jpeg'));
      return Buffer.from(sealRecord(packEncodedRecord(rest, 'jpeg', new Uint8Array([0xff, 0xd8, 1, 2, 3]))));
    });
    await withStore(paths.jpeg!, (store) => {
      expect(() => store.get(2)).toThrow('passed its checksum but does not decode');
      const { data: _jpeg, ...rest } = fields!;
      expect(store.fields(2)).toEqual({ index: 2, ...rest });
    });
  });

  it('a damaged record gives the StoreDamagedError get() gives, naming its index', async () => {
    await rewriteRecord(paths.raw!, 4, (stored) => {
      const value = Buffer.from(stored);
      value[value.length - 7]! ^= 0x10; // a pixel byte: the record still parses, only the checksum sees it
      return value;
    });
    await withStore(paths.raw!, (store) => {
      expect(() => store.fields(4)).toThrow(StoreDamagedError);
      expect(() => store.fields(4)).toThrow(`record 4 (key 00000004) is damaged: checksum mismatch`);
      expect(store.fields(3).name).toBe('dir/3.png');
    });
  });
});
