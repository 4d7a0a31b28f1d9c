// npm run bench:read -- <store> [--flat <folder>] [--classes <folder>] [--epochs 3] [--rounds 2] [--python true|false]
// Iterates full shuffled epochs (batch 64) over <store> and prints samples/s and GB/s for the DataLoader
// at 0, 1 and 2 workers, for the ceiling of copying the same bytes, and (with --classes) for a naive
// Node baseline that decodes and resizes the original images with sharp every epoch. With Debian's
// python3-torch etc. and ../shared/bench, the Python reference loader (on a store its converter builds
// from --flat) and torchvision ImageFolder (on --classes) run in the same invocation, for ratios.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@imgstore/store';
import { DataLoader, seededPermutation } from '@imgstore/dataset';
import sharp from 'sharp';
import { median, parseArgs, python, pythonReferenceAvailable, sharedBench, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { flat: '', classes: '', epochs: 3, rounds: 2, python: 'true' });
const storePath = positional[0];
if (!storePath) {
  console.error('usage: npm run bench:read -- <store> [--flat <folder>] [--classes <folder>] [--epochs 3] [--rounds 2] [--python false]');
  process.exit(2);
}
const store = openStore(storePath);
const [h, w, c] = store.header.shape;
const sampleBytes = h * w * c;
const n = store.length;
const batchSize = 64;
const results = [];
const rss = () => process.memoryUsage().rss / 1e6;

/** One untimed warm-up epoch (page faults, JIT, worker start), then `epochs` timed ones; median. */
async function timeEpochs(label, runEpoch, epochs = flags.epochs) {
  await runEpoch(0);
  const times = [];
  const rssBefore = rss();
  for (let e = 1; e <= epochs; e++) {
    const t = performance.now();
    const samples = await runEpoch(e);
    if (samples !== n) throw new Error(`${label}: epoch gave ${samples} samples, expected ${n}`);
    times.push((performance.now() - t) / 1000);
  }
  const perS = n / median(times);
  results.push({ label, perS, rssGrowth: rss() - rssBefore });
  console.log(`${label}: ${times.map((t) => (n / t).toFixed(0)).join(', ')} samples/s`);
}

/**
 * The store pipelines, each opened, timed (one warm-up epoch, then `epochs`) and closed in turn, the
 * whole sequence repeated `rounds` times. Pipelines are not interleaved epoch by epoch: live worker
 * threads of one pipeline slow the next one down here. Each pipeline's result is the median of all its
 * epochs; the ceiling ratio is also given per round (the pipelines of one round ran minutes apart at
 * most), since this machine's speed drifts by 2-4x between minutes.
 */
const storeOnce = openStore(storePath, { verify: 'once' });
const loaderSpecs = [
  ...[0, 1, 2].map((workers) => ({ workers, dataset: store, suffix: '' })),
  // Opt-in: each record's CRC checked on its first read by a reader only (see @imgstore/store).
  ...[0, 1].map((workers) => ({ workers, dataset: storeOnce, suffix: ", verify 'once'" })),
];
const pipelineSpecs = [
  ...loaderSpecs.map(({ workers, dataset, suffix }) => ({
    label: `imgstore DataLoader, ${workers} worker${workers === 1 ? '' : 's'}${suffix}`,
    open() {
      const loader = new DataLoader(dataset, { batchSize, shuffle: true, seed: 1, workers });
      return {
        async runEpoch(epoch) {
          loader.setEpoch(epoch);
          let samples = 0;
          for await (const batch of loader) samples += batch.shape[0];
          return samples;
        },
        close: () => loader.close(),
      };
    },
  })),
  // Ceiling: the same stored bytes copied into a batch buffer in the same order, no checksum, no decoding.
  // Read through the store's own LMDB environment: lmdb-js cannot hold two on one file in a thread.
  {
    label: 'ceiling: copy the stored bytes',
    open() {
      const batch = new Uint8Array(batchSize * sampleBytes);
      return {
        async runEpoch(epoch) {
          const order = seededPermutation(n, epoch);
          for (let i = 0; i < n; i++) {
            const value = store.getStoredView(order[i]);
            batch.set(value.subarray(value.length - sampleBytes), (i % batchSize) * sampleBytes);
          }
          return n;
        },
        close: async () => {},
      };
    },
  },
];
/** samples/s of each round, by label. */
const perRound = new Map(pipelineSpecs.map((p) => [p.label, []]));
const allTimes = new Map(pipelineSpecs.map((p) => [p.label, []]));
const growth = new Map(pipelineSpecs.map((p) => [p.label, 0]));
for (let round = 1; round <= flags.rounds; round++) {
  for (const spec of pipelineSpecs) {
    const pipeline = spec.open();
    await pipeline.runEpoch(0);
    const before = rss();
    const times = [];
    for (let e = 1; e <= flags.epochs; e++) {
      const t = performance.now();
      const samples = await pipeline.runEpoch(e);
      if (samples !== n) throw new Error(`${spec.label}: epoch gave ${samples} samples, expected ${n}`);
      times.push((performance.now() - t) / 1000);
    }
    growth.set(spec.label, Math.max(growth.get(spec.label), rss() - before));
    await pipeline.close();
    allTimes.get(spec.label).push(...times);
    perRound.get(spec.label).push(n / median(times));
    console.log(`round ${round}, ${spec.label}: ${times.map((t) => (n / t).toFixed(0)).join(', ')} samples/s`);
  }
}
for (const spec of pipelineSpecs) {
  results.push({ label: spec.label, perS: n / median(allTimes.get(spec.label)), rssGrowth: growth.get(spec.label) });
}

