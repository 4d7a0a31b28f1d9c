#!/usr/bin/env node
// `npm run test:inference` (in CI after the other suites): examples/inference-onnx, installed as a user
// would (the reader packages from `npm pack` tarballs, onnxruntime-node from npm, ~290 MB, kept in npm's
// cache), classifies the bundled samples with a ResNet-18 exported by the example's export_model.py, and
// every logit must be within 1e-4 of PyTorch's forward pass on the Python reader's pixels, top-1 equal.
// Runs: CHW and HWC (an NHWC-input model: a transpose node), batch sizes that do not divide the 29 samples,
// worker threads, and a `--size shorter:256` store read through a 224x224 centre crop.
// Needs Debian's python3-torch python3-torchvision python3-lmdb python3-msgpack python3-lz4 python3-numpy,
// and the repository built (`npm run test:inference` builds it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = join(repo, 'examples', 'inference-onnx');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const python = process.env.PYTHON ?? '/usr/bin/python3';
const TOLERANCE = 1e-4;
const started = performance.now();

const tmp = mkdtempSync(join(tmpdir(), 'imgstore-inference-'));
process.on('exit', () => {
  if (process.env.IMGSTORE_KEEP_TMP) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Runs a command; resolves with its output, rejects on a non-zero exit (unless `allowFailure`) or after 5 minutes. */
function run(command, args, { cwd = repo, env = {}, allowFailure = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || allowFailure) resolve({ code, stdout, stderr });
      else reject(new Error(`$ ${command} ${args.join(' ')} (in ${cwd}): ${signal ?? `exit ${code}`}\n${stdout}\n${stderr}`.trim()));
    });
  });
}
const step = (what) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${what}`);

// 1. What the test needs, said once.
const modulesNeeded = ['torch', 'torchvision', 'lmdb', 'msgpack', 'lz4', 'numpy'];
const probe = await run(python, ['-c', `import importlib.util as u, sys; missing = [m for m in ${JSON.stringify(modulesNeeded)} if not u.find_spec(m)]; sys.exit(("missing: " + " ".join(missing)) if missing else None)`], { allowFailure: true });
if (probe.code !== 0) {
  console.error(`${python} lacks a module the test needs (apt-get install python3-torch python3-torchvision python3-lmdb python3-msgpack python3-lz4 python3-numpy):\n${probe.stderr}`);
  process.exit(1);
}
const cli = join(repo, 'packages', 'cli', 'dist', 'bin.js');
if (!existsSync(cli)) {
  console.error('The repository is not built: run `npm run test:inference` (it builds first) or `npm run build`.');
  process.exit(1);
}

// 2. Two stores of the bundled samples: 224x224 (cover), and shorter side 256 (sizes vary: the crop is needed).
step('converting samples/images to a 224x224 store and a --size shorter:256 store');
const stores = { s224: join(tmp, 'samples-224.lmdb'), short: join(tmp, 'samples-shorter256.lmdb') };
await Promise.all([
  run(process.execPath, [cli, 'convert', join(repo, 'samples', 'images'), stores.s224, '--size', '224x224', '-q']),
  run(process.execPath, [cli, 'convert', join(repo, 'samples', 'images'), stores.short, '--size', 'shorter:256', '-q']),
]);

// 3 and 4 at once: the example installed as a project of its own, and PyTorch's reference.
const app = join(tmp, 'app');
const models = join(tmp, 'models');
const [reference] = await Promise.all([torchReference(), installExample()]);

/** The example's files, the reader packages from tarballs, onnxruntime-node from npm. */
async function installExample() {
  step('installing examples/inference-onnx (npm pack of core, codec, store, dataset; onnxruntime-node)');
  const packs = join(tmp, 'packs');
  mkdirSync(app);
  mkdirSync(packs);
  const files = readdirSync(example, { withFileTypes: true }).filter((f) => f.isFile() && !f.name.endsWith('.pyc'));
  for (const { name } of files) copyFileSync(join(example, name), join(app, name));
  copyFileSync(join(repo, 'tools', 'inference', 'onnx-logits.mjs'), join(app, 'onnx-logits.mjs'));
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['@imgstore/dataset', '@imgstore/store', 'onnxruntime-node']);
  const workspaces = ['core', 'codec', 'store', 'dataset'].flatMap((name) => ['-w', `packages/${name}`]);
  await run(npm, ['pack', '--pack-destination', packs, ...workspaces]);
  const tarballs = readdirSync(packs).map((name) => join(packs, name));
  assert.equal(tarballs.length, 4);
  // The README's install line (the variable skips onnxruntime-node's CUDA download; its CPU binaries are in the package).
  await run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: app, env: { ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  const modules = join(app, 'node_modules');
  for (const name of ['onnxruntime-node', '@imgstore/store', '@imgstore/dataset']) assert.ok(existsSync(join(modules, name)), `${name} installed`);
  for (const name of ['sharp', '@img', '@imgstore/image', '@imgstore/convert', '@imgstore/cli']) assert.ok(!existsSync(join(modules, name)), `${name} not installed`);
  step('example installed');
}

/** The models exported with the example's export_model.py, and PyTorch's logits on the Python reader's pixels. */
async function torchReference() {
  step('PyTorch: exporting ResNet-18 (NCHW and NHWC) and computing reference logits');
  mkdirSync(models);
  await run(python, [join(repo, 'tools', 'inference', 'torch_reference.py'), models, example, `s224=${stores.s224}`, `short=${stores.short}:224`], {
    env: { PYTHONPATH: join(repo, 'python', 'src'), PYTHONDONTWRITEBYTECODE: '1' },
  });
  step('PyTorch reference done');
  return JSON.parse(readFileSync(join(models, 'torch-logits.json'), 'utf8')).stores;
}

// 5. The example's classify() in the installed app, each run against the reference.
const chw = join(models, 'model.onnx');
const hwc = join(models, 'model-nhwc.onnx');
const runs = [
  { id: 'CHW, batch 8', store: stores.s224, model: chw, batchSize: 8, workers: 0, layout: 'CHW', crop: null, batches: [8, 8, 8, 5] },
  { id: 'CHW, batch 5, 2 workers', store: stores.s224, model: chw, batchSize: 5, workers: 2, layout: 'CHW', crop: null, batches: [5, 5, 5, 5, 5, 4] },
  { id: 'HWC (NHWC model), batch 3', store: stores.s224, model: hwc, batchSize: 3, workers: 0, layout: 'HWC', crop: null, batches: [...Array(9).fill(3), 2] },
  { id: 'shorter:256, centre crop 224, CHW, batch 6, 1 worker', store: stores.short, model: chw, batchSize: 6, workers: 1, layout: 'CHW', crop: [224, 224], batches: [6, 6, 6, 6, 5] },
  { id: 'shorter:256, centre crop 224, HWC, batch 4', store: stores.short, model: hwc, batchSize: 4, workers: 0, layout: 'HWC', crop: [224, 224], batches: [...Array(7).fill(4), 1] },
];
step(`onnxruntime-node: ${runs.length} runs of classify()`);
writeFileSync(join(tmp, 'runs.json'), JSON.stringify(runs));
const onnx = JSON.parse((await run(process.execPath, ['onnx-logits.mjs', join(tmp, 'runs.json')], { cwd: app })).stdout);

const argmax = (values) => values.indexOf(Math.max(...values));
const failures = [];
for (const expected of runs) {
  const got = onnx[expected.id];
  const ref = reference[expected.store === stores.s224 ? 's224' : 'short'];
  assert.equal(got.layout, expected.layout, `${expected.id}: layout read from the model`);
  assert.deepEqual(got.crop, expected.crop, `${expected.id}: crop`);
  assert.deepEqual(got.batches, expected.batches, `${expected.id}: batch sizes`);
  assert.deepEqual(got.indices, ref.logits.map((_, i) => i), `${expected.id}: every sample once, in store order`);
  let worst = 0;
  for (let i = 0; i < ref.logits.length; i++) {
    const diff = Math.max(...ref.logits[i].map((v, c) => Math.abs(v - got.logits[i][c])));
    worst = Math.max(worst, diff);
    if (diff > TOLERANCE) failures.push(`${expected.id}: sample ${i} (${ref.names[i]}) logits differ by ${diff.toExponential(2)}`);
    if (argmax(ref.logits[i]) !== argmax(got.logits[i])) failures.push(`${expected.id}: sample ${i} (${ref.names[i]}) top-1 differs`);
  }
  console.log(`    ${expected.id}: ${ref.logits.length} samples, largest logit difference ${worst.toExponential(2)}`);
}
// The comparison must be able to fail: samples' logits differ by far more than the tolerance, and top-1 varies.
for (const [name, ref] of Object.entries(reference)) {
  const spread = Math.max(...ref.logits.map((l) => Math.abs(l[0] - ref.logits[0][0])));
  assert.ok(spread > 1000 * TOLERANCE, `${name}: logits vary between samples (spread ${spread})`);
  assert.ok(new Set(ref.logits.map(argmax)).size > 1, `${name}: top-1 varies between samples`);
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}

// 6. The command line: top-k with the store's label names, samples/s, and its usage errors.
step('node classify.mjs <store> <model.onnx> --top 2 --batch 7');
const printed = (await run(process.execPath, ['classify.mjs', stores.s224, chw, '--top', '2', '--batch', '7'], { cwd: app })).stdout.trim().split('\n');
const ref = reference.s224;
const labelNames = ['animals', 'landscapes', 'objects', 'sky'];
assert.equal(printed.length, ref.names.length + 2, printed.join('\n'));
for (let i = 0; i < ref.names.length; i++) {
  const match = /^(\d+) (\S+) \[(\w+)\]: (\w+) (0\.\d{3}), (\w+) (0\.\d{3})$/.exec(printed[i]);
  assert.ok(match, printed[i]);
  assert.deepEqual([Number(match[1]), match[2], match[3], match[4]], [i, ref.names[i], labelNames[ref.labels[i]], labelNames[argmax(ref.logits[i])]]);
}
assert.match(printed.at(-2), /^29 samples in \d+\.\d\d s: \d+\.\d samples\/s \(batch 7, CHW, onnxruntime-node [\d.]+ cpu\)$/);
const agree = ref.logits.filter((l, i) => argmax(l) === ref.labels[i]).length;
assert.equal(printed.at(-1), `top-1 equals the store's label for ${agree} of 29 samples`);
console.log(`    ${printed.at(-2)}\n    ${printed.at(-1)}`);
const usage = await run(process.execPath, ['classify.mjs', stores.s224], { cwd: app, allowFailure: true });
assert.equal(usage.code, 2, usage.stderr);
assert.match(usage.stderr, /^Usage: node classify\.mjs <store> <model\.onnx>/);
const layout = await run(process.execPath, ['classify.mjs', stores.s224, chw, '--layout', 'NCHW'], { cwd: app, allowFailure: true });
assert.equal(layout.code, 1);
assert.equal(layout.stderr.trim(), 'Expected CHW or HWC for --layout but received NCHW');

// 7. The README's Inference snippet, as printed there but for the two paths, runs in the installed example.
step("README.md's Inference snippet");
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const snippet = /\n## Inference\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
assert.ok(snippet?.includes("'./model.onnx'") && snippet.includes("'./val.lmdb'"), "README.md's Inference section has its js block");
writeFileSync(join(app, 'readme-inference.mjs'), snippet.replace("'./model.onnx'", JSON.stringify(chw)).replace("'./val.lmdb'", JSON.stringify(stores.s224)));
const snippetRun = await run(process.execPath, ['readme-inference.mjs'], { cwd: app });
assert.equal(snippetRun.stdout.match(/Float32Array\(\d+\)/g)?.join(' '), 'Float32Array(64) Float32Array(52)', snippetRun.stdout);

step('inference test passed');
