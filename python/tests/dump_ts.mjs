// The TypeScript reader's view of a store or dataset, as JSON on stdout, for the Python tests:
// {samples: [{index, name, label, shape, pixels (base64)}]} or {error: {name, reason, index, message}}.
// Usage: node dump_ts.mjs <store or dataset.json>
import { openDataset } from '@imgstore/store';
import { registerJpegCodec } from '@imgstore/codec-jpeg';

registerJpegCodec();
const path = process.argv[2];
const out = { samples: [] };
try {
  const ds = openDataset(path);
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    out.samples.push({ index: s.index, name: s.name, label: s.label, shape: [...s.shape], pixels: Buffer.from(s.data).toString('base64') });
  }
  out.rejects = ds.rejects();
  await ds.close();
} catch (error) {
  out.error = { name: error.constructor.name, reason: error.reason ?? null, index: error.index ?? null, message: error.message };
}
process.stdout.write(JSON.stringify(out));