// Naive baseline: decode + resize every original image every epoch (what ImageFolder does), 4 in flight.
if (flags.classes) {
  const files = readdirSync(flags.classes, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
  const batch = new Uint8Array(batchSize * sampleBytes);
  const decodeAll = async (epoch) => {
    const order = seededPermutation(files.length, epoch);
    let next = 0;
    const worker = async () => {
      for (let i; (i = next++) < files.length; ) {
        const { data } = await sharp(files[order[i]], { autoOrient: true }).resize(w, h).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        batch.set(data, (i % batchSize) * sampleBytes);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    return files.length;
  };
  if (files.length === n) await timeEpochs('naive: sharp decode + resize every epoch', decodeAll, 1);
  else console.log(`(naive baseline skipped: --classes has ${files.length} files, the store ${n})`);
}

const withPython = flags.python !== 'false' && pythonReferenceAvailable(['torch', 'torchvision', 'cv2', 'fire', 'lmdb', 'lz4', 'PIL'], 'ref_load.py');
const pyDir = join(sharedBench, 'python');
const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-read-'));
const runPython = (script, args) => {
  const out = join(work, `${script}.json`);
  execFileSync(python, [join(pyDir, script), 'bench', ...args, `--json_out=${out}`], { cwd: pyDir, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  return JSON.parse(readFileSync(out, 'utf8'));
};
if (withPython && flags.flat) {
  const refStore = join(work, 'ref.lmdb');
  execFileSync(python, [join(pyDir, 'ref_convert.py'), 'convert', flags.flat, refStore, '--decoder=turbojpeg'], { cwd: pyDir, stdio: 'ignore' });
  for (const r of runPython('ref_load.py', [refStore, '--workers=0,2', `--epochs=${flags.epochs}`])) {
    results.push({ label: `python reference loader, ${r.label.split(' ').pop()}`, perS: r.per_s_median, python: 'ref' });
  }
}
if (withPython && flags.classes) {
  for (const r of runPython('imagefolder_load.py', [flags.classes, '--variant=pil', '--workers=0,2', '--epochs=1'])) {
    results.push({ label: `torchvision ImageFolder + PIL, ${r.label.split(' ').pop()}`, perS: r.per_s_median, python: 'imagefolder' });
  }
}
if (!withPython) console.log('(python references skipped: need Debian python3-torch python3-torchvision python3-opencv python3-fire python3-lmdb python3-lz4 python3-pil and ../shared/bench)');
rmSync(work, { recursive: true, force: true });

const best = (pred) => Math.max(0, ...results.filter(pred).map((r) => r.perS));
const ours = best((r) => r.label.startsWith('imgstore') && !r.label.includes('once'));
const oursOnce = best((r) => r.label.startsWith('imgstore') && r.label.includes('once'));
const ref = best((r) => r.python === 'ref');
const imagefolder = best((r) => r.python === 'imagefolder');
const ceiling = best((r) => r.label.startsWith('ceiling'));
console.log(`\n${n} samples of ${h}×${w}×${c} (${store.header.codec}), batch ${batchSize}, shuffled, warm page cache; median of ${flags.epochs} epochs after a warm-up, ${flags.rounds} round(s)\n`);
console.log(
  table([
    ['pipeline', 'samples/s', 'GB/s', 'RSS growth MB'],
    ...results.map((r) => [r.label, r.perS.toFixed(0), ((r.perS * sampleBytes) / 1e9).toFixed(2), r.rssGrowth === undefined ? '-' : r.rssGrowth.toFixed(1)]),
  ]),
);
console.log('');
console.log(`best imgstore / copy ceiling:            ${(ours / ceiling).toFixed(2)}   (verify 'once': ${(oursOnce / ceiling).toFixed(2)})`);
{
  const ceilingRounds = perRound.get('ceiling: copy the stored bytes');
  const bestOfRound = (once) => ceilingRounds.map((ceil, r) =>
    Math.max(...[...perRound].filter(([label]) => label.startsWith('imgstore') && label.includes('once') === once).map(([, v]) => v[r])) / ceil,
  );
  const line = (ratios) => `${ratios.map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)})`;
  console.log(`  the same, per round:                   ${line(bestOfRound(false))}; verify 'once': ${line(bestOfRound(true))}`);
}
if (ref) console.log(`best imgstore / best python reference:    ${(ours / ref).toFixed(2)}x`);
if (imagefolder) console.log(`best imgstore / best ImageFolder (PIL):   ${(ours / imagefolder).toFixed(1)}x`);
await store.close();
await storeOnce.close();
