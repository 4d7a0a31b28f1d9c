#!/usr/bin/env node
// Classify every sample of an imgstore store with an ONNX image classifier on onnxruntime-node (CPU):
//   node classify.mjs <store> <model.onnx> [--top 3] [--batch 8] [--workers 0] [--layout CHW|HWC]
//                     [--crop 224 | 224x192] [--mean 0.485,0.456,0.406] [--std 0.229,0.224,0.225] [--summary]
// Prints the top-k classes of each sample (by the store's label names when the model has one output per
// label) and samples/s. Also a module: `classify()` yields each batch's logits (tools/inference tests it
// against PyTorch).
import { parseArgs } from 'node:util';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { openStore } from '@imgstore/store';
import { DataLoader } from '@imgstore/dataset';

/** What torchvision's ImageNet models were trained with (on 0-1 pixels). */
export const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * How to feed `session` from `store`: the input's name, its layout and the crop, from the model's input
 * shape ([N, 3, H, W] is CHW, [N, H, W, 3] is HWC) unless `options` says. The crop is the model's fixed
 * H×W when the store's samples have another size (or vary in size: a `--size shorter:N` store).
 */
export function planInput(store, session, options = {}) {
  const meta = session.inputMetadata?.[0];
  const name = session.inputNames[0];
  const dims = meta?.isTensor ? meta.shape : [];
  if (meta?.isTensor && (meta.type !== 'float32' || dims.length !== 4)) {
    throw new Error(`Model input ${name} is ${meta.type} [${dims.join(', ')}]; this script feeds float32 [batch, C, H, W] or [batch, H, W, C]`);
  }
  const channels = store.sampleShape[2];
  let layout = options.layout;
  if (layout === undefined) {
    if (dims[1] === channels && dims[3] !== channels) layout = 'CHW';
    else if (dims[3] === channels && dims[1] !== channels) layout = 'HWC';
    else throw new Error(`Cannot tell the layout of model input ${name} [${dims.join(', ')}]: pass --layout CHW or HWC`);
  }
  const [mh, mw] = layout === 'CHW' ? [dims[2], dims[3]] : [dims[1], dims[2]];
  const fixed = Number.isInteger(mh) && Number.isInteger(mw);
  const [h, w] = store.sampleShape;
  let crop = options.crop;
  if (crop === undefined && fixed && (h !== mh || w !== mw)) crop = [mh, mw];
  if (crop === undefined && h === 0) {
    throw new Error(`The samples of ${store.path} vary in size and the model takes any size: pass --crop HxW`);
  }
  return { name, layout, crop };
}

/**
 * Runs the model over every sample of `store`, in store order. Yields per batch the samples' indices and
 * labels (-1 unlabeled) and the model's first output, `logits` [count × classes].
 */
export async function* classify(store, session, options = {}) {
  const { name, layout, crop } = planInput(store, session, options);
  const loader = new DataLoader(store, {
    batchSize: options.batchSize ?? 8,
    workers: options.workers ?? 0,
    float32: { mean: options.mean ?? IMAGENET.mean, std: options.std ?? IMAGENET.std, layout },
    // Evaluation: the same middle window every time (top = (h - cropH) >> 1, likewise left).
    ...(crop ? { augment: { crop, cropAt: 'center' } } : {}),
  });
  try {
    for await (const batch of loader) {
      // batch.tensor is reused by the next batch: the run finishes before we ask for it.
      const outputs = await session.run({ [name]: new ort.Tensor('float32', batch.tensor, batch.tensorShape) });
      const logits = outputs[session.outputNames[0]];
      yield { indices: batch.indices.slice(), labels: batch.labels.slice(), logits: logits.data, classes: logits.dims[1] };
    }
  } finally {
    await loader.close();
  }
}

/** The k largest of `logits` as [class, softmax probability], best first. */
export function topK(logits, k) {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp
    .map((e, c) => [c, e / sum])
    .sort((a, b) => b[1] - a[1])
    .slice(0, k);
}

const usage = 'Usage: node classify.mjs <store> <model.onnx> [--top 3] [--batch 8] [--workers 0] [--layout CHW|HWC] [--crop HxW] [--mean a,b,c] [--std a,b,c] [--summary]';

function parseCommandLine(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '3' },
      batch: { type: 'string', default: '8' },
      workers: { type: 'string', default: '0' },
      layout: { type: 'string' },
      crop: { type: 'string' },
      mean: { type: 'string' },
      std: { type: 'string' },
      summary: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 2) throw new Error(usage);
  const integer = (option, min) => {
    const n = Number(values[option]);
    if (!Number.isInteger(n) || n < min) throw new Error(`Expected an integer >= ${min} for --${option} but received ${values[option]}`);
    return n;
  };
  const numbers = (option) => {
    if (values[option] === undefined) return undefined;
    const list = values[option].split(',').map(Number);
    if (!list.every(Number.isFinite)) throw new Error(`Expected comma-separated numbers for --${option} but received ${values[option]}`);
    return list;
  };
  if (values.layout !== undefined && values.layout !== 'CHW' && values.layout !== 'HWC') {
    throw new Error(`Expected CHW or HWC for --layout but received ${values.layout}`);
  }
  let crop;
  if (values.crop !== undefined) {
    const match = /^(\d+)(?:x(\d+))?$/.exec(values.crop);
    if (!match) throw new Error(`Expected N or HxW for --crop but received ${values.crop}`);
    crop = [Number(match[1]), Number(match[2] ?? match[1])];
  }
  const [store, model] = positionals;
  return {
    store,
    model,
    top: integer('top', 1),
    summary: values.summary,
    options: { batchSize: integer('batch', 1), workers: integer('workers', 0), layout: values.layout, crop, mean: numbers('mean'), std: numbers('std') },
  };
}

async function main(argv) {
  const args = parseCommandLine(argv);
  const session = await ort.InferenceSession.create(args.model);
  const store = openStore(args.store);
  try {
    const plan = planInput(store, session, args.options);
    const names = store.header.labelNames;
    let samples = 0;
    let agree = 0;
    let named = false;
    const started = performance.now();
    for await (const { indices, labels, logits, classes } of classify(store, session, args.options)) {
      // Label names only when the model has one output per store label (e.g. trained on this store).
      named = names !== null && names.length === classes;
      const className = (c) => (named ? names[c] : `class ${c}`);
      for (let k = 0; k < indices.length; k++) {
        const best = topK(logits.subarray(k * classes, (k + 1) * classes), Math.min(args.top, classes));
        if (labels[k] === best[0][0]) agree++;
        if (args.summary) continue;
        const truth = labels[k] >= 0 && names ? ` [${names[labels[k]]}]` : '';
        const ranked = best.map(([c, p]) => `${className(c)} ${p.toFixed(3)}`).join(', ');
        console.log(`${indices[k]} ${store.get(indices[k]).name}${truth}: ${ranked}`);
      }
      samples += indices.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const input = `${plan.layout}${plan.crop ? `, center crop ${plan.crop.join('x')}` : ''}`;
    console.log(
      `${samples} samples in ${seconds.toFixed(2)} s: ${(samples / seconds).toFixed(1)} samples/s ` +
        `(batch ${args.options.batchSize}, ${input}, onnxruntime-node ${ort.env.versions?.node ?? ''} cpu)`,
    );
    if (named) console.log(`top-1 equals the store's label for ${agree} of ${samples} samples`);
  } finally {
    await session.release();
    await store.close();
  }
}

// Run as a script (not when imported by a test or another module).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message);
    process.exitCode = error.message === usage ? 2 : 1;
  });
}
