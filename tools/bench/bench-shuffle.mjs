// npm run bench:shuffle -- [--dir /tmp/imgstore-bench-shuffle] [--store-mb 1536] [--cap-mb 400] [--shape 64x64x3]
//                          [--rounds 3] [--seconds 8] [--classes 100] [--block-size 128] [--window 16] [--lookahead 4] [--plain 1] [--warm 1] [--only quality]
// Full random order vs the block shuffle (DataLoader `shuffle: 'block'`) over a store larger than the memory
// its reading process may use. The store (raw codec, labels in ImageFolder order: class c holds a run of
// consecutive records) is written once under --dir. Each timed run is a child process in a cgroup v1
// memory group capped at --cap-mb (the cap holds its page cache too), started after the store's pages are
// dropped from the page cache (`dd iflag=nocache`, this file only), and reads batches of 64 for --seconds.
// The two pipelines alternate round by round; the result is the median ratio with its range.
// The block pipeline has each block read ahead as it opens (the sampler's onBlockOpen calls
// store.willNeed: one large asynchronous read per block). --plain 1 adds a third pipeline, the block
// shuffle without it (reading ahead left to the kernel, which follows `window` interleaved streams badly).
// --warm 1 adds the ceiling: the block order read with the whole store in the page cache and no cap
// (what the reader's CPU allows; block / random cannot exceed warm / random).
// Before the rounds it measures the disk's own bound: the store file read sequentially with O_DIRECT (dd,
// 4 MiB blocks). No order can take samples from this disk faster than that rate / the file's bytes per
// record, so the ratio block / random cannot exceed it / random's rate either (but for the share of the
// store the page cache holds under the cap).
// First it prints the block shuffle's quality against full random (no disk): the correlation between
// store position and epoch position, and how many classes a batch (and 10 consecutive batches) hold.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlockShuffleSampler, RandomSampler } from '@imgstore/dataset';
import { median, parseArgs, table } from './bench-util.mjs';

const { flags, positional } = parseArgs(process.argv.slice(2), {
  dir: '/tmp/imgstore-bench-shuffle',
  'store-mb': 1536,
  'cap-mb': 400,
  shape: '64x64x3',
  rounds: 3,
  seconds: 8,
  classes: 100,
  'block-size': 128,
  window: 16,
  lookahead: 4,
  plain: 0,
  warm: 0,
  only: '',
  child: '',
  order: '',
});
const shape = flags.shape.split('x').map(Number);
const sampleBytes = shape[0] * shape[1] * shape[2];
const batchSize = 64;

if (flags.child) await child(flags.child, flags.order, flags.seconds);
else await main();

