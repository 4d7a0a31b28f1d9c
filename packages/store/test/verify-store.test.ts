import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { InvalidOptionError } from '@imgstore/core';
import { createStoreWriter, verifyStore } from '@imgstore/store';
import { makeTempDir, uniquePixels } from '../../../tools/test-support/index.js';

const shape: [number, number, number] = [4, 4, 3];
let tmp: ReturnType<typeof makeTempDir>;
let path: string;
beforeEach(async () => {
  tmp = makeTempDir();
  path = join(tmp.dir, 'v.lmdb');
  const writer = createStoreWriter(path, { shape });
  for (let i = 0; i < 5; i++) await writer.append({ name: `${i}`, label: null, shape, dtype: 'uint8', data: uniquePixels(48, i) });
  await writer.finish();
});
afterEach(() => tmp.cleanup());

describe('verifyStore progress', () => {
  it.each([0, -1, 1.5])('refuses progressEvery %s (it would never report nor yield), naming the option', async (progressEvery) => {
    await expect(verifyStore(path, { progressEvery })).rejects.toThrow(InvalidOptionError);
    await expect(verifyStore(path, { progressEvery })).rejects.toThrow(/progressEvery/);
  });

  it('reports every progressEvery records and at the end, yielding to the event loop between slices', async () => {
    const calls: number[] = [];
    // Another task of the event loop runs while verification goes on: it yields between slices.
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const report = await verifyStore(path, { progressEvery: 2, onProgress: (checked) => calls.push(checked) });
    running = false;
    expect(report.problems).toEqual([]);
    expect(calls).toEqual([2, 4, 5]);
    expect(ticks).toBeGreaterThan(0);
  });
});
