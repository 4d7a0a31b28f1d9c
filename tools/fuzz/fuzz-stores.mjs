#!/usr/bin/env node
// Fuzzes stores: mutates a real store's header fields, flips bytes in its pages, truncates its data file,
// then reads the result every way a user can. Each reader must read correctly (the pixels written) or
// fail with a typed error / a one-line exit 1: never a signal, a hang, a raw error or a memory blow-up.
//
//   node tools/fuzz/fuzz-stores.mjs [--runs 300] [--seed 1] [--cli-every 10] [--per-child 100] [--engines typescript,lmdb-js]
//
// In-process reads run once per read engine (--engines). The CLI steps alternate: every other CLI case runs
// with lmdb-js hidden (a --require preload), so the CLI reads through the TypeScript engine as it would on
// a platform without lmdb's binary. Cases where the engines disagree (one reads a record, the other refuses
// it) are counted and printed as engine-diff lines: both outcomes are allowed, the lines are for a look.
// Cases run in child processes (this file with --child) so that a crash, a hang or a peak RSS over the
// bound is seen from outside. Every --cli-every-th case also runs the CLI (info, verify, export), the
// Python reader and a DataLoader epoch with 2 workers; the others run open, get and a 0-worker epoch.
// Prints one JSON line: {"cases", "cliCases", "findings", "engineDiffs", "seconds", "maxRssMb"}; exit 1 on findings.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cliBin = join(repoRoot, 'packages/cli/dist/bin.js');
const RSS_LIMIT_MB = 512;
const PYTHON = '/usr/bin/python3';
// The imgstore Python package from its sources (`python -m imgstore.dump`), on Debian's Python with python3-lmdb,
// -msgpack, -lz4, -numpy (as tools/test/python-reader.test.ts): without them the step is skipped, and said so.
const pythonEnv = {
  ...process.env,
  PYTHONPATH: [join(repoRoot, 'python/src'), process.env.PYTHONPATH].filter(Boolean).join(':'),
  PYTHONDONTWRITEBYTECODE: '1',
};
const pythonReady = spawnSync(PYTHON, ['-c', 'import lmdb, msgpack, lz4.block, numpy, imgstore'], { stdio: 'ignore', env: pythonEnv }).status === 0;
const CASE_TIMEOUT_MS = 30_000;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    'cli-every': { type: 'string', default: '10' },
    'per-child': { type: 'string', default: '100' },
    parallel: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'typescript,lmdb-js' },
    child: { type: 'string' },
  },
});

// ---------------------------------------------------------------- the stores and their pixels

const pixelsOf = (index, length) => {
  const out = new Uint8Array(length);
  let x = (index + 1) * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};
const BASES = {
  // Fixed shape, raw, labeled: records of 1728 bytes, several leaf pages.
  fixed: { count: 24, codec: 'raw', shape: [24, 24, 3], labelNames: ['a', 'b', 'c'], recordShape: () => [24, 24, 3] },
  // Variable size, lz4: records of differing shapes, some on overflow pages.
  variable: { count: 10, codec: 'lz4', shape: [0, 0, 3], labelNames: null, recordShape: (i) => [20 + 3 * i, 30 + 5 * (i % 4), 3] },
};

async function writeBase(path, base) {
  const { createStoreWriter } = await import('@imgstore/store');
  const writer = createStoreWriter(path, {
    shape: base.shape,
    codec: base.codec,
    labelNames: base.labelNames,
    ...(base.shape[0] === 0 ? { maxSampleBytes: 80 * 80 * 3 } : {}),
  });
  for (let i = 0; i < base.count; i++) {
    const shape = base.recordShape(i);
    const label = base.labelNames ? i % base.labelNames.length : null;
    await writer.append({ name: `${i}.png`, label, shape, dtype: 'uint8', data: pixelsOf(i, shape[0] * shape[1] * shape[2]) });
  }
  await writer.finish();
}

// ---------------------------------------------------------------- mutations

