// npm run bench:scale -- [--count 1000000] [--size 8] [--work <dir>] [--keep false]
// Scale: generates `count` small PNGs (10 class folders), converts them with the CLI and reports, as the
// store grows: conversion images/s per tenth of the run (flat = time linear in the count), the CLI's
// resident memory (bounded = independent of the count), and the cost of random get(i) on snapshots of
// the growing store opened while it is written (flat = independent of the store size).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openStore } from '@imgstore/store';
import { createRandom } from '@imgstore/dataset';
import { cliBin, parseArgs, table } from './bench-util.mjs';

const { flags } = parseArgs(process.argv.slice(2), { count: 1_000_000, size: 8, work: join(tmpdir(), 'imgstore-bench-scale'), keep: 'false' });
const count = flags.count;
const images = join(flags.work, 'images');
const store = join(flags.work, 'scale.lmdb');
rmSync(flags.work, { recursive: true, force: true });

// 1. Inputs: 256 distinct 16×16 PNGs written round-robin (content variety does not matter at this scale).
let t = performance.now();
const pngs = await Promise.all(
  Array.from({ length: 256 }, (_, i) =>
    sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i, g: (i * 7) % 256, b: (i * 13) % 256 } } }).png().toBuffer(),
  ),
);
for (let c = 0; c < 10; c++) mkdirSync(join(images, `class-${c}`), { recursive: true });
for (let i = 0; i < count; i++) writeFileSync(join(images, `class-${i % 10}`, `${String(i).padStart(7, '0')}.png`), pngs[i % 256]);
console.log(`generated ${count} inputs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// 2. Convert, watching progress lines, the child's memory, and the growing store.
const checkpoints = [10_000, 100_000, 1_000_000, 10_000_000].filter((n) => n < count);
const getCosts = [];
const rss = [];
const progress = [];
function timeRandomGets(n) {
  const reader = openStore(store, { allowIncomplete: true });
  const next = createRandom(n);
  const reads = 20_000;
  for (let i = 0; i < 2_000; i++) reader.get(next() % reader.length); // warm
  const started = performance.now();
  for (let i = 0; i < reads; i++) reader.get(next() % reader.length);
  const micros = ((performance.now() - started) * 1000) / reads;
  getCosts.push({ records: reader.length, micros });
  void reader.close();
}
t = performance.now();
await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [cliBin, 'convert', images, store, '--size', String(flags.size), '--progress-interval', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  child.stderr.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const m = /convert (\d+)\/(\d+)/.exec(line);
      if (!m) continue;
      const done = Number(m[1]);
      progress.push({ done, seconds: (performance.now() - t) / 1000 });
      while (checkpoints.length && done >= checkpoints[0]) timeRandomGets(checkpoints.shift());
    }
  });
  const sampler = setInterval(() => {
    try {
      // Anonymous memory (heap, buffers) is what must stay bounded; file-backed pages of the store's
      // memory map also count in RSS but belong to the page cache.
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      rss.push({ done: progress.at(-1)?.done ?? 0, mb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024 });
    } catch {
      // exited
    }
  }, 500);
  child.on('error', reject);
  child.on('close', (code) => {
    clearInterval(sampler);
    if (code === 0) resolve();
    else reject(new Error(`convert exited ${code}`));
  });
});
const totalSeconds = (performance.now() - t) / 1000;
timeRandomGets(count);

// 3. Report.
const tenths = [];
for (let k = 1; k <= 10; k++) {
  const from = progress.findLast((p) => p.done <= ((k - 1) * count) / 10) ?? { done: 0, seconds: 0 };
  const to = progress.find((p) => p.done >= (k * count) / 10);
  const upTo = rss.filter((r) => r.done <= to?.done);
  if (to) {
    tenths.push([
      `${k * 10}%`,
      ((to.done - from.done) / (to.seconds - from.seconds)).toFixed(0),
      Math.max(0, ...upTo.map((r) => r.mb)).toFixed(0),
      Math.max(0, ...upTo.map((r) => r.fileMb)).toFixed(0),
    ]);
  }
}
console.log(`\n${count} inputs of 16×16 → ${flags.size}×${flags.size}×3 records, converted in ${totalSeconds.toFixed(1)} s (${(count / totalSeconds).toFixed(0)} images/s)\n`);
console.log(table([['progress', 'images/s in this tenth', 'CLI anonymous RSS MB (peak so far)', 'file-backed RSS MB'], ...tenths]));
console.log('');
console.log(table([['records in the store', 'random get(i) µs'], ...getCosts.map((g) => [String(g.records), g.micros.toFixed(2)])]));
if (flags.keep === 'false') rmSync(flags.work, { recursive: true, force: true });
