// npm run bench:loader -- <folder | store...> [--rounds 3] [--codecs raw,lz4,jpeg] [--workers 0,1,2] [--batch 64]
//                        [--dtypes uint8,float32,float32-shared,float32-plain]
// The DataLoader's read rate per codec, per worker count and for uint8 vs float32 batches, in one run:
// given an image folder, converts it once per codec (256×256 RGB, the CLI's defaults); given stores, reads
// those. Every configuration is measured once per round, rounds alternate the configurations, and each
// figure is the median over rounds (with its range) of one shuffled epoch after some warm-up batches.
// float32-shared is float32 with `shared: true` (workers write the tensors in place in shared memory), with
// workers only (workers 0 is float32's row).
// Ratios are against workers 0 of the same codec and dtype (workers), against uint8 (float32), and for
// float32 against float32-plain: uint8 batches normalized by the plain per-value loop the loader ran
// before its WebAssembly kernel, in this thread. "filled in" says where the loader placed the batches
// (its probe measures whether workers help; see PlacementProbe).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cliBin, median, parseArgs, repoRoot, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { rounds: 3, codecs: 'raw,lz4,jpeg', workers: '0,1,2', batch: 64, dtypes: 'uint8,float32,float32-shared,float32-plain' });
if (!positional.length) {
  console.error('usage: npm run bench:loader -- <folder | store...> [--rounds 3] [--codecs raw,lz4,jpeg] [--workers 0,1,2] [--batch 64] [--dtypes uint8,float32,float32-shared,float32-plain]');
  process.exit(2);
}
const { openStore } = await import(join(repoRoot, 'packages/store/dist/index.js'));
const { DataLoader } = await import(join(repoRoot, 'packages/dataset/dist/index.js'));
const { registerJpegCodec } = await import(join(repoRoot, 'packages/codec-jpeg/dist/index.js'));
registerJpegCodec();

const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-loader-'));
const stores = [];
if (positional.length === 1 && !existsSync(join(positional[0], 'data.mdb'))) {
  for (const codec of String(flags.codecs).split(',')) {
    const store = join(work, `${codec}.lmdb`);
    console.error(`converting ${positional[0]} with --codec ${codec}`);
    execFileSync(process.execPath, [cliBin, 'convert', positional[0], store, '--codec', codec, '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    stores.push({ name: codec, path: store });
  }
} else {
  for (const path of positional) stores.push({ name: basename(path).replace(/\.lmdb$/, ''), path });
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const GAIN = IMAGENET.std.map((s) => 1 / 255 / s);
const OFFSET = IMAGENET.mean.map((m, c) => -m / IMAGENET.std[c]);
let plainTensor = new Float32Array(0);

/**
 * The baseline for float32 (dtype `float32-plain`): uint8 batches normalized to CHW float32 by the plain
 * per-value loop the DataLoader ran before its WebAssembly kernel (as when issue 16 was filed).
 */
function plainFloat32(batch) {
  const [n, h, w] = batch.shape;
  const pixels = h * w;
  if (plainTensor.length < batch.data.length) plainTensor = new Float32Array(batch.data.length);
  const src = batch.data;
  const dst = plainTensor;
  const [g0, g1, g2] = GAIN;
  const [b0, b1, b2] = OFFSET;
  for (let k = 0; k < n; k++) {
    const from = k * pixels * 3;
    const end = from + pixels * 3;
    let o0 = from;
    let o1 = from + pixels;
    let o2 = from + 2 * pixels;
    for (let i = from; i < end; i += 3) {
      dst[o0++] = src[i] * g0 + b0;
      dst[o1++] = src[i + 1] * g1 + b1;
      dst[o2++] = src[i + 2] * g2 + b2;
    }
  }
}
const workerCounts = String(flags.workers).split(',').map(Number);
const dtypes = String(flags.dtypes).split(',');
const configs = [];
// The plain-JS float32 baseline runs in this thread only: it is the in-thread rate the kernel is held to.
for (const store of stores) for (const dtype of dtypes) for (const workers of workerCounts) if ((dtype !== 'float32-plain' || workers === 0) && (dtype !== 'float32-shared' || workers > 0)) configs.push({ store, dtype, workers, rates: [], placed: [] });

/**
 * One shuffled epoch's samples/s, after enough warm-up batches that the workers have started and every
 * batch buffer has been written once (a loader allocates them once; their first page faults are not a rate).
 */
async function measureOnce(config, round) {
  const dataset = openStore(config.store.path);
  const loader = new DataLoader(dataset, {
    batchSize: flags.batch,
    shuffle: true,
    seed: round,
    workers: config.workers,
    ...(config.dtype === 'float32' ? { float32: IMAGENET } : {}),
    ...(config.dtype === 'float32-shared' ? { float32: { ...IMAGENET, shared: true } } : {}),
  });
  try {
    // Warm-up also covers the loader's first placement probe (workers or this thread: PlacementProbe), a
    // few batches that a real epoch of thousands of batches does not notice.
    let warm = 0;
    const warmed = () => warm >= loader.workers * loader.prefetch + 4 && (loader.workers === 0 || (loader.placement?.probes ?? 0) > 0);
    while (!warmed()) for await (const _ of loader) if ((++warm, warmed())) break;
    let samples = 0;
    const started = performance.now();
    for await (const batch of loader) {
      samples += batch.shape[0];
      if (config.dtype === 'float32-plain') plainFloat32(batch);
    }
    const rate = samples / ((performance.now() - started) / 1000);
    config.placed.push(loader.placement?.placement ?? '-');
    return rate;
  } finally {
    await loader.close();
    await dataset.close();
  }
}

try {
  for (let round = 0; round < flags.rounds; round++) {
    // Alternate the order round by round, so that no configuration always runs first or last.
    const order = round % 2 ? [...configs].reverse() : configs;
    for (const config of order) config.rates.push(await measureOnce(config, round));
    console.error(`round ${round + 1}/${flags.rounds} done`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const fmt = (values) => {
  const m = median(values);
  return `${m.toFixed(0)} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
};
/** Median over rounds of the per-round ratio a/b, with its range. */
const ratio = (a, b) => {
  const r = a.rates.map((x, i) => x / b.rates[i]);
  return `${median(r).toFixed(2)}x (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`;
};
console.log(`\nDataLoader samples/s, batch ${flags.batch}, shuffled, median (range) of ${flags.rounds} rounds; float32 = normalized CHW (ImageNet mean/std)\n`);
console.log(
  table([
    ['store', 'dtype', 'workers', 'samples/s', 'vs workers 0', 'float32 vs uint8', 'vs float32-plain', 'filled in'],
    ...configs.map((c) => {
      const plain = configs.find((o) => o.store === c.store && o.dtype === 'float32-plain' && o.workers === c.workers);
      const base = configs.find((o) => o.store === c.store && o.dtype === (c.dtype === 'float32-shared' ? 'float32' : c.dtype) && o.workers === 0);
      const uint8 = configs.find((o) => o.store === c.store && o.dtype === 'uint8' && o.workers === c.workers);
      return [
        c.store.name,
        c.dtype,
        String(c.workers),
        fmt(c.rates),
        base && base !== c ? ratio(c, base) : '-',
        uint8 && uint8 !== c ? ratio(c, uint8) : '-',
        c.dtype === 'float32' && plain ? ratio(c, plain) : '-',
        c.workers === 0 ? 'this thread' : [...new Set(c.placed)].map((p) => (p === 'here' ? 'this thread' : p)).join(', '),
      ];
    }),
  ]),
);
