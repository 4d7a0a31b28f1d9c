// node tools/bench/bench-lmdb-file.mjs [<store>] [--records 1600] [--rounds 9] [--small 1000000] [--work <dir>]
// The plain-TypeScript LMDB reader (packages/store/src/lmdb-file) against lmdb-js, on a store of
// 256×256×3 raw records (written here unless <store> is given), warm page cache, random order:
//  - bare: lmdb-js getBinaryFast (a view, no copy; as StoreReader.getStoredView) vs our get / getInto;
//  - checked read of one sample, as the record path does: CRC-32 of the payload + the pixels copied
//    into a batch slot. lmdb-js: view, CRC, copy. Ours: getInto a scratch buffer, CRC, copy; and
//    "direct": valueLocation, then one readv of the overflow page header, the value's head into a small
//    buffer and its pixels straight into the slot, CRC over both (what an integration would do).
// Rounds alternate the readers (order flipped each round); the ratio is taken within each round and
// reported as median [min, max]: this VM's speed drifts between minutes.
// Then random get(i) on databases of 1k, 100k and 1M small keys (time per get should stay flat).
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readvSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { build } from 'esbuild';
import { open } from 'lmdb';
import { createStoreWriter, openStore } from '@imgstore/store';
import { median, parseArgs, repoRoot, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { records: 1600, rounds: 9, small: 1_000_000, work: '' });
const work = flags.work || mkdtempSync(join(tmpdir(), 'imgstore-bench-lmdb-file-'));
const ownWork = !flags.work;

