// npm run bench:convert -- <folder> [--runs 5] [--python true|false] [--size 256x256] [--quality true|false]
// Converts <folder> with the CLI's defaults (a fresh store each run) and prints images/s, input MB/s,
// peak RSS, and the ratio against the Python reference converter (ref_convert.py --decoder=turbojpeg)
// run in the same invocation when Debian's packages for it are installed, and the CPU each costs (user +
// system seconds, all threads; with GNU time); beside them the conversion's compute alone (decode-only.mjs:
// read, decode and resample every file on the same threads, no store), the most any conversion with this
// decode path could reach here. Then the quality of the conversion's decode path against a full-size
// decode + Lanczos-3 of every file (see printQuality).
// `--size` is passed to imgstore (the Python reference always makes 256x256): a smaller size shows the
// DCT-scaled decoding of photos shrunk 8x or more (2 x DCT_SCALING_GAP of @imgstore/image).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, measure, median, parseArgs, python, pythonReferenceAvailable, repoRoot, sharedBench, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { runs: 5, python: 'true', size: '256x256', quality: 'true' });
const folder = positional[0];
if (!folder) {
  console.error('usage: npm run bench:convert -- <folder> [--runs 5] [--python false] [--size 256x256] [--quality false]');
  process.exit(2);
}
const sizeMatch = /^(\d+)x(\d+)$/.exec(flags.size);
if (!sizeMatch) {
  console.error(`--size: expected WIDTHxHEIGHT (as imgstore convert --size), got ${flags.size}`);
  process.exit(2);
}
const [width, height] = [Number(sizeMatch[1]), Number(sizeMatch[2])];
const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const inputMb = files.reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0) / 1e6;
const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-'));

/**
 * measure() with the CPU seconds (user + system, every thread) and the peak RSS from GNU time where
 * it is installed: on a busy machine the CPU a conversion costs says more than its wall time.
 */
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
async function measureCpu(command, args, options) {
  if (!timeBin) return { ...(await measure(command, args, options)), cpu: NaN };
  const result = await measure(timeBin, ['-f', 'bench-cpu %U %S %M', command, ...args], options);
  const m = /bench-cpu ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(result.stderr);
  return m ? { ...result, cpu: Number(m[1]) + Number(m[2]), peakMb: Number(m[3]) / 1024 } : { ...result, cpu: NaN };
}

const store = join(work, 'imgstore.lmdb');
const pipelines = [
  {
    label: 'imgstore convert (CLI defaults)',
    run: () => measureCpu(process.execPath, [cliBin, 'convert', folder, store, '--overwrite', '-q', '--size', flags.size]),
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
      return measureCpu(python, [refScript, 'convert', folder, refStore, '--decoder=turbojpeg'], { cwd: join(sharedBench, 'python') });
    },
  });
} else {
  console.log('(python reference skipped: needs Debian python3-opencv python3-fire python3-lmdb python3-lz4 and ../shared/bench)');
}
// The conversion's compute alone (read, decode, resample on the same threads; no store): its ceiling here.
pipelines.push({
  label: 'decode + resample only (no store)',
  run: () => measureCpu(process.execPath, [join(repoRoot, 'tools/bench/decode-only.mjs'), folder, flags.size]),
});

// --runs 0: the quality figures only.
if (Number(flags.runs) > 0) await timeRounds();
rmSync(work, { recursive: true, force: true });
if (width !== 256 || height !== 256) console.log(`(imgstore made ${flags.size}; the Python reference makes 256x256)`);
if (flags.quality !== 'false') await printQuality();

/**
 * The conversion's decode path (DecodePool, as imgstore convert uses it) against libjpeg-turbo at full
 * size + the Lanczos-3 resampler (resampleRgb), on every JPEG of the folder: the mean absolute
 * difference over all pixels, the worst image's, and the largest single difference; split by how the
 * file was decoded (DCT-scaled, full size, or sharp). Full-size fast-path files equal the reference by
 * construction; the figures are about the DCT-scaled ones (and sharp's).
 */
