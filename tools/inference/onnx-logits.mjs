// Copied next to the installed example's classify.mjs by inference-test.mjs and run there, so it imports
// @imgstore/* and onnxruntime-node from the example's own install. Runs classify() for each run of a JSON
// list ({ id, store, model, batchSize, workers }) and prints { id: { layout, crop, indices, logits } }.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { openStore } from '@imgstore/store';
import { classify, planInput } from './classify.mjs';

const runs = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sessions = new Map();
const out = {};
for (const { id, store: path, model, batchSize, workers } of runs) {
  if (!sessions.has(model)) sessions.set(model, await ort.InferenceSession.create(model));
  const session = sessions.get(model);
  const store = openStore(path);
  const { layout, crop } = planInput(store, session);
  const result = { layout, crop: crop ?? null, batches: [], indices: [], logits: [] };
  for await (const batch of classify(store, session, { batchSize, workers })) {
    result.batches.push(batch.indices.length);
    for (let k = 0; k < batch.indices.length; k++) {
      result.indices.push(batch.indices[k]);
      result.logits.push(Array.from(batch.logits.subarray(k * batch.classes, (k + 1) * batch.classes)));
    }
  }
  await store.close();
  out[id] = result;
}
for (const session of sessions.values()) await session.release();
console.log(JSON.stringify(out));
