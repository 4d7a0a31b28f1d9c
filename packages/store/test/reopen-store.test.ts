import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImgstoreError, StoreDamagedError } from '@imgstore/core';
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

  // lmdb-js: after a writer environment opened the file in this thread, reads through the cached reader
  // environment failed with EINVAL even though the writer committed nothing (a refused resume, after an
  // open refused as unfinished). The writer now drops the cached reader environment when it opens.
  it('reads an unfinished store again after a resume in this thread was refused', async () => {
    const path = join(tmp.dir, 'refused.lmdb');
    const shape: [number, number, number] = [2, 2, 3];
    const writer = createStoreWriter(path, { shape, jobId: 'job-a' });
    await writer.append({ name: 'x', label: null, shape, dtype: 'uint8', data: new Uint8Array(12).fill(7) });
    await writer.close(); // unfinished, resumable
    // What convertFolder's resume does: look for a complete store first (refused: unfinished).
    expect(() => openStore(path)).toThrow(/did not finish/);
    expect(() => createStoreWriter(path, { shape, jobId: 'job-b', resume: true })).toThrow(/started with jobId/);
    const again = openStore(path, { allowIncomplete: true });
    expect(again.get(0).data[0]).toBe(7);
    await again.close();
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

  // lmdb-js 2.6.8-v1: after a writer of this process commits through its own environment, reads through
  // an older reader environment of the same file failed with EINVAL; and a second environment on a file
  // in one thread detached the first one's memory-map buffers. Both are regression cases here.
  const big: [number, number, number] = [128, 128, 3];
  const bigRecord = (i: number) => ({ name: `${i}`, label: null, shape: big, dtype: 'uint8' as const, data: new Uint8Array(128 * 128 * 3).fill(i) });

  it('opening again after a writer of this process resumed and finished the store', async () => {
    const path = join(tmp.dir, 'c.lmdb');
    let writer = createStoreWriter(path, { shape: big, recordsPerCommit: 4 });
    for (let i = 0; i < 5; i++) await writer.append(bigRecord(i));
    await writer.close();
    expect(() => openStore(path)).toThrow(/did not finish \(5 records committed\)/);
    await new Promise((resolve) => setTimeout(resolve, 5)); // lmdb-js resets its read transaction on a timer
    writer = createStoreWriter(path, { shape: big, resume: true });
    for (let i = 5; i < 10; i++) await writer.append(bigRecord(i));
    await writer.finish();
    const store = openStore(path);
    expect(store.length).toBe(10);
    expect(store.get(7).data[0]).toBe(7);
    await store.close();
  });

  it('commits once the pending values reach bytesPerCommit, before recordsPerCommit', async () => {
    const path = join(tmp.dir, 'bytes.lmdb');
    // 49,152 pixel bytes per record: the third one takes the batch past 140,000 bytes.
    const writer = createStoreWriter(path, { shape: big, bytesPerCommit: 140_000 });
    const committed = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5)); // lmdb-js resets its read transaction on a timer
      const store = openStore(path, { allowIncomplete: true });
      const length = store.length;
      await store.close();
      return length;
    };
    await writer.append(bigRecord(0));
    await writer.append(bigRecord(1));
    expect(await committed()).toBe(0);
    await writer.append(bigRecord(2));
    expect(await committed()).toBe(3);
    await writer.finish();
    expect(() => createStoreWriter(join(tmp.dir, 'x.lmdb'), { shape: big, bytesPerCommit: 0 })).toThrow(/bytesPerCommit/);
  });

  it('a reader held across commits keeps its snapshot while a newer reader sees more', async () => {
    const path = join(tmp.dir, 'd.lmdb');
    const writer = createStoreWriter(path, { shape: big, recordsPerCommit: 4 });
    for (let i = 0; i < 8; i++) await writer.append(bigRecord(i));
    await writer.flush();
    const older = openStore(path, { allowIncomplete: true });
    expect([older.length, older.get(1).data[0]]).toEqual([8, 1]);
    for (let i = 8; i < 16; i++) await writer.append(bigRecord(i));
    await writer.flush();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = openStore(path, { allowIncomplete: true });
    expect([newer.length, newer.get(12).data[0]]).toEqual([16, 12]);
    expect([older.length, older.get(2).data[0]]).toEqual([8, 2]);
    expect(newer.get(3).data[0]).toBe(3);
    await writer.finish();
    await Promise.all([older.close(), newer.close()]);
  });
});

describe("verify: 'once'", () => {
  const shape: [number, number, number] = [32, 32, 3];
  const pixels = (i: number) => new Uint8Array(32 * 32 * 3).map((_, j) => (i * 31 + j * 7) & 0xff);

  async function storeWith(count: number): Promise<string> {
    const path = join(tmp.dir, `once-${count}.lmdb`);
    const writer = createStoreWriter(path, { shape });
    for (let i = 0; i < count; i++) await writer.append({ name: `${i}`, label: null, shape, dtype: 'uint8', data: pixels(i) });
    await writer.finish();
    return path;
  }

  function flipBit(path: string, index: number) {
    const file = join(path, 'data.mdb');
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from(pixels(index)));
    bytes.writeUInt8(bytes.readUInt8(at + 100) ^ 0x01, at + 100);
    writeFileSync(file, bytes); // same inode: the memory map sees the change
  }

  it('checks a record on its first read, and trusts it afterwards (the documented trade-off)', async () => {
    const path = await storeWith(4);
    flipBit(path, 1);
    const once = openStore(path, { verify: 'once' });
    const always = openStore(path);
    expect(once.verify).toBe('once');
    expect(() => once.get(1)).toThrow(StoreDamagedError); // damage present at the first read: caught
    expect(Buffer.from(once.get(2).data).equals(Buffer.from(pixels(2)))).toBe(true); // now trusted by `once`
    flipBit(path, 2);
    expect(() => always.get(2)).toThrow(StoreDamagedError);
    expect(once.get(2).data[100]).not.toBe(pixels(2)[100]); // not checked again
    await Promise.all([once.close(), always.close()]);
  });

  it('is passed on to DataLoader workers through toSource()', async () => {
    const path = await storeWith(2);
    const once = openStore(path, { verify: 'once' });
    expect(once.toSource().args).toEqual([once.toSource().args[0], { verify: 'once' }]);
    expect(openStore(path).toSource().args).toHaveLength(1);
    expect(() => openStore(path, { verify: 'sometimes' as never })).toThrow('Expected one of "always", "once" for verify');
    await once.close();
  });
});
