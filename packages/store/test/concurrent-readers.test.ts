import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createStoreWriter, openStore } from '@imgstore/store';
import { makeTempDir } from '../../../tools/test-support/index.js';

// Worker threads reopen a store from toSource() and read it at the same moment (DataLoader workers do).
// lmdb-js 2.6.8-v1 shares read-transaction state between threads; without a pinned transaction per reader
// the second thread to read in a round failed with "Invalid argument".
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { module, factory, args } = workerData.source;
const store = (await import(module))[factory](...args);
parentPort.on('message', (round) => {
  try {
    let names = [];
    for (let i = 0; i < 8; i++) names.push(store.get((round * 37 + i * 3 + workerData.id) % store.length).name);
    parentPort.postMessage({ round, names });
  } catch (error) {
    parentPort.postMessage({ round, error: error.message });
  }
});
parentPort.postMessage('ready');
`;

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

describe('several threads reading one store', () => {
  it('workers that reopen it from toSource() read correctly in the same turn, round after round', async () => {
    const path = join(tmp.dir, 'big.lmdb');
    const shape: [number, number, number] = [256, 256, 3]; // large values: lmdb-js returns views into the map
    const writer = createStoreWriter(path, { shape });
    for (let i = 0; i < 48; i++) {
      await writer.append({ name: `img-${i}`, label: null, shape, dtype: 'uint8', data: new Uint8Array(256 * 256 * 3).fill(i % 256) });
    }
    await writer.finish();
    const main = openStore(path);
    const script = join(tmp.dir, 'reader-worker.mjs');
    writeFileSync(script, WORKER);
    const workers = [0, 1].map((id) => new Worker(script, { workerData: { id, source: main.toSource() } }));
    try {
      const replies: Array<Array<{ round: number; names?: string[]; error?: string }>> = [[], []];
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
      for (let round = 0; round < 6; round++) {
        const answers = workers.map((w, k) => new Promise((resolve) => w.once('message', (m) => resolve(replies[k]!.push(m)))));
        workers.forEach((w) => w.postMessage(round));
        await Promise.all(answers);
      }
      replies.forEach((perWorker, id) => {
        expect(perWorker.map((r) => r.error)).toEqual(Array(6).fill(undefined));
        perWorker.forEach((r) => expect(r.names).toEqual([...Array(8).keys()].map((i) => `img-${(r.round * 37 + i * 3 + id) % 48}`)));
      });
      expect(main.get(5).name).toBe('img-5'); // and the main thread still reads
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
      await main.close();
    }
  });
});
