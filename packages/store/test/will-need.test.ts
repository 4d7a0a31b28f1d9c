import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClosedError } from '@imgstore/core';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

// StoreReader.willNeed(first, last): a hint that starts reading records' bytes into the page cache on
// libuv's thread pool (BlockShuffleSampler's onBlockOpen calls it for a store larger than memory).
let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

async function writeStore(path: string, shape: [number, number, number], count: number): Promise<void> {
  const writer = createStoreWriter(path, { shape, labelNames: ['a', 'b', 'c'] });
  const bytes = shape[0] * shape[1] * shape[2];
  for (let i = 0; i < count; i++) await writer.append({ name: `${i}.png`, label: i % 3, shape, dtype: 'uint8', data: uniquePixels(bytes, i) });
  await writer.finish();
  await writer.close();
}

/** Bytes this process has read with read(2)-like calls, page cache hits included (Linux). */
const readChars = (): number => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
const onLinux = existsSync('/proc/self/io');
const openFds = (): number => readdirSync('/proc/self/fd').length;
const turn = () => new Promise((resolve) => setTimeout(resolve, 5));

function readAll(path: string, bytes: number, count: number): Uint8Array[] {
  const store = openStore(path);
  try {
    return Array.from({ length: count }, (_, i) => {
      const target = new Uint8Array(bytes);
      store.readInto(i, target, 0);
      return target;
    });
  } finally {
    void store.close();
  }
}

describe('StoreReader.willNeed', () => {
  // 32x32x3 = 3 KiB: overflow pages (the records a prefetch reads); 2x2x3: values inside leaf pages.
  it.each([
    ['overflow values', [32, 32, 3] as [number, number, number]],
    ['values inside leaf pages', [2, 2, 3] as [number, number, number]],
  ])('accepts any range (%s), and what is read afterwards is unchanged', async (_, shape) => {
    const path = join(tmp.dir, 's.lmdb');
    const count = 300;
    const bytes = shape[0] * shape[1] * shape[2];
    await writeStore(path, shape, count);
    const expected = readAll(path, bytes, count);
    const store = openStore(path);
    const ranges: [number, number][] = [
      [0, 127],
      [128, 299],
      [250, 10_000], // past the end
      [300, 400], // wholly past the end
      [-50, 5],
      [7, 3], // empty
      [0.5, 2.5],
      [Number.NaN, 10],
      [0, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, Number.NaN],
    ];
    for (const [first, last] of ranges) expect(() => store.willNeed(first, last)).not.toThrow();
    const target = new Uint8Array(bytes);
    for (let i = 0; i < count; i++) {
      store.willNeed(i, i + 3);
      store.readInto(i, target, 0);
      expect(Buffer.from(target).equals(expected[i]!)).toBe(true);
      expect(Buffer.from(store.get(i).data).equals(expected[i]!)).toBe(true);
    }
    await store.close();
    expect(() => store.willNeed(0, 10)).not.toThrow();
    expect(() => store.get(0)).toThrow(ClosedError);
  });

  it.runIf(onLinux)("reads the records' bytes ahead on the thread pool: rchar grows by at least their size", async () => {
    const path = join(tmp.dir, 's.lmdb');
    const shape: [number, number, number] = [32, 32, 3];
    await writeStore(path, shape, 300);
    const store = openStore(path);
    store.get(0); // header and branch pages read now, not counted below
    const before = readChars();
    store.willNeed(0, 299);
    // Leaf pages not in memory are read ahead first; the records they locate are read ahead at the next call.
    await turn();
    store.willNeed(0, 299);
    // Returns before the bytes are read; they come on libuv's pool.
    for (let waited = 0; readChars() - before < 300 * 3072 && waited < 400; waited++) await turn();
    expect(readChars() - before).toBeGreaterThanOrEqual(300 * 3072);
    await store.close();
  });

  it.runIf(onLinux)('closing with prefetch reads in flight: reads after close throw ClosedError, and no descriptor is left open', async () => {
    const path = join(tmp.dir, 's.lmdb');
    await writeStore(path, [32, 32, 3], 300);
    for (let k = 0; k < 3; k++) await turn(); // the writer's descriptors are closed by now
    const fds = openFds();
    const store = openStore(path);
    store.get(5);
    for (let i = 0; i < 300; i += 50) store.willNeed(i, i + 49);
    await store.close();
    expect(() => store.readInto(0, new Uint8Array(3072), 0)).toThrow(ClosedError);
    expect(() => store.willNeed(0, 299)).not.toThrow();
    for (let waited = 0; openFds() > fds && waited < 400; waited++) await turn();
    expect(openFds()).toBe(fds);
  });
});
