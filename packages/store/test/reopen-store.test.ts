import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImgstoreError } from '@imgstore/core';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir } from '../../../tools/test-support/index.js';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

const openFiles = () => readdirSync('/proc/self/fd').length;

describe('opening a store again and again', () => {
  // lmdb-js 2.6.8-v1 never closes an environment; without the shared reader environment every
  // openStore() kept two file descriptors and a memory map, and a loop ran out of descriptors.
  it.runIf(existsSync('/proc/self/fd'))('does not leak file descriptors (2,000 open/read/close cycles)', async () => {
    const path = join(tmp.dir, 'a.lmdb');
    const shape: [number, number, number] = [2, 2, 3];
    const writer = createStoreWriter(path, { shape });
    for (let i = 0; i < 3; i++) await writer.append({ name: `${i}`, label: null, shape, dtype: 'uint8', data: new Uint8Array(12).fill(i) });
    await writer.finish();
    openStore(path).close(); // the first open creates the shared environment
    const before = openFiles();
    for (let i = 0; i < 2000; i++) {
      const store = openStore(path);
      expect(store.get(i % 3).data[0]).toBe(i % 3);
      await store.close();
    }
    expect(openFiles()).toBeLessThanOrEqual(before + 2);
  });

  it('a closed reader refuses to read, and closing twice is harmless', async () => {
    const path = join(tmp.dir, 'b.lmdb');
    const shape: [number, number, number] = [2, 2, 3];
    const writer = createStoreWriter(path, { shape });
    await writer.append({ name: 'x', label: null, shape, dtype: 'uint8', data: new Uint8Array(12) });
    await writer.finish();
    const store = openStore(path);
    await store.close();
    await store.close();
    expect(() => store.get(0)).toThrow(ImgstoreError);
    expect(() => store.get(0)).toThrow(`Store reader for ${path} is closed`);
  });
});
