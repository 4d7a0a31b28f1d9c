// `npm run demo`: convert the bundled sample images, print `imgstore info`, then iterate one shuffled
// epoch with the DataLoader and print samples/s. The store goes to demo-output/ (git-ignored).
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
console.log(`\nOne shuffled epoch, batch size 8, ${reader.length} samples:`);
const started = performance.now();
let samples = 0;
for await (const batch of loader) {
  samples += batch.shape[0];
  if (samples === batch.shape[0]) {
    console.log(`  first batch: data [${batch.shape.join(', ')}] uint8, labels [${[...batch.labels].join(', ')}]`);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`  ${samples} samples in ${(seconds * 1000).toFixed(1)} ms: ${Math.round(samples / seconds)} samples/s`);
await reader.close();
