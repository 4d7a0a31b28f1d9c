// node tools/bench/decode-only.mjs <folder> [WIDTHxHEIGHT]
// The conversion's compute without its store: every file of <folder> through a DecodePool (read, decode,
// resample in the worker threads, as `imgstore convert` runs them, 32 in flight), the pixels dropped.
// bench:convert times it beside the conversion: the rate no conversion with this decode path can beat on
// this machine, and so how much of a conversion's time the rest (scanning, records, LMDB, startup) takes.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './bench-util.mjs';

const [folder, size = '256x256'] = process.argv.slice(2);
const [width, height] = size.split('x').map(Number);
const { DecodePool } = await import(join(repoRoot, 'packages/image/dist/index.js'));
const files = readdirSync(folder, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath ?? e.path, e.name))
  .sort();
const pool = new DecodePool();
let next = 0;
let decoded = 0;
async function lane() {
  while (next < files.length) {
    const file = files[next++];
    try {
      await pool.decode(file, { width, height });
      decoded++;
    } catch {
      // A file the conversion would reject: not part of this rate.
    }
  }
}
try {
  await Promise.all(Array.from({ length: 32 }, lane));
} finally {
  await pool.close();
}
console.error(`decoded ${decoded} of ${files.length}`);