const HEADER_FIELDS = ['format', 'version', 'codec', 'count', 'shape', 'maxSampleBytes', 'dtype', 'layout', 'colorSpace', 'labelNames', 'rejected', 'labelCounts', 'provenance'];
const VALUE_KINDS = ['wrong-type', 'negative', 'zero', 'huge', 'NaN', 'missing', 'nested', 'plus-one', 'big-shape'];

function mutatedValue(kind, current, rand) {
  switch (kind) {
    case 'wrong-type': return typeof current === 'string' ? 7 : 'seven';
    case 'negative': return Array.isArray(current) ? current.map((v) => (typeof v === 'number' ? -v - 1 : v)) : -1 - (rand % 1000);
    case 'zero': return Array.isArray(current) ? current.map(() => 0) : 0;
    case 'huge': return [2 ** 31, 2 ** 32 + 5, 2 ** 53, 1e300, Infinity][rand % 5];
    case 'NaN': return NaN;
    case 'nested': return [current, { value: current }][rand % 2];
    case 'plus-one': return Array.isArray(current) ? current.map((v) => (typeof v === 'number' ? v + 1 : v)) : typeof current === 'number' ? current + 1 + (rand % 100_000) : `${current}x`;
    case 'big-shape': return [[30000, 30000, 3], [65535, 65535, 4], [4000, 4000, 3], [1, 1, 1], [24, 24, 4]][rand % 5];
  }
  return undefined;
}

/** Applies a case to the store at `path` (a fresh copy of its base). */
async function applyMutation(path, mutation) {
  const dataFile = join(path, 'data.mdb');
  if (mutation.type === 'header') {
    const { open } = await import('lmdb');
    const { packPlain, unpackPlain } = await import('@imgstore/codec');
    const env = open({ path, noSubdir: false, maxDbs: 8, noSync: true }); // a throwaway copy: no fsync
    const meta = env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
    const header = unpackPlain(meta.getBinary(Buffer.from('header')));
    const field = mutation.field;
    if (mutation.kind === 'missing') delete header[field];
    else header[field] = mutatedValue(mutation.kind, header[field], mutation.rand);
    const bytes = packPlain(header);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(bytes), 0);
    env.transactionSync(() => {
      meta.putSync(Buffer.from('header'), bytes);
      // kept: a writer's bug, sealed; dropped: a store from before the checksum; stale: an edit.
      if (mutation.crc === 'kept') meta.putSync(Buffer.from('header-crc32'), crc);
      else if (mutation.crc === 'dropped') meta.removeSync(Buffer.from('header-crc32'));
    });
    await env.close();
  } else if (mutation.type === 'flip') {
    const bytes = readFileSync(dataFile);
    const pageSize = bytes.readUInt32LE(40) || 4096;
    const pages = Math.floor(bytes.length / pageSize);
    // meta: the page holding the header; records: any page past LMDB's two meta pages.
    const headerAt = bytes.indexOf(Buffer.from('provenance'));
    const page = mutation.where === 'meta' && headerAt >= 0 ? Math.floor(headerAt / pageSize) : 2 + (mutation.page % Math.max(1, pages - 2));
    for (const [offset, bit] of mutation.flips) {
      const at = page * pageSize + (offset % pageSize);
      if (at < bytes.length) bytes[at] ^= 1 << bit;
    }
    writeFileSync(dataFile, bytes);
  } else if (mutation.type === 'truncate') {
    const size = readFileSync(dataFile).length;
    truncateSync(dataFile, Math.floor(size * mutation.fraction));
  }
}

