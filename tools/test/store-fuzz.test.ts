import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot, runProcess } from '../test-support/index.js';

// The store fuzzer (tools/fuzz/fuzz-stores.mjs), seeded and bounded: a few hundred mutated stores, each
// read every way (open, get, DataLoader epochs, with each read engine; the CLI, half the time without
// lmdb-js, and the Python reader on every 25th). A longer run by hand:
// node tools/fuzz/fuzz-stores.mjs --runs 100000 --seed <n>
describe('store fuzzing', () => {
  it('every mutated store reads correctly or fails with a typed error / one-line exit 1, in bounded memory and time', async () => {
    const run = await runProcess(process.execPath, [join(repoRoot, 'tools/fuzz/fuzz-stores.mjs'), '--runs', '300', '--cli-every', '25', '--per-child', '50', '--seed', '1']);
    // Cases where the engines disagree (both allowed: one reads a record the other refuses) are shown.
    process.stdout.write(run.stdout.split('\n').filter((l) => l.startsWith('fuzz-stores:') || l.startsWith('engine-diff:')).join('\n') + '\n');
    expect(run.stderr).toBe('');
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('finding:'))).toEqual([]);
    expect(summary).toMatchObject({ cases: 300, findings: 0, engines: ['typescript', 'lmdb-js'] });
    expect(summary.cliCases).toBe(12);
    expect(summary.maxRssMb).toBeLessThan(512);
    expect(run.code).toBe(0);
  }, 180_000);
});
