// npm run bench:convert -- <folder> [--runs 3] [--python true|false]
// Converts <folder> with the CLI's defaults (a fresh store each run) and prints images/s, input MB/s,
// peak RSS, and the ratio against the Python reference converter (ref_convert.py --decoder=turbojpeg)
// run in the same invocation when Debian's packages for it are installed.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, measure, median, parseArgs, python, pythonReferenceAvailable, sharedBench, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { runs: 3, python: 'true' });
const folder = positional[0];
if (!folder) {
  console.error('usage: npm run bench:convert -- <folder> [--runs 3] [--python false]');
  process.exit(2);
}
const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const inputMb = files.reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0) / 1e6;
const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-'));

const results = [];
async function bench(label, run) {
  await run(); // warm-up: page cache, lazy loading
  const runs = [];
  for (let i = 0; i < flags.runs; i++) runs.push(await run());
  const seconds = median(runs.map((r) => r.seconds));
  const peakMb = Math.max(...runs.map((r) => r.peakMb));
  results.push({ label, seconds, peakMb });
  console.log(`${label}: ${runs.map((r) => r.seconds.toFixed(2)).join(' s, ')} s`);
}

const store = join(work, 'imgstore.lmdb');
await bench('imgstore convert (CLI defaults)', () =>
  measure(process.execPath, [cliBin, 'convert', folder, store, '--overwrite', '-q']),
);

const refScript = join(sharedBench, 'python', 'ref_convert.py');
const withPython = flags.python !== 'false' && pythonReferenceAvailable(['cv2', 'fire', 'lmdb', 'lz4'], 'ref_convert.py');
if (withPython) {
  const refStore = join(work, 'ref.lmdb');
  await bench('python reference (turbojpeg)', () => {
    rmSync(refStore, { force: true });
    rmSync(`${refStore}-lock`, { force: true });
    return measure(python, [refScript, 'convert', folder, refStore, '--decoder=turbojpeg'], { cwd: join(sharedBench, 'python') });
  });
} else {
  console.log('(python reference skipped: needs Debian python3-opencv python3-fire python3-lmdb python3-lz4 and ../shared/bench)');
}

const base = results.find((r) => r.label.startsWith('python'));
console.log(`\n${files.length} files, ${inputMb.toFixed(1)} MB of input; median of ${flags.runs} runs after a warm-up\n`);
console.log(
  table([
    ['pipeline', 'images/s', 'input MB/s', 'peak RSS MB', 'vs python'],
    ...results.map((r) => [
      r.label,
      (files.length / r.seconds).toFixed(0),
      (inputMb / r.seconds).toFixed(1),
      r.peakMb.toFixed(0),
      base ? `${(base.seconds / r.seconds).toFixed(2)}x` : '-',
    ]),
  ]),
);
rmSync(work, { recursive: true, force: true });