async function main() {
  quality();
  if (flags.only === 'quality') return;
  const storePath = join(flags.dir, `store-${flags.shape}-${flags['store-mb']}mb.lmdb`);
  if (!existsSync(join(storePath, 'data.mdb'))) await writeStore(storePath);
  const storeMb = statSync(join(storePath, 'data.mdb')).size / 2 ** 20;
  console.log(`\nblock shuffle: blockSize ${flags['block-size']}, window ${flags.window}; block: each block prefetched (store.willNeed) ${flags.lookahead} block openings ahead`);
  console.log(`store ${storePath}: ${storeMb.toFixed(0)} MiB, ${flags.shape} samples; reader capped at ${flags['cap-mb']} MiB (${(storeMb / flags['cap-mb']).toFixed(1)}×)`);
  const pipelines = ['random', 'block', ...(flags.plain ? ['block-plain'] : []), ...(flags.warm ? ['warm'] : [])];
  const disk = diskSequential(join(storePath, 'data.mdb'));
  // What a record takes in the file (LMDB pages: its pixels, the record's envelope, the tree), not just its pixels.
  const { openStore } = await import('@imgstore/store');
  const store = openStore(storePath);
  const recordBytes = (storeMb * 2 ** 20) / store.length;
  await store.close();
  const diskSamples = (disk * 1e6) / recordBytes;
  console.log(
    `disk: ${disk.toFixed(0)} MB/s read sequentially (O_DIRECT, 4 MiB reads); a record takes ${(recordBytes / 1024).toFixed(1)} KiB of the file: ` +
      `at most ${diskSamples.toFixed(0)} samples/s from disk in any order`,
  );
  const group = makeGroup(flags['cap-mb']);
  const rates = Object.fromEntries(pipelines.map((o) => [o, []]));
  const ratios = Object.fromEntries(pipelines.slice(1).map((o) => [o, []]));
  try {
    for (let round = 0; round < flags.rounds; round++) {
      // Rotate which goes first, so drift on a shared machine hits all alike.
      const orders = pipelines.map((_, i) => pipelines[(i + round) % pipelines.length]);
      const got = {};
      for (const order of orders) {
        got[order] = await retry(() => {
          if (order === 'warm') {
            execFileSync('cat', [join(storePath, 'data.mdb')], { stdio: ['ignore', 'ignore', 'inherit'] });
            return runChild(null, storePath, 'block-plain');
          }
          dropFromCache(join(storePath, 'data.mdb'));
          return runChild(group, storePath, order);
        });
        rates[order].push(got[order].perS);
      }
      for (const o of pipelines.slice(1)) ratios[o].push(got[o].perS / got.random.perS);
      const cpu = (o) =>
        `${(got[o].cpu * 100).toFixed(0)}% CPU (${(got[o].system * 100).toFixed(0)}% in the kernel), ${(got[o].diskPerSample / 1024).toFixed(0)} KiB from disk per sample`;
      console.log(
        `round ${round + 1}: ` +
          pipelines.map((o) => `${o} ${got[o].perS.toFixed(0)} samples/s (${cpu(o)})`).join(', ') +
          ', ' +
          pipelines
            .slice(1)
            .map((o) => `${o} / random ${(got[o].perS / got.random.perS).toFixed(2)}×`)
            .join(', '),
      );
    }
  } finally {
    rmdirSync(group);
  }
  console.log(
    '\n' +
      table([
        ['order', 'samples/s (median)', 'MB/s'],
        ...pipelines.map((o) => [o, median(rates[o]).toFixed(0), ((median(rates[o]) * sampleBytes) / 1e6).toFixed(1)]),
      ]),
  );
  for (const o of pipelines.slice(1)) {
    const r = ratios[o];
    console.log(`${o} / random: median ${median(r).toFixed(2)}× (range ${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}×, ${r.length} rounds)`);
  }
  const random = median(rates.random);
  console.log(
    `disk bound: ${diskSamples.toFixed(0)} samples/s sequential / ${random.toFixed(0)} random = ${(diskSamples / random).toFixed(2)}× ` +
      `(block reached ${((median(rates.block) / diskSamples) * 100).toFixed(0)}% of the disk's sequential rate)`,
  );
}

/** MB/s of reading `file` from the disk, sequentially and past the page cache (at most 1 GiB of it). */
function diskSequential(file) {
  const count = Math.max(1, Math.min(256, Math.floor(statSync(file).size / 2 ** 22)));
  const start = performance.now();
  execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=4M', `count=${count}`, 'iflag=direct', 'status=none']);
  return (count * 2 ** 22) / 1e6 / ((performance.now() - start) / 1000);
}

/** Shuffle quality on an ImageFolder-ordered label layout, for each order: means over 5 epochs (no disk). */
function quality() {
  const n = 16_000;
  const epochs = 5;
  const perClass = n / flags.classes;
  const block = { seed: 1, blockSize: flags['block-size'], window: flags.window };
  const rows = [['order', '|corr(store pos, epoch pos)|', 'classes per batch of 64', 'classes per 10 batches', 'top class share in a batch']];
  const samplers = [
    ['random', new RandomSampler(n, 1)],
    [`block (${block.blockSize} × ${block.window} open)`, new BlockShuffleSampler(n, block)],
    ['dataset order', { indices: () => Array.from({ length: n }, (_, i) => i) }],
  ];
  const avg = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  for (const [name, sampler] of samplers) {
    const corrs = [];
    const perBatch = [];
    const topShare = [];
    const perTen = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = Uint32Array.from(sampler.indices(epoch));
      const label = (i) => Math.floor(order[i] / perClass);
      let sxy = 0;
      for (let p = 0; p < n; p++) sxy += p * order[p];
      const mean = (n - 1) / 2;
      corrs.push(Math.abs((sxy / n - mean * mean) / ((n * n - 1) / 12))); // Spearman: both are ranks 0..n-1
      for (let b = 0; b + batchSize <= n; b += batchSize) {
        const counts = new Map();
        for (let i = b; i < b + batchSize; i++) counts.set(label(i), (counts.get(label(i)) ?? 0) + 1);
        perBatch.push(counts.size);
        topShare.push(Math.max(...counts.values()) / batchSize);
      }
      for (let b = 0; b + 10 * batchSize <= n; b += 10 * batchSize) {
        const seen = new Set();
        for (let i = b; i < b + 10 * batchSize; i++) seen.add(label(i));
        perTen.push(seen.size);
      }
    }
    rows.push([name, avg(corrs).toFixed(3), avg(perBatch).toFixed(1), avg(perTen).toFixed(1), `${(avg(topShare) * 100).toFixed(0)}%`]);
  }
  console.log(`shuffle quality: ${n} samples in ${flags.classes} classes of ${perClass} consecutive records, batch ${batchSize}, seed 1, means over ${epochs} epochs`);
  console.log(table(rows));
}