async function printQuality() {
  const image = await import(join(repoRoot, 'packages/image/dist/index.js'));
  const turbo = createRequire(join(repoRoot, 'packages/image/package.json'))('@julusian/jpeg-turbo');
  const pool = new image.DecodePool();
  const target = { width, height, fit: 'cover' };
  const groups = new Map();
  const all = { files: 0, sum: 0, values: 0, worst: 0, max: 0 };
  for (const entry of files) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const bytes = readFileSync(path);
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) continue;
    let full;
    try {
      full = turbo.decompressSync(bytes, { format: turbo.FORMAT_RGB });
    } catch {
      continue; // not for libjpeg-turbo: nothing to compare with
    }
    const reference = image.resampleRgb(full.data, full.width, full.height, target).data;
    const ours = (await pool.decode(bytes, { width, height })).data;
    const shrink = Math.min(full.width / width, full.height / height);
    const denom = image.dctDenominator(shrink, Math.min(width, height));
    const group = shrink >= 16 * image.DCT_SCALING_GAP ? `shrink >= ${16 * image.DCT_SCALING_GAP}: sharp` : denom > 1 ? `DCT-scaled 1/${denom}` : 'full size';
    let sum = 0;
    let max = 0;
    for (let i = 0; i < ours.length; i++) {
      const d = Math.abs(ours[i] - reference[i]);
      sum += d;
      if (d > max) max = d;
    }
    for (const g of [groups.get(group) ?? groups.set(group, { files: 0, sum: 0, values: 0, worst: 0, max: 0 }).get(group), all]) {
      g.files++;
      g.sum += sum;
      g.values += ours.length;
      g.worst = Math.max(g.worst, sum / ours.length);
      g.max = Math.max(g.max, max);
    }
  }
  await pool.close();
  console.log(`\nquality at ${width}x${height} cover: the conversion's pixels vs a full-size decode + Lanczos-3 (bound: mean <= 1.0, max <= 8)\n`);
  const row = (label, g) => [label, g.files, g.files ? (g.sum / g.values).toFixed(3) : '-', g.files ? g.worst.toFixed(3) : '-', g.files ? g.max : '-'];
  console.log(table([['files', 'count', 'mean abs error', 'worst image mean', 'max'], ...[...groups].map(([label, g]) => row(label, g)), row('all', all)]));
}

/**
 * The timed rounds (after a warm-up run of each pipeline) and their table. Rounds alternate the pipelines
 * (and their order) so that this machine's drift from minute to minute falls on all alike; each ratio is
 * taken within a round, then the median of the rounds.
 */
async function timeRounds() {
  for (const p of pipelines) await p.run(); // warm-up: page cache, lazy loading
  const rounds = [];
  for (let i = 0; i < flags.runs; i++) {
    const order = i % 2 ? [...pipelines].reverse() : pipelines;
    const round = new Map();
    for (const p of order) round.set(p, await p.run());
    rounds.push(round);
    console.log(`round ${i + 1}: ${pipelines.map((p) => `${p.label} ${round.get(p).seconds.toFixed(2)} s (CPU ${round.get(p).cpu.toFixed(2)} s)`).join(', ')}`);
  }
  const reference = pipelines.find((p) => p.label.startsWith('python'));
  /** Per round, python's over p's (seconds or cpu): median and range. */
  const vsPython = (p, key) => {
    const r = rounds.map((round) => round.get(reference)[key] / round.get(p)[key]);
    return `${median(r).toFixed(2)}x (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
  };

  console.log(`\n${files.length} files, ${inputMb.toFixed(1)} MB of input; median of ${flags.runs} alternating rounds after a warm-up\n`);
  console.log(
    table([
      ['pipeline', 'images/s', 'input MB/s', 'peak RSS MB', 'CPU ms/image', 'vs python (median, range of rounds)', 'CPU: python / this'],
      ...pipelines.map((p) => {
        const seconds = median(rounds.map((r) => r.get(p).seconds));
        const peakMb = Math.max(...rounds.map((r) => r.get(p).peakMb));
        const vs = !reference ? '-' : p === reference ? '1.00x' : vsPython(p, 'seconds');
        const cpu = median(rounds.map((r) => r.get(p).cpu));
        const cpuVs = !reference ? '-' : p === reference ? '1.00x' : vsPython(p, 'cpu');
        return [p.label, (files.length / seconds).toFixed(0), (inputMb / seconds).toFixed(1), peakMb.toFixed(0), ((cpu / files.length) * 1000).toFixed(2), vs, cpuVs];
      }),
    ]),
  );
}