function caseArbitrary(fc) {
  const header = fc.record({
    type: fc.constant('header'),
    field: fc.constantFrom(...HEADER_FIELDS),
    kind: fc.constantFrom(...VALUE_KINDS),
    crc: fc.constantFrom('kept', 'dropped', 'stale'),
    rand: fc.nat(),
  });
  const flip = fc.record({
    type: fc.constant('flip'),
    where: fc.constantFrom('meta', 'records'),
    page: fc.nat(),
    flips: fc.array(fc.tuple(fc.nat(65535), fc.nat(7)), { minLength: 1, maxLength: 8 }),
  });
  const truncate = fc.record({ type: fc.constant('truncate'), fraction: fc.double({ min: 0, max: 0.999, noNaN: true }) });
  return fc.record({ base: fc.constantFrom(...Object.keys(BASES)), mutation: fc.oneof({ weight: 5, arbitrary: header }, { weight: 3, arbitrary: flip }, { weight: 1, arbitrary: truncate }) });
}

// ---------------------------------------------------------------- the child: runs cases, reports findings

// Makes require('lmdb') fail as on a platform without its binary: the CLI then reads with the TypeScript engine.
const HIDE_LMDB = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'lmdb') throw Object.assign(new Error("Cannot find module 'lmdb'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`;

function runCommand(command, argv, env = process.env) {
  // /usr/bin/time -f: the command's peak RSS on the last stderr line.
  const run = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', command, ...argv], { encoding: 'utf8', timeout: CASE_TIMEOUT_MS, killSignal: 'SIGKILL', env });
  const lines = (run.stderr ?? '').trimEnd().split('\n');
  const rss = /^maxrss=(\d+)$/.exec(lines.at(-1) ?? '');
  if (rss) lines.pop();
  const signal = run.signal ?? (/Command terminated by signal (\d+)/.exec(lines.at(-1) ?? '')?.[1] ? `signal ${/Command terminated by signal (\d+)/.exec(lines.at(-1))[1]}` : null);
  if (lines.length && /^Command (terminated|exited)/.test(lines.at(-1))) lines.pop();
  return { code: run.status, signal, stderr: lines.join('\n'), stdout: run.stdout ?? '', rssMb: rss ? Number(rss[1]) / 1024 : 0, timedOut: run.error?.code === 'ETIMEDOUT' };
}

async function child(spec) {
  const { cases, bases, tmp, cliEvery, engines } = JSON.parse(spec);
  const core = await import('@imgstore/core');
  const { openStore } = await import('@imgstore/store');
  const { DataLoader } = await import('@imgstore/dataset');
  const { registerBuiltInCodecs } = await import('@imgstore/convert/internal');
  registerBuiltInCodecs();
  const findings = [];
  const engineDiffs = [];
  const hideLmdb = join(tmp, 'hide-lmdb.cjs');
  writeFileSync(hideLmdb, HIDE_LMDB);
  const withoutLmdb = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${hideLmdb}`.trim() };
  let cliCases = 0;
  let maxChildRss = 0;
  const typed = (error) => error instanceof core.ImgstoreError;
  for (const { id, base, mutation } of cases) {
    const path = join(tmp, `case-${id}.lmdb`);
    rmSync(path, { recursive: true, force: true });
    cpSync(bases[base], path, { recursive: true });
    const found = (step, what) => findings.push({ id, base, mutation, step, what: String(what).slice(0, 400) });
    try {
      await applyMutation(path, mutation);
    } catch (error) {
      found('mutate', error?.stack ?? error);
      continue;
    }
    process.stdout.write(`case ${id}\n`);
    const withCli = id % cliEvery === 0;
    const spec = BASES[base];
    // open, get: the pixels written, or a typed error; with each engine. `outcome` is what each engine did.
    const outcomes = {};
    for (const engine of engines) {
    const outcome = (outcomes[engine] = []);
    const at = (step) => `${step} (${engine})`;
    let store = null;
    try {
      store = openStore(path, { engine });
      outcome.push('open');
    } catch (error) {
      outcome.push(`open: ${error?.name} ${error?.reason ?? ''}`.trim());
      if (!typed(error)) found(at('open'), error?.stack ?? error);
    }
    if (store) {
      for (let i = 0; i < Math.min(store.length, spec.count + 2); i++) {
        try {
          const sample = store.get(i);
          const shape = spec.recordShape(i);
          const want = pixelsOf(i, shape[0] * shape[1] * shape[2]);
          if (!Buffer.from(sample.data).equals(Buffer.from(want))) found(at('get'), `record ${i} read without error but with other pixels`);
          outcome.push(`${i}`);
        } catch (error) {
          outcome.push(`${i}: ${error?.name}`);
          if (!typed(error)) found(at('get'), error?.stack ?? error);
        }
      }
      for (const workers of withCli ? [0, 2] : [0]) {
        let loader = null;
        try {
          loader = new DataLoader(store, { batchSize: 4, workers, shuffle: true, seed: 1, ...(base === 'variable' ? { augment: { crop: [16, 16] } } : {}) });
          for await (const batch of loader) void batch;
        } catch (error) {
          if (!typed(error)) found(at(`epoch-${workers}-workers`), error?.stack ?? error);
        } finally {
          await loader?.close().catch(() => undefined);
        }
      }
      await store.close();
    }
    }
    const [first, ...others] = Object.values(outcomes);
    if (others.some((o) => o.join('|') !== first.join('|'))) engineDiffs.push({ id, base, mutation, outcomes });
    if (withCli) {
      cliCases++;
      const out = join(tmp, `export-${id}`);
      // Every other CLI case without lmdb-js: the CLI reads through the TypeScript engine.
      const env = cliCases % 2 === 0 ? withoutLmdb : process.env;
      const runs = {
        info: runCommand(process.execPath, [cliBin, 'info', path], env),
        verify: runCommand(process.execPath, [cliBin, 'verify', path, '-q'], env),
        export: runCommand(process.execPath, [cliBin, 'export', path, out, '-q'], env),
        ...(pythonReady ? { python: runCommand(PYTHON, ['-m', 'imgstore.dump', path], pythonEnv) } : {}),
      };
      rmSync(out, { recursive: true, force: true });
      // A finished store is read by the TypeScript engine with lmdb-js or without it (openStore's 'auto').
      if (runs.info.code === 0 && !runs.info.stdout.includes('engine      typescript')) found('info', `did not read with the typescript engine: ${runs.info.stdout}`);
      for (const [step, run] of Object.entries(runs)) {
        maxChildRss = Math.max(maxChildRss, run.rssMb);
        const prefix = 'imgstore: ';
        if (run.timedOut) found(step, `no result within ${CASE_TIMEOUT_MS} ms`);
        else if (run.signal) found(step, `killed by ${run.signal}: ${run.stderr}`);
        else if (run.rssMb > RSS_LIMIT_MB) found(step, `peak RSS ${run.rssMb.toFixed(0)} MB`);
        else if (run.code !== 0) {
          const lines = run.stderr.trim().split('\n');
          if (run.code !== 1 || lines.length !== 1 || !lines[0].startsWith(prefix) || /unexpected error/.test(lines[0])) {
            found(step, `exit ${run.code}: ${run.stderr}`);
          }
        }
      }
    }
    rmSync(path, { recursive: true, force: true });
  }
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`result ${JSON.stringify({ findings, engineDiffs, cliCases, maxRssMb, maxChildRssMb: maxChildRss })}\n`);
}

// ---------------------------------------------------------------- the parent: makes cases, runs children

/** Peak RSS of a running process in MB, from /proc (0 where there is no /proc). */
function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function runChild(spec) {
  return new Promise((resolvePromise) => {
    const proc = spawn(process.execPath, ['--max-old-space-size=512', fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let lastCase = null;
    let killed = null;
    let deadline = Date.now() + CASE_TIMEOUT_MS * 3;
    proc.stdout.on('data', (chunk) => {
      stdout += chunk;
      const cases = [...stdout.matchAll(/^case (\d+)$/gm)];
      const latest = cases.at(-1)?.[1];
      if (latest !== undefined && latest !== lastCase) {
        lastCase = latest;
        deadline = Date.now() + CASE_TIMEOUT_MS * 5; // the CLI steps have their own timeout each
      }
    });
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    const watch = setInterval(() => {
      const rss = rssMb(proc.pid);
      if (rss > RSS_LIMIT_MB) killed = `peak RSS ${rss.toFixed(0)} MB during case ${lastCase}`;
      else if (Date.now() > deadline) killed = `case ${lastCase} did not finish in time`;
      if (killed) proc.kill('SIGKILL');
    }, 100);
    proc.on('close', (code, signal) => {
      clearInterval(watch);
      const line = /^result (.*)$/m.exec(stdout);
      if (line) return resolvePromise(JSON.parse(line[1]));
      const what = killed ?? `child exited with ${signal ?? code} during case ${lastCase}: ${stderr.slice(-600)}`;
      const id = Number(lastCase);
      const c = spec.cases.find((x) => x.id === id);
      resolvePromise({ findings: [{ id, base: c?.base, mutation: c?.mutation, step: 'process', what }], engineDiffs: [], cliCases: 0, maxRssMb: 0, crashedAt: id });
    });
  });
}

async function parent() {
  const runs = Number(args.runs);
  const seed = Number(args.seed);
  const cliEvery = Math.max(1, Number(args['cli-every']));
  const perChild = Math.max(1, Number(args['per-child']));
  const parallel = Math.max(1, Number(args.parallel));
  const engines = args.engines.split(',');
  const started = performance.now();
  const fc = (await import('fast-check')).default;
  const tmp = mkdtempSync(join(tmpdir(), 'imgstore-fuzz-'));
  try {
    const bases = {};
    for (const [name, base] of Object.entries(BASES)) {
      bases[name] = join(tmp, `base-${name}.lmdb`);
      await writeBase(bases[name], base);
    }
    const generated = fc.sample(caseArbitrary(fc), { seed, numRuns: runs });
    const all = generated.map((c, id) => ({ id, ...c }));
    const chunks = [];
    for (let i = 0; i < all.length; i += perChild) chunks.push(all.slice(i, i + perChild));
    const findings = [];
    const engineDiffs = [];
    let cliCases = 0;
    let maxRssMb = 0;
    let ran = 0;
    // A child that dies takes its remaining cases with it: they are re-run in a fresh child.
    const queue = [...chunks];
    const worker = async () => {
      while (queue.length) {
        const cases = queue.shift();
        const result = await runChild({ cases, bases, tmp, cliEvery, engines });
        findings.push(...result.findings);
        engineDiffs.push(...result.engineDiffs);
        cliCases += result.cliCases;
        maxRssMb = Math.max(maxRssMb, result.maxRssMb, result.maxChildRssMb ?? 0);
        if (result.crashedAt !== undefined) {
          const rest = cases.filter((c) => c.id > result.crashedAt);
          ran += cases.length - rest.length;
          if (rest.length) queue.push(rest);
        } else ran += cases.length;
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    const seconds = (performance.now() - started) / 1000;
    const summary = { cases: ran, cliCases, seed, cliEvery, python: pythonReady, engines, findings: findings.length, engineDiffs: engineDiffs.length, seconds: Number(seconds.toFixed(1)), maxRssMb: Math.round(maxRssMb) };
    console.log(
      `fuzz-stores: ${ran} cases (seed ${seed}) in ${summary.seconds} s, peak RSS ${summary.maxRssMb} MB; ` +
        `the CLI${pythonReady ? ', the Python reader' : ' (Python reader skipped: /usr/bin/python3 lacks lmdb, msgpack, lz4, numpy)'} ` +
        `and a 2-worker epoch on every ${cliEvery}th case: ${cliCases} cases`,
    );
    for (const f of findings.slice(0, 20)) console.log(`finding: ${JSON.stringify(f)}`);
    for (const d of engineDiffs.slice(0, 20)) console.log(`engine-diff: ${JSON.stringify(d)}`);
    console.log(JSON.stringify(summary));
    return findings.length ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (args.child !== undefined) await child(args.child);
else process.exitCode = await parent();
