import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { packPlain } from '@imgstore/codec';
import { createStoreWriter, openStore } from '@imgstore/store';
import { recordKey, sealRecord } from '@imgstore/store/internal';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

// The TypeScript engine's readInto reads a raw record's pixels straight into the target when "data" is
// the record's last field (as imgstore writes it); a store written with another field order (another
// writer, e.g. Python) must read the same, through the whole-record path.
const shape: [number, number, number] = [64, 64, 3];
const bytes = 64 * 64 * 3;
let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

async function writeStore(path: string, dataFirst: boolean): Promise<void> {
  const writer = createStoreWriter(path, { shape, labelNames: ['a', 'b'] });
  for (let i = 0; i < 6; i++) await writer.append({ name: `${i}.png`, label: i % 2, shape, dtype: 'uint8', data: uniquePixels(bytes, i) });
  await writer.finish();
  if (!dataFirst) return;
  const env = openLmdb({ path, noSubdir: false, maxDbs: 8 });
  const records = env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' });
  for (let i = 0; i < 6; i++) {
    const map = { data: uniquePixels(bytes, i), name: `${i}.png`, label: i % 2, shape, dtype: 'uint8' };
    await records.put(recordKey(i), sealRecord(packPlain(map)));
  }
  await env.close();
}

describe('readInto with the TypeScript engine', () => {
  it.each([
    ['"data" last (imgstore)', false],
    ['"data" first (another writer)', true],
  ])('reads every record of a store with %s: pixels at the offset, label, shape', async (_, dataFirst) => {
    const path = join(tmp.dir, 's.lmdb');
    await writeStore(path, dataFirst);
    const reader = openStore(path, { engine: 'typescript' });
    try {
      const target = new Uint8Array(bytes * 2 + 5);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 6; i++) {
          const info = reader.readInto(i, target, 5 + (i % 2) * bytes);
          expect(info).toEqual({ label: i % 2, shape });
          expect(Buffer.from(target.subarray(5 + (i % 2) * bytes, 5 + (i % 2 + 1) * bytes)).equals(Buffer.from(uniquePixels(bytes, i)))).toBe(true);
        }
      }
    } finally {
      await reader.close();
    }
  });
});
