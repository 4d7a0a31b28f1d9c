// npm run bench:convert -- <folder> [--runs 5] [--python true|false]
// Converts <folder> with the CLI's defaults (a fresh store each run) and prints images/s, input MB/s,
// peak RSS, and the ratio against the Python reference converter (ref_convert.py --decoder=turbojpeg)
// run in the same invocation when Debian's packages for it are installed.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, measure, median, parseArgs, python, pythonReferenceAvailable, sharedBench, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { runs: 5, python: 'true' });
const folder = positional[0];
if (!folder) {
  console.error('usage: npm run bench:convert -- <folder> [--runs 5] [--python false]');
  process.exit(2);
}
const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const inputMb = files.reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0) / 1e6;
const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-'));

const store = join(work, 'imgstore.lmdb');
const pipelines = [
  {
    label: 'imgstore convert (CLI defaults)',
    run: () => measure(process.execPath, [cliBin, 'convert', folder, store, '--overwrite', '-q']),
  },
];
const refScript = join(sharedBench, 'python', 'ref_convert.py');
const withPython = flags.python !== 'false' && pythonReferenceAvailable(['cv2', 'fire', 'lmdb', 'lz4'], 'ref_convert.py');
if (withPython) {
  const refStore = join(work, 'ref.lmdb');
  pipelines.push({
    label: 'python reference (turbojpeg)',
    run: () => {
      rmSync(refStore, { force: true });
      rmSync(`${refStore}-lock`, { force: true });
      return measure(python, [refScript, 'convert', folder, refStore, '--decoder=turbojpeg'], { cwd: join(sharedBench, 'python') });
    },
  });
} else {
  console.log('(python reference skipped: needs Debian python3-opencv python3-fire python3-lmdb python3-lz4 and ../shared/bench)');
}

// Rounds alternate the pipelines (and their order) so that this machine's drift from minute to minute
// falls on both alike; the ratio is taken within each round, then the median of the rounds.
for (const p of pipelines) await p.run(); // warm-up: page cache, lazy loading
const rounds = [];
for (let i = 0; i < flags.runs; i++) {
  const order = i % 2 ? [...pipelines].reverse() : pipelines;
  const round = new Map();
  for (const p of order) round.set(p, await p.run());
  rounds.push(round);
  console.log(`round ${i + 1}: ${pipelines.map((p) => `${p.label} ${round.get(p).seconds.toFixed(2)} s`).join(', ')}`);
}
const [ours, reference] = pipelines;
const ratios = reference ? rounds.map((r) => r.get(reference).seconds / r.get(ours).seconds) : [];

console.log(`\n${files.length} files, ${inputMb.toFixed(1)} MB of input; median of ${flags.runs} alternating rounds after a warm-up\n`);
console.log(
  table([
    ['pipeline', 'images/s', 'input MB/s', 'peak RSS MB', 'vs python (median, range of rounds)'],
    ...pipelines.map((p) => {
      const seconds = median(rounds.map((r) => r.get(p).seconds));
      const peakMb = Math.max(...rounds.map((r) => r.get(p).peakMb));
      const vs = !reference ? '-' : p === reference ? '1.00x' : `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;
      return [p.label, (files.length / seconds).toFixed(0), (inputMb / seconds).toFixed(1), peakMb.toFixed(0), vs];
    }),
  ]),
);
rmSync(work, { recursive: true, force: true });
