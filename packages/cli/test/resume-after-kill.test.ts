import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreFormatError } from '@imgstore/core';
import { openStore } from '@imgstore/store';
import { cliBin, makeImage, makeTempDir, runImgstore, runProcess } from '../../../tools/test-support/index.js';

const INPUTS_PER_CLASS = 80;
const args = ['--size', '24x20', '-j', '4'];
let tmp: ReturnType<typeof makeTempDir>;
let folder: string;
let reference: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-resume-');
  folder = join(tmp.dir, 'images');
  for (const cls of ['a', 'b', 'c']) {
    mkdirSync(join(folder, cls), { recursive: true });
    for (let i = 0; i < INPUTS_PER_CLASS; i++) {
      const name = join(folder, cls, `${String(i).padStart(3, '0')}.jpg`);
      writeFileSync(name, await makeImage(96, 72, 'jpeg', { seed: cls.charCodeAt(0) * 1000 + i }));
    }
  }
  writeFileSync(join(folder, 'b', '050-bad.jpg'), 'not an image');
  reference = join(tmp.dir, 'reference.lmdb');
  const run = await runImgstore(['convert', folder, reference, ...args, '-q']);
  expect(run.code, run.stderr).toBe(0);
}, 120_000);
afterAll(() => tmp.cleanup());

/**
 * Starts a conversion and sends `signal` once the progress lines report `killAt` inputs done.
 * Resolves with the exit code (or signal) and the output.
 */
function convertUntil(store: string, killAt: number, signal: NodeJS.Signals, extra: string[] = []) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, 'convert', folder, store, ...args, '--progress-interval', '0', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const done = [...stderr.matchAll(/convert (\d+)\//g)].map((m) => Number(m[1]));
      if (!sent && done.length && done[done.length - 1]! >= killAt) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig, stdout, stderr }));
  });
}

/** Every record of `store` equals the reference byte for byte, and so does the reject list. */
async function expectSameAsReference(store: string) {
  const [a, b] = [openStore(reference), openStore(store)];
  try {
    expect(b.length).toBe(a.length);
    expect(b.header.rejected).toBe(a.header.rejected);
    // Label counts survive kills and resumes (they travel in every checkpoint).
    expect(a.header.labelCounts).toEqual([80, 80, 80]);
    expect(b.header.labelCounts).toEqual(a.header.labelCounts);
    expect(b.rejects()).toEqual(a.rejects());
    for (let i = 0; i < a.length; i++) {
      expect(b.getStoredBytes(i).equals(a.getStoredBytes(i)), `record ${i}`).toBe(true);
    }
  } finally {
    await a.close();
    await b.close();
  }
}

