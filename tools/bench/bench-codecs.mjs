// npm run bench:codecs -- <folder> [--epochs 3] [--codecs raw,lz4,jpeg:95,jpeg:90,jpeg:75]
// Converts <folder> once per codec with the CLI (defaults otherwise: 256×256 RGB) and prints, per codec:
// the store's size relative to the folder's bytes, conversion images/s, and read samples/s through the
// DataLoader in one thread (`imgstore bench --workers 0`: per core) and with 2 worker threads.
// The raw store's read speed is the baseline measured in the same run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, parseArgs, table } from './bench-util.mjs';

const { positional, flags } = parseArgs(process.argv.slice(2), { epochs: 3, codecs: 'raw,lz4,jpeg:95,jpeg:90,jpeg:75' });
const folder = positional[0];
if (!folder) {
  console.error('usage: npm run bench:codecs -- <folder> [--epochs 3] [--codecs raw,lz4,jpeg:95,jpeg:90,jpeg:75]');
  process.exit(2);
}
const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const sourceBytes = files.reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0);
const work = mkdtempSync(join(tmpdir(), 'imgstore-bench-codecs-'));
const cli = (args) => execFileSync(process.execPath, [cliBin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const rows = [];
try {
  for (const spec of String(flags.codecs).split(',')) {
    const [codec, quality] = spec.split(':');
    const store = join(work, `${spec.replace(':', '-q')}.lmdb`);
    const started = performance.now();
    cli(['convert', folder, store, '--codec', codec, ...(quality ? ['--quality', quality] : []), '-q']);
    const convertSeconds = (performance.now() - started) / 1000;
    const { blocks, size } = statSync(join(store, 'data.mdb'));
    const storeBytes = Math.min(size, blocks * 512);
    const read = (workers) =>
      JSON.parse(cli(['bench', store, '--workers', String(workers), '--epochs', String(flags.epochs), '--json'])).samplesPerSecond;
    const [oneThread, twoWorkers] = [read(0), read(2)];
    console.error(`${spec}: ${(storeBytes / 1e6).toFixed(1)} MB, ${oneThread} samples/s in one thread, ${twoWorkers} with 2 workers`);
    rows.push({ spec, storeBytes, convertSeconds, oneThread, twoWorkers });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const raw = rows.find((r) => r.spec === 'raw');
console.log(`\n${files.length} files, ${(sourceBytes / 1e6).toFixed(1)} MB of source images; reads: median of ${flags.epochs} shuffled epochs, batch 64\n`);
console.log(
  table([
    ['codec', 'store MB', 'vs source', 'convert img/s', 'read/s 1 thread', 'read/s 2 workers', 'read vs raw'],
    ...rows.map((r) => [
      r.spec.replace(':', ' q'),
      (r.storeBytes / 1e6).toFixed(1),
      `${(r.storeBytes / sourceBytes).toFixed(2)}x`,
      (files.length / r.convertSeconds).toFixed(0),
      String(r.oneThread),
      String(r.twoWorkers),
      raw ? `${(r.oneThread / raw.oneThread).toFixed(3)}x` : '-',
    ]),
  ]),
);
