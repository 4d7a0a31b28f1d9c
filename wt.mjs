import { openStore } from '@imgstore/store';
import { DataLoader, SafeDataset } from '@imgstore/dataset';
const store = openStore('/tmp/corpus-raw.lmdb');
for (const workers of [0, 1, 2]) {
  const loader = new DataLoader(new SafeDataset(store), { batchSize: 64, shuffle: true, seed: 1, workers });
  for (let e = 0; e < 2; e++) for await (const b of loader) {}
  const f0 = process.resourceUsage().minorPageFault;
  const t = performance.now();
  for (let e = 0; e < 5; e++) for await (const b of loader) {}
  const s = (performance.now() - t) / 1000;
  console.log(`workers ${workers}: ${(1600 * 5 / s).toFixed(0)} samples/s, faults/sample ${((process.resourceUsage().minorPageFault - f0) / 8000).toFixed(2)}`);
  await loader.close();
}
