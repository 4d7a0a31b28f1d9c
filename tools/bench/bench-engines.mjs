// npm run bench:engines -- [<store>] [--records 1600] [--rounds 15] [--epochs 3] [--codec raw]
// The two LMDB read engines behind openStore, side by side: imgstore's TypeScript reader and lmdb-js's
// native binding. Each round reads every record `epochs` times in shuffled orders with readInto (CRC
// checked, verify 'always') into 64 rotating batch slots, one engine then the other (order flipped each round);
// prints per-round samples/s and the median ratio typescript / lmdb-js with its range.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStoreWriter, openStore } from '@imgstore/store';
import { seededPermutation } from '@imgstore/dataset';
import { median, parseArgs } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { records: 1600, rounds: 15, epochs: 3, codec: 'raw' });
let storePath = positional[0];
let tmp;
if (!storePath) {
  // A synthetic store of 256×256×3 records, as the corpus converts to.
  tmp = mkdtempSync(join(tmpdir(), 'imgstore-bench-engines-'));
  storePath = join(tmp, 'bench.lmdb');
  const shape = [256, 256, 3];
  const writer = createStoreWriter(storePath, { shape, codec: flags.codec });
  const data = new Uint8Array(256 * 256 * 3);
  for (let i = 0; i < flags.records; i++) {
    for (let j = 0; j < data.length; j += 61) data[j] = (i * 7 + j) & 0xff;
    await writer.append({ name: `${i}.jpg`, label: null, shape, dtype: 'uint8', data });
  }
  await writer.finish();
}

const engines = ['typescript', 'lmdb-js'];
const readers = Object.fromEntries(engines.map((engine) => [engine, openStore(storePath, { engine })]));
const n = readers.typescript.length;
const sampleBytes = 256 * 256 * 3;
const slots = new Uint8Array(64 * sampleBytes);

function epoch(reader, round) {
  const orders = Array.from({ length: flags.epochs }, (_, e) => seededPermutation(n, 1000 + round * 31 + e));
  const started = performance.now();
  for (const order of orders) for (let i = 0; i < n; i++) reader.readInto(order[i], slots, (i & 63) * sampleBytes);
  return (n * flags.epochs) / ((performance.now() - started) / 1000);
}

for (const engine of engines) epoch(readers[engine], -1); // warm-up: page cache, JIT
const rates = { typescript: [], 'lmdb-js': [] };
const ratios = [];
for (let round = 0; round < flags.rounds; round++) {
  const order = round % 2 ? [...engines].reverse() : engines;
  for (const engine of order) rates[engine].push(epoch(readers[engine], round));
  ratios.push(rates.typescript[round] / rates['lmdb-js'][round]);
  console.log(`round ${round + 1}: typescript ${rates.typescript[round].toFixed(0)}/s, lmdb-js ${rates['lmdb-js'][round].toFixed(0)}/s, ratio ${ratios[round].toFixed(2)}`);
}
console.log(
  `\nreadInto, verify 'always', ${n} records of ${sampleBytes} bytes (${flags.codec}): typescript ${median(rates.typescript).toFixed(0)}/s, ` +
    `lmdb-js ${median(rates['lmdb-js']).toFixed(0)}/s; typescript / lmdb-js median ${median(ratios).toFixed(2)}× ` +
    `(range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
);
for (const reader of Object.values(readers)) await reader.close();
if (tmp) rmSync(tmp, { recursive: true, force: true });
