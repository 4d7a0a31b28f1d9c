import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliBin, makeImage, makeTempDir, runProcess } from '../../../tools/test-support/index.js';

// On a terminal, convert and verify draw a live bar (rate, ETA, problems so far). `script` (util-linux,
// essential on Debian) runs the command on a pseudo-terminal; under CI its absence is a failure.
const SCRIPT = '/usr/bin/script';
const available = existsSync(SCRIPT);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function onTerminal(args: string[]) {
  const command = [process.execPath, cliBin, ...args].map(quote).join(' ');
  return runProcess(SCRIPT, ['-qec', command, '/dev/null']);
}

let tmp: ReturnType<typeof makeTempDir>;
let folder: string;
beforeAll(async () => {
  tmp = makeTempDir('imgstore-tty-');
  folder = join(tmp.dir, 'images');
  mkdirSync(folder);
  for (let i = 0; i < 12; i++) writeFileSync(join(folder, `${i}.png`), await makeImage(40, 30, 'png', { seed: i }));
  writeFileSync(join(folder, 'broken.jpg'), 'not an image');
});
afterAll(() => tmp.cleanup());

describe('progress on a terminal', () => {
  it('is available here (util-linux script)', () => {
    if (process.env.CI) expect(available, `${SCRIPT} is needed for the terminal progress tests`).toBe(true);
  });

  it.runIf(available)('convert draws a bar with images/s, ETA and rejects so far, then the summary', async () => {
    const store = join(tmp.dir, 'tty.lmdb');
    const run = await onTerminal(['convert', folder, store, '--size', '16']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('\u001b[?25l'); // cursor hidden while the bar is live: terminal mode
    expect(run.stdout).toMatch(/convert =+ 13\/13 \| \d+ img\/s \| ETA \d+s \| rejects 1/);
    expect(run.stdout).toContain('Stored 12 of 13 inputs');
  });

  it.runIf(available)('verify draws a bar with records/s and damaged so far', async () => {
    const store = join(tmp.dir, 'verify.lmdb');
    expect((await runProcess(process.execPath, [cliBin, 'convert', folder, store, '--size', '16', '-q'])).code).toBe(0);
    const run = await onTerminal(['verify', store]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/verify =+ 12\/12 \| \d+ rec\/s \| ETA \d+s \| damaged 0/);
  });
});
