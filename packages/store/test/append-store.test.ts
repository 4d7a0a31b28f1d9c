import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { InvalidOptionError, ResumeMismatchError, StoreFormatError, type Shape } from '@imgstore/core';
import { appendInProgress, createStoreWriter, openStore, verifyStore } from '@imgstore/store';
import { makeTempDir } from '../../../tools/test-support/index.js';

const shape: Shape = [2, 3, 3];
const pixels = (i: number) => new Uint8Array(18).fill(i);
const record = (i: number, label: number | null) => ({ name: `img-${i}`, label, shape, dtype: 'uint8' as const, data: pixels(i) });

let tmp: ReturnType<typeof makeTempDir>;
let path: string;
beforeEach(async () => {
  tmp = makeTempDir('imgstore-append-');
  path = join(tmp.dir, 'store.lmdb');
  // A finished store: 5 records labeled a/b, one reject.
  const writer = createStoreWriter(path, { shape, labelNames: ['a', 'b'], recordsPerCommit: 2, provenance: { source: 'first' } });
  for (let i = 0; i < 5; i++) await writer.append(record(i, i % 2));
  await writer.reject('bad-0', 'not an image');
  await writer.finish();
});
afterEach(() => tmp.cleanup());

const appendWriter = (extra: Record<string, unknown> = {}) =>
  createStoreWriter(path, { shape, labelNames: ['a', 'b', 'c'], append: true, jobId: 'job-1', recordsPerCommit: 2, ...extra });

/** The store as every engine reads it: length, label names, rejects, and each record's name and first byte. */
async function contents(engine: 'lmdb-js' | 'typescript') {
  const store = openStore(path, { engine });
  try {
    const records = [...Array(store.length).keys()].map((i) => {
      const s = store.get(i);
      return [s.name, s.label, s.data[0]];
    });
    return { length: store.length, labelNames: store.header.labelNames, labelCounts: store.header.labelCounts, rejects: store.rejects(), records };
  } finally {
    await store.close();
  }
}

describe('appending to a finished store', () => {
  it('adds records after the last one, adds the new label names, rewrites the header last', async () => {
    const before = await contents('typescript');
    const writer = appendWriter({ provenance: { source: 'second' } });
    expect(writer.base).toEqual({ records: 5, rejected: 1 });
    expect(await writer.append(record(5, 2))).toBe(5);
    expect(await writer.append(record(6, 0))).toBe(6);
    await writer.reject('bad-1', 'truncated');
    const header = await writer.finish();
    expect(header.count).toBe(7);
    expect(header.rejected).toBe(2);
    expect(header.labelNames).toEqual(['a', 'b', 'c']);
    expect(header.labelCounts).toEqual([4, 2, 1]);
    expect(header.provenance.source).toBe('first');
    expect((header.provenance as unknown as { appends: { source: string; records: number }[] }).appends).toMatchObject([{ source: 'second', records: 2, rejected: 1 }]);
    for (const engine of ['lmdb-js', 'typescript'] as const) {
      const after = await contents(engine);
      expect(after.records.slice(0, 5)).toEqual(before.records);
      expect(after.records.slice(5)).toEqual([
        ['img-5', 2, 5],
        ['img-6', 0, 6],
      ]);
      expect(after.rejects.map((r) => r.name)).toEqual(['bad-0', 'bad-1']);
    }
    expect((await verifyStore(path)).problems).toEqual([]);
    expect(appendInProgress(path)).toBe(false); // ended with the header: a next append is not refused
    const next = appendWriter({ jobId: 'job-2' });
    await next.append(record(7, 1));
    expect((await next.finish()).count).toBe(8);
  });

  it('an append that stops before finish() leaves the previous store readable, and --resume finishes it', async () => {
    const before = await contents('typescript');
    const writer = appendWriter();
    for (let i = 5; i < 10; i++) {
      writer.position = i - 4;
      await writer.append(record(i, 2));
    }
    await writer.reject('bad-1', 'truncated');
    await writer.close(); // commits, as a kill after a commit leaves it: no header rewrite
    expect(appendInProgress(path)).toBe(true);

    // Readers see the store as it was: the append's records and rejects are not part of it yet.
    for (const engine of ['lmdb-js', 'typescript'] as const) expect(await contents(engine)).toEqual(before);
    const report = await verifyStore(path);
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(5);

    // Another append is refused until this one is finished; a resume with other inputs too.
    expect(() => appendWriter()).toThrow(ResumeMismatchError);
    expect(() => appendWriter()).toThrow(/append into .* was interrupted after 5 records; finish it first/);
    expect(() => appendWriter({ resume: true, jobId: 'job-2' })).toThrow(/Cannot resume the append .* started with jobId "job-1", not "job-2"/);

    const resumed = appendWriter({ resume: true });
    expect(resumed.resumedAt).toBe(5);
    expect(resumed.count).toBe(10);
    expect(resumed.base).toEqual({ records: 5, rejected: 1 });
    await resumed.append(record(10, 0));
    const header = await resumed.finish();
    expect(header.count).toBe(11);
    expect(header.labelCounts).toEqual([4, 2, 5]);
    const after = await contents('typescript');
    expect(after.records.slice(0, 5)).toEqual(before.records);
    expect(after.records.slice(5).map((r) => r[0])).toEqual(['img-5', 'img-6', 'img-7', 'img-8', 'img-9', 'img-10']);
    expect(after.rejects.map((r) => r.name)).toEqual(['bad-0', 'bad-1']);
    expect((await verifyStore(path)).problems).toEqual([]);
  });

  it('refuses what does not fit the store, naming it', async () => {
    expect(() => appendWriter({ shape: [3, 3, 3] })).toThrow(InvalidOptionError);
    expect(() => appendWriter({ shape: [3, 3, 3] })).toThrow(/Expected the shape of store .*\[2,3,3\] for shape/);
    expect(() => appendWriter({ codec: 'lz4' })).toThrow(/Expected the codec of store .*'raw' for codec/);
    expect(() => appendWriter({ labelNames: ['b', 'a'] })).toThrow(/Expected the label names of store .* followed by any new ones for labelNames/);
    expect(() => appendWriter({ labelNames: null })).toThrow(/for labelNames/);
    expect(() => appendWriter({ overwrite: true })).toThrow(/for overwrite/);
    expect(() => createStoreWriter(join(tmp.dir, 'none.lmdb'), { shape, append: true })).toThrow(StoreFormatError);
    expect(() => createStoreWriter(join(tmp.dir, 'none.lmdb'), { shape, append: true })).toThrow(/No store at .* to append to/);

    const unfinished = join(tmp.dir, 'unfinished.lmdb');
    const writer = createStoreWriter(unfinished, { shape });
    await writer.append(record(0, null));
    await writer.close();
    const error = (() => {
      try {
        createStoreWriter(unfinished, { shape, append: true });
      } catch (e) {
        return e as StoreFormatError;
      }
    })();
    expect(error).toBeInstanceOf(StoreFormatError);
    expect(error!.reason).toBe('incomplete');
    expect(error!.message).toMatch(/resume that conversion \(--resume\) before appending/);
    // The refused writers released the lock and changed nothing.
    expect((await contents('typescript')).length).toBe(5);
  });
});