// The reader is TypeScript and not exported yet: bundle it for this process.
const bundle = join(work, 'lmdb-file.mjs');
await build({
  entryPoints: [join(repoRoot, 'packages/store/src/lmdb-file/index.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: bundle,
  logLevel: 'warning',
});
const { LmdbFile } = await import(pathToFileURL(bundle).href);

let crc32 = zlib.crc32;
let crcName = 'node:zlib';
try {
  ({ crc32 } = await import('@node-rs/crc32'));
  crcName = '@node-rs/crc32';
} catch {
  // optional dependency absent: zlib's
}

const SAMPLE = 256 * 256 * 3;
const binary = { encoding: 'binary', keyEncoding: 'binary' };

// 1. The store.
let storePath = positional[0];
if (!storePath) {
  storePath = join(work, 'bench.lmdb');
  const t = performance.now();
  const writer = createStoreWriter(storePath, { shape: [256, 256, 3], labelNames: ['a', 'b'] });
  const pixels = new Uint8Array(SAMPLE);
  for (let i = 0; i < flags.records; i++) {
    randomFillSync(pixels);
    await writer.append({ name: `a/${i}.jpg`, label: i % 2, shape: [256, 256, 3], dtype: 'uint8', data: pixels });
  }
  await writer.finish();
  console.log(`wrote ${flags.records} records in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

// lmdb-js exactly as StoreReader reads (shared env, explicit read transaction, getBinaryFast).
const reader = openStore(storePath);
const n = reader.length;
const file = LmdbFile.open(storePath);
const records = file.database('records');
if (records.entries !== n) throw new Error(`entries ${records.entries} != header count ${n}`);
console.log(`store ${storePath}: ${n} records, ${file.pageSize}-byte pages, tree depth ${records.record.depth}; CRC-32 by ${crcName}`);

const keys = Array.from({ length: n }, (_, i) => {
  const key = Buffer.alloc(4);
  key.writeUInt32BE(i);
  return key;
});
const valueBytes = reader.getStoredView(0).length;
const scratch = Buffer.alloc(valueBytes + 4096);
// A batch of 64 slots, filled in turn: the pixels land in memory that is not already in the CPU cache.
const BATCH = 64;
const batch = new Uint8Array(BATCH * SAMPLE);
const slots = Array.from({ length: BATCH }, (_, k) => batch.subarray(k * SAMPLE, (k + 1) * SAMPLE));
let filled = 0;
const nextSlot = () => slots[filled++ % BATCH];
const pageHeader = Buffer.alloc(16);
const head = Buffer.alloc(4096);
const iov = [pageHeader, head, slots[0]];
const location = { position: 0, length: 0, overflowPage: -1 };

function check(crc, stored, i) {
  if (crc >>> 0 !== stored) throw new Error(`record ${i}: checksum mismatch`);
}

const methods = {
  'lmdb-js view': (i) => reader.getStoredView(i).length,
  'ours get': (i) => records.get(keys[i]).length,
  'ours getInto': (i) => records.getInto(keys[i], scratch, 0),
  'lmdb-js checked': (i) => {
    const view = reader.getStoredView(i);
    check(crc32(view.subarray(4)), (view[0] | (view[1] << 8) | (view[2] << 16) | (view[3] << 24)) >>> 0, i);
    nextSlot().set(view.subarray(view.length - SAMPLE));
    return view.length;
  },
  'ours checked': (i) => {
    const length = records.getInto(keys[i], scratch, 0);
    check(crc32(scratch.subarray(4, length)), scratch.readUInt32LE(0), i);
    nextSlot().set(scratch.subarray(length - SAMPLE, length));
    return length;
  },
  'ours checked direct': (i) => {
    const at = records.valueLocation(keys[i], location, false);
    // The pixels are the value's last SAMPLE bytes (the msgpack map's last field, `data`).
    const headBytes = at.length - SAMPLE;
    iov[1] = head.subarray(0, headBytes);
    const slot = (iov[2] = nextSlot());
    if (readvSync(file.fd, iov, at.position - 16) !== at.length + 16) throw new Error('short read');
    records.checkOverflowPageHeader(at, pageHeader);
    check(crc32(slot, crc32(iov[1].subarray(4))), head.readUInt32LE(0), i);
    return at.length;
  },
};

function pass(method, order) {
  const t = performance.now();
  let bytes = 0;
  for (const i of order) bytes += method(i);
  if (bytes === 0) throw new Error('nothing read');
  return order.length / ((performance.now() - t) / 1000);
}

function shuffled(count, seed) {
  const order = Array.from({ length: count }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = count - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// 2. Alternating rounds.
for (const method of Object.values(methods)) pass(method, shuffled(n, 1)); // warm-up: page cache, JIT
const names = Object.keys(methods);
const rates = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < flags.rounds; round++) {
  const order = shuffled(n, round + 2);
  const sequence = round % 2 === 0 ? names : [...names].reverse();
  for (const name of sequence) rates[name].push(pass(methods[name], order));
  console.log(`round ${round + 1}: ${names.map((name) => `${name} ${rates[name].at(-1).toFixed(0)}/s`).join(', ')}`);
}
const ratio = (ours, theirs) => {
  const r = rates[ours].map((rate, k) => rate / rates[theirs][k]);
  return `${median(r).toFixed(2)}× [${Math.min(...r).toFixed(2)}, ${Math.max(...r).toFixed(2)}]`;
};
console.log(
  table([
    ['reader', 'records/s (median)', 'µs/record'],
    ...names.map((name) => [name, median(rates[name]).toFixed(0), (1e6 / median(rates[name])).toFixed(1)]),
  ]),
);
console.log(`bare:    ours getInto / lmdb-js view        ${ratio('ours getInto', 'lmdb-js view')}`);
console.log(`bare:    ours get / lmdb-js view            ${ratio('ours get', 'lmdb-js view')}`);
console.log(`checked: ours (getInto) / lmdb-js           ${ratio('ours checked', 'lmdb-js checked')}`);
console.log(`checked: ours direct (readv) / lmdb-js      ${ratio('ours checked direct', 'lmdb-js checked')}`);
file.close();
await reader.close();

// 3. Random get(i) on databases of 1k, 100k and 1M small keys.
if (flags.small > 0) {
  const smallPath = join(work, 'small.lmdb');
  const sizes = [1000, 100_000, flags.small].filter((size, k, all) => size <= flags.small && all.indexOf(size) === k);
  const env = open({ path: smallPath, noSubdir: false, maxDbs: 8, mapSize: 2 ** 32, ...binary });
  const t = performance.now();
  const value = Buffer.alloc(16, 7);
  for (const size of sizes) {
    const db = env.openDB({ name: `k${size}`, ...binary });
    for (let start = 0; start < size; start += 100_000) {
      env.transactionSync(() => {
        for (let i = start; i < Math.min(size, start + 100_000); i++) {
          const key = Buffer.alloc(4);
          key.writeUInt32BE(i);
          value.writeUInt32LE(i);
          db.putSync(key, value);
        }
      });
    }
  }
  console.log(`\nwrote small-key databases (${sizes.join(', ')} keys) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const rows = [];
  for (const leafCachePages of [256, 0]) {
    const small = LmdbFile.open(smallPath, { leafCachePages });
    for (const size of sizes) {
      const db = small.database(`k${size}`);
      const theirs = env.openDB({ name: `k${size}`, ...binary });
      const gets = 200_000;
      const order = Array.from({ length: gets }, (_, k) => (Math.imul(k + 1, 2654435761) >>> 0) % size);
      const key = Buffer.alloc(4);
      const out = Buffer.alloc(64);
      const time = (fn) => {
        fn();
        const samples = [];
        for (let r = 0; r < 5; r++) {
          const t0 = performance.now();
          fn();
          samples.push(((performance.now() - t0) * 1e6) / gets);
        }
        return median(samples);
      };
      const get = () => {
        for (const i of order) {
          key.writeUInt32BE(i);
          if (db.get(key) === undefined) throw new Error(`missing ${i}`);
        }
      };
      const getInto = () => {
        for (const i of order) {
          key.writeUInt32BE(i);
          if (db.getInto(key, out, 0) !== 16) throw new Error(`missing ${i}`);
        }
      };
      const lmdbjs = () => {
        for (const i of order) {
          key.writeUInt32BE(i);
          if (theirs.getBinaryFast(key) === undefined) throw new Error(`missing ${i}`);
        }
      };
      rows.push([size, leafCachePages, db.record.depth, time(get).toFixed(0), time(getInto).toFixed(0), time(lmdbjs).toFixed(0)]);
    }
    small.close();
  }
  console.log(table([['keys', 'leaf cache pages', 'depth', 'ours get ns', 'ours getInto ns', 'lmdb-js getBinaryFast ns'], ...rows]));
}
if (ownWork) rmSync(work, { recursive: true, force: true });