async function writeStore(storePath) {
  const { createStoreWriter } = await import('@imgstore/store');
  mkdirSync(flags.dir, { recursive: true });
  const count = Math.ceil((flags['store-mb'] * 2 ** 20) / (sampleBytes + 64));
  const perClass = Math.ceil(count / flags.classes);
  const labelNames = Array.from({ length: flags.classes }, (_, c) => `class${String(c).padStart(3, '0')}`);
  const writer = createStoreWriter(storePath, { shape, labelNames, overwrite: true, mapSize: 4 * flags['store-mb'] * 2 ** 20 + 2 ** 30 });
  const data = new Uint8Array(sampleBytes);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < sampleBytes; j += 997) data[j] = (i + j) & 255;
    await writer.append({ name: `${labelNames[Math.floor(i / perClass)]}/${i}.png`, label: Math.floor(i / perClass), shape, dtype: 'uint8', data });
  }
  await writer.finish();
  await writer.close();
  console.log(`wrote ${count} records in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** Another build in the same checkout can remove a dist folder for a few seconds: try a failed run again. */
async function retry(run, attempts = 3) {
  for (let a = 1; ; a++) {
    try {
      return await run();
    } catch (error) {
      if (a === attempts) throw error;
      console.error(`${error.message}; trying again`);
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
}

/** A cgroup v1 memory group whose limit also caps the page cache of the processes in it. */
function makeGroup(capMb) {
  const group = `/sys/fs/cgroup/memory/imgstore-bench-shuffle-${process.pid}`;
  mkdirSync(group);
  writeFileSync(join(group, 'memory.limit_in_bytes'), String(capMb * 2 ** 20));
  return group;
}

/** Drops this one file's pages from the page cache (posix_fadvise DONTNEED through dd). */
function dropFromCache(file) {
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

function runChild(group, storePath, order) {
  const script = fileURLToPath(import.meta.url);
  const args = [script, '--child', storePath, '--order', order, '--seconds', String(flags.seconds), '--shape', flags.shape];
  args.push('--block-size', String(flags['block-size']), '--window', String(flags.window), '--lookahead', String(flags.lookahead));
  return new Promise((resolve, reject) => {
    // The shell joins the group, then becomes node: everything the reader maps or caches is charged there.
    const enter = group === null ? '' : `echo $$ > ${group}/cgroup.procs && `;
    const proc = spawn('sh', ['-c', `${enter}exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${order} run exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

/** Reads batches of 64 in the given order for `seconds`, in this thread; prints samples/s. */
async function child(storePath, order, seconds) {
  const { openStore } = await import('@imgstore/store');
  const { BlockShuffleSampler, DataLoader } = await import('@imgstore/dataset');
  const store = openStore(storePath);
  const block = { seed: 1, blockSize: flags['block-size'], window: flags.window };
  // One large read per block as it opens, ahead of its records' reads (what onBlockOpen is for).
  if (order === 'block') Object.assign(block, { onBlockOpen: (first, last) => store.willNeed(first, last), lookahead: flags.lookahead });
  const sampler = order === 'random' ? undefined : new BlockShuffleSampler(store.length, block);
  const loader = new DataLoader(store, { batchSize, shuffle: true, seed: 1, sampler });
  let samples = 0;
  const readBytes = () => Number(/read_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);
  const diskBefore = readBytes();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for await (const batch of loader) {
    samples += batch.shape[0];
    if (performance.now() - started > seconds * 1000) break;
  }
  const wall = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  await store.close();
  // CPU busy share of the wall time: well below 100% means waiting for the disk (or for a CPU on a busy machine).
  // Bytes this process made the kernel read from the disk (readahead included), per sample read.
  const diskPerSample = (readBytes() - diskBefore) / samples;
  process.stdout.write(JSON.stringify({ perS: samples / (wall / 1000), samples, cpu: (user + system) / 1000 / wall, system: system / 1000 / wall, diskPerSample }));
}
