import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { createStoreWriter, recordKey } from '@imgstore/store/internal';
import { cliBin, makeTempDir, runImgstore, uniquePixels } from '../../../tools/test-support/index.js';

const pixels = (seed: number) => uniquePixels(32 * 32 * 3, seed);

const COUNT = 40;
const shape: [number, number, number] = [32, 32, 3];

let tmp: ReturnType<typeof makeTempDir>;
let pristine: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-verify-');
  pristine = join(tmp.dir, 'pristine.lmdb');
  const writer = createStoreWriter(pristine, { shape, labelNames: ['a', 'b'] });
  for (let i = 0; i < COUNT; i++) await writer.append({ name: `${i}.png`, label: i % 2, shape, dtype: 'uint8', data: pixels(i) });
  await writer.reject('bad.jpg', 'not an image');
  await writer.finish();
});
afterAll(() => tmp.cleanup());

/** A copy of the pristine store with `damage` applied to its data file bytes. */
function damagedCopy(name: string, damage: (bytes: Buffer) => void): string {
  const path = join(tmp.dir, `${name}.lmdb`);
  cpSync(pristine, path, { recursive: true });
  const bytes = readFileSync(join(path, 'data.mdb'));
  damage(bytes);
  writeFileSync(join(path, 'data.mdb'), bytes);
  return path;
}

function flipBitInRecord(bytes: Buffer, index: number, offset: number): void {
  const at = bytes.indexOf(Buffer.from(pixels(index)));
  expect(at).toBeGreaterThan(0);
  bytes.writeUInt8(bytes.readUInt8(at + offset) ^ 0x10, at + offset);
}

describe('imgstore verify', () => {
  it('an intact store: every record checked, exit 0', async () => {
    const run = await runImgstore(['verify', pristine, '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Checked all ${COUNT} records of ${pristine}`);
    expect(run.stdout).toContain('all intact');
  });

  it('flipped bits in two records: both indices printed, exit 1; --json lists them', async () => {
    const path = damagedCopy('bitrot', (bytes) => {
      flipBitInRecord(bytes, 7, 100);
      flipBitInRecord(bytes, 31, 3000);
    });
    const run = await runImgstore(['verify', path, '-q']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/damaged record 7: .*record 7 \(key 00000007\) is damaged: checksum mismatch/);
    expect(run.stdout).toMatch(/damaged record 31: .*checksum mismatch/);
    expect(run.stderr).toContain(`imgstore: Store ${path}: 2 damaged record(s) among all ${COUNT} records: 7, 31`);

    const json = await runImgstore(['verify', path, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ records: COUNT, checked: COUNT, intact: false });
    expect(report.problems.map((p: { index: number }) => p.index)).toEqual([7, 31]);
  });

  it('--sample checks a random subset, the same one for the same --seed', async () => {
    const path = damagedCopy('sampled', (bytes) => flipBitInRecord(bytes, 5, 0));
    const runs = await Promise.all([1, 1, 2].map((seed) => runImgstore(['verify', path, '--sample', '10', '--seed', String(seed), '--json'])));
    const reports = runs.map((r) => JSON.parse(r.stdout));
    for (const report of reports) expect(report).toMatchObject({ records: COUNT, checked: 10, sample: 10 });
    expect(reports[0]).toEqual(reports[1]);
    // A sample of everything finds the damage.
    const all = await runImgstore(['verify', path, '--sample', String(COUNT), '--seed', '3', '--json']);
    expect(JSON.parse(all.stdout).problems.map((p: { index: number }) => p.index)).toEqual([5]);
    const without = await runImgstore(['verify', path, '--sample', '10']);
    expect(without.stdout + without.stderr).toMatch(/random sample, --seed \d+/);
  });

  it('a record missing from a store whose header counts it: the index and the count mismatch', async () => {
    const path = join(tmp.dir, 'missing.lmdb');
    cpSync(pristine, path, { recursive: true });
    const env = open({ path, noSubdir: false, maxDbs: 8 });
    await env.openDB({ name: 'records', encoding: 'binary', keyEncoding: 'binary' }).remove(recordKey(12));
    await env.close();
    const run = await runImgstore(['verify', path, '-q']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`store: the header counts ${COUNT} records but the store holds ${COUNT - 1}`);
    expect(run.stdout).toMatch(/damaged record 12: .*has no record 12/);
  });

  it('damaged LMDB pages and truncation: a typed error saying the store is damaged, exit 1', async () => {
    const cases = {
      'zeroed-pages': (bytes: Buffer) => bytes.fill(0, 2 * 4096, 5 * 4096),
      'meta-points-past-the-data': (bytes: Buffer) => {
        for (const meta of [0, 4096]) bytes.writeBigUInt64LE(BigInt(bytes.length / 4096 - 3), meta + 128);
      },
      truncated: (bytes: Buffer) => bytes.fill(0xee, bytes.length - 100),
    };
    for (const [name, damage] of Object.entries(cases)) {
      const path = damagedCopy(name, damage);
      if (name === 'truncated') writeFileSync(join(path, 'data.mdb'), readFileSync(join(path, 'data.mdb')).subarray(0, 3 * 4096));
      const run = await runImgstore(['verify', path, '-q']);
      expect(run.code, name).toBe(1);
      // Depending on which pages the damage hits: the store as a whole, or every record read through them.
      expect(run.stderr, name).toMatch(new RegExp(`^imgstore: (Store ${path} is damaged|Store ${path}: \\d+ damaged record\\(s\\)|Cannot open ${path} as an LMDB store: |${path} is not an imgstore store \\(or its LMDB pages are damaged\\))`));
    }
  });

  // Linux: the command's child process is found through /proc.
  it.runIf(existsSync('/proc/self/task'))('a reader process that crashes is reported as damage, not a crash of the command', async () => {
    const child = spawn(process.execPath, [cliBin, 'verify', pristine, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Find the process the command reads the store in, and crash it the way a bad page would.
    for (;;) {
      const children = readdirSync(`/proc/${child.pid}/task`).flatMap((task) =>
        readFileSync(`/proc/${child.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
      );
      if (children.length > 0) {
        process.kill(Number(children[0]), 'SIGSEGV');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await exited).toBe(1);
    expect(stderr).toMatch(new RegExp(`imgstore: Store ${pristine} is damaged: the process reading it was killed by SIGSEGV`));
  });

  it('not a store: the open error, exit 1; a bad option: usage error, exit 2', async () => {
    const run = await runImgstore(['verify', join(tmp.dir, 'nothing-here')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('nothing exists there');
    const usage = await runImgstore(['verify', pristine, '--sample', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--sample must be a non-negative integer');
  });
});
