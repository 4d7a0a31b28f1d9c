// `npm run demo`: convert the bundled sample images, print `imgstore info`, then iterate shuffled epochs
// with the DataLoader for a second and print samples/s. The store goes to demo-output/ (git-ignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@imgstore/store';
import { DataLoader, SafeDataset } from '@imgstore/dataset';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/cli/dist/bin.js');
const images = relative(process.cwd(), join(root, 'samples/images')) || '.';
const store = relative(process.cwd(), join(root, 'demo-output/samples.lmdb'));
mkdirSync(dirname(store), { recursive: true });

const run = (...args) => {
  console.log(`\n$ imgstore ${args.join(' ')}`);
  execFileSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
};
run('convert', images, store, '--size', '224x224', '--overwrite');
run('info', store);

const reader = openStore(store);
const dataset = new SafeDataset(reader, { policy: 'skip' });
const loader = new DataLoader(dataset, { batchSize: 8, shuffle: true, seed: 0 });
console.log(`\nShuffled epochs, batch size 8, ${reader.length} samples per epoch, read by the ${reader.engine} engine:`);
// One epoch of 29 samples takes about a millisecond, too short to time: the first epoch warms up
// (page cache, JIT), then epochs repeat for at least a second and the rate is over all of them.
let first = true;
for await (const batch of loader) {
  if (first) console.log(`  first batch: data [${batch.shape.join(', ')}] uint8, labels [${[...batch.labels].join(', ')}]`);
  first = false;
}
let samples = 0;
let epochs = 0;
const started = performance.now();
while (performance.now() - started < 1000) {
  for await (const batch of loader) samples += batch.shape[0];
  epochs++;
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `  ${epochs} epochs, ${samples} samples in ${seconds.toFixed(2)} s: ${Math.round(samples / seconds)} samples/s ` +
    `(in-thread, CRC checked on every read; \`imgstore bench\` measures your own store with workers)`,
);
await reader.close();
