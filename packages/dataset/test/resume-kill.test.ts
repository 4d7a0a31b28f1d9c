import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DataLoader, SafeDataset, type Augment } from '@imgstore/dataset';
import { createPatternDataset } from './fixtures/pattern-dataset.mjs';

const child = fileURLToPath(new URL('./fixtures/resume-child.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'imgstore-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Config {
  length: number;
  epochs: number;
  batchSize: number;
  augment?: Augment;
  bad?: number[];
  policy?: 'skip' | 'substitute';
}

/** The uninterrupted run, in this process and this thread: one hash per batch (pixels, labels, indices). */
async function reference(config: Config): Promise<string[]> {
  const base = createPatternDataset(config.length, [6, 5, 3], config.bad ?? [], -1, true);
  const dataset = config.bad ? new SafeDataset(base, { policy: config.policy ?? 'skip' }) : base;
  const loader = new DataLoader(dataset, { batchSize: config.batchSize, shuffle: true, seed: 11, augment: config.augment });
  const hashes: string[] = [];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for await (const b of loader) hashes.push(`${epoch}:${createHash('sha256').update(b.data).update(b.labels).update(b.indices).digest('hex')}`);
  }
  return hashes;
}

/** Runs the child until it has checkpointed `stopAfter` batches, then SIGKILLs it (or lets it finish). */
function runChild(config: object, stopAfter: number): Promise<'killed' | 'done'> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, JSON.stringify({ ...config, stopAfter })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('checkpointed')) proc.kill('SIGKILL');
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0 && out.includes('"done":true')) resolve('done');
      else reject(new Error(`child exited with ${code ?? signal}: ${err}`));
    });
  });
}

// 60 samples, batch 8: 8 batches per epoch. Each process checkpoints this many batches and is killed:
// after batches 1, 4 and 8 (the epoch's last) of epoch 0, and 2, 5 and 7 of epoch 1; the last one finishes.
const segments = [1, 3, 4, 2, 3, 2];

const cases: Array<[string, Config, number[]]> = [
  ['in this thread', { length: 60, epochs: 2, batchSize: 8 }, [0]],
  ['with 2 workers', { length: 60, epochs: 2, batchSize: 8 }, [2]],
  ['with crops and flips, workers changing between runs (2, 0, 1)', { length: 60, epochs: 2, batchSize: 8, augment: { crop: [4, 3], flip: true } }, [2, 0, 1]],
  ['through SafeDataset skips, workers changing between runs (2, 0)', { length: 60, epochs: 2, batchSize: 8, bad: [3, 17, 41, 42] }, [2, 0]],
];

describe('kill -9 and resume from the checkpointed state (real child processes)', () => {
  it.concurrent.each(cases)('%s: the batches equal the uninterrupted run, killed at 3 points per epoch', async (name, config, workerCycle) => {
    const expected = await reference(config);
    const checkpoint = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    const base = { ...config, checkpoint };
    let run = 0;
    for (const stopAfter of segments) {
      expect(await runChild({ ...base, workers: workerCycle[run++ % workerCycle.length] }, stopAfter)).toBe('killed');
    }
    expect(await runChild({ ...base, workers: workerCycle[run % workerCycle.length] }, -1)).toBe('done');
    const { hashes } = JSON.parse(readFileSync(checkpoint, 'utf8')) as { hashes: string[] };
    expect(hashes).toEqual(expected);
    expect(new Set(hashes).size).toBe(16);
  });
});