describe('a conversion killed at any moment can be resumed', () => {
  it('kill -9 twice (early and late), then --resume: identical to an uninterrupted run', async () => {
    const store = join(tmp.dir, 'killed.lmdb');
    const first = await convertUntil(store, 70, 'SIGKILL');
    expect(first.signal).toBe('SIGKILL');
    // Killed: the store opens as an unfinished conversion, not as a short dataset.
    const error = (() => {
      try {
        openStore(store);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StoreFormatError);
    expect((error as StoreFormatError).reason).toBe('incomplete');

    // Inputs committed before the kill must not be decoded again: make the first ones undecodable.
    // (70 done means at least one 64-record batch committed.) If a resume re-read them, they would
    // become rejects and the result would differ from the reference.
    const originals = [...Array(10).keys()].map((i) => {
      const path = join(folder, 'a', `${String(i).padStart(3, '0')}.jpg`);
      const bytes = readFileSync(path);
      writeFileSync(path, 'garbage now');
      return [path, bytes] as const;
    });

    const second = await convertUntil(store, 180, 'SIGKILL', ['--resume']);
    expect(second.signal).toBe('SIGKILL');
    expect(second.stdout + second.stderr).not.toMatch(/rejected a\/00\d\.jpg/);

    const last = await runImgstore(['convert', folder, store, ...args, '--resume', '-q']);
    for (const [path, bytes] of originals) writeFileSync(path, bytes);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(/Resumed after \d+ inputs already committed/);
    expect(last.stdout).toMatch(/Stored 240 of 241 inputs/);
    await expectSameAsReference(store);
  });

  it('Ctrl-C (SIGINT) commits, prints how to resume, exits 130; the printed command finishes the job', async () => {
    const store = join(tmp.dir, 'interrupted.lmdb');
    const run = await convertUntil(store, 100, 'SIGINT');
    expect(run.code).toBe(130);
    const resumeLine = /Resume with: imgstore (.*)$/m.exec(run.stderr);
    expect(resumeLine, run.stderr).not.toBeNull();
    expect(run.stderr).toMatch(/Conversion interrupted after \d+ of 241 inputs; \d+ records are committed/);
    const resumeArgs = resumeLine![1]!.split(' ').filter((a) => a !== '--progress-interval' && a !== '0');
    expect(resumeArgs).toContain('--resume');
    const finished = await runImgstore([...resumeArgs, '-q']);
    expect(finished.code, finished.stderr).toBe(0);
    await expectSameAsReference(store);
  });

  it('SIGTERM behaves the same, with exit code 143', async () => {
    const store = join(tmp.dir, 'terminated.lmdb');
    const run = await convertUntil(store, 30, 'SIGTERM');
    expect(run.code).toBe(143);
    expect((await runImgstore(['convert', folder, store, ...args, '--resume', '-q'])).code).toBe(0);
    await expectSameAsReference(store);
  });

  it('--resume on a complete store does nothing; on a store made with other settings it refuses', async () => {
    const done = await runImgstore(['convert', folder, reference, ...args, '--resume']);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/is already complete \(240 records\); nothing to resume/);

    const store = join(tmp.dir, 'other-size.lmdb');
    await convertUntil(store, 10, 'SIGKILL');
    const other = await runImgstore(['convert', folder, store, '--size', '32x32', '--resume', '-q']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/Cannot resume .* it was started with shape \[20,24,3\], not \[32,32,3\]/);
  });

  // A disk that fills up mid-way, made real with a file-size limit (the kernel refuses the write that
  // would pass it, as it does when the disk is full); bash ignores SIGXFSZ so the write fails instead.
  it.runIf(existsSync('/bin/bash'))('a write that fails mid-way (disk full): exit 1 naming the store, commits intact, --resume finishes', async () => {
    const store = join(tmp.dir, 'disk-full.lmdb');
    const limitKb = Math.floor(statSync(join(reference, 'data.mdb')).size / 2 / 1024);
    const command = [process.execPath, cliBin, 'convert', folder, store, ...args, '-q'].map((a) => `'${a}'`).join(' ');
    const full = await runProcess('/bin/bash', ['-c', `trap '' XFSZ; ulimit -f ${limitKb}; exec ${command}`]);
    expect(full.code, full.stderr).toBe(1);
    expect(full.stderr).toContain(`imgstore: Cannot write to store ${store}:`);
    expect(full.stderr).toMatch(/Records committed before the failure are intact\. .* resume with: imgstore .* --resume/);
    expect(existsSync(join(store, 'writer.lock'))).toBe(false); // released although the run failed
    const partial = openStore(store, { allowIncomplete: true });
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(240);
    for (let i = 0; i < partial.length; i++) partial.get(i); // every committed record intact
    await partial.close();
    const resumed = await runImgstore(['convert', folder, store, ...args, '--resume', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectSameAsReference(store);
  });

  it('--resume and --overwrite together are a usage error', async () => {
    const r = await runImgstore(['convert', folder, join(tmp.dir, 'x'), '--resume', '--overwrite']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--overwrite.*cannot be used with.*--resume/);
  });
});
