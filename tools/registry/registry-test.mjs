#!/usr/bin/env node
// Release for real: publish every package with `nx release publish` to a local Verdaccio registry, then
// install them by name into empty projects, as a user would. Runs after `npm test` in CI (npm run test:registry).
//
// The release steps run in a throwaway clone of this repository (never in it): the clone gets the working
// tree's files, the repository's node_modules (a symlink) and its built dist folders, so nothing is installed
// or rebuilt there. Verdaccio proxies third-party packages to the public npm registry; @imgstore/* come only
// from what this script publishes.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const MINUTE = 60_000;
const FORBIDDEN = ['sharp', 'cmake-js', 'node-gyp', 'prebuild-install'];

const tmp = mkdtempSync(join(tmpdir(), 'imgstore-registry-'));
const children = new Set();
let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) child.kill('SIGKILL');
  if (!process.env.IMGSTORE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Runs a command with a time limit; resolves with its output, rejects on a non-zero exit or the limit. */
function run(command, args, { cwd = repo, env = {}, timeout = 5 * MINUTE, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const shown = `$ ${command} ${args.join(' ')}  (in ${cwd})`;
      if (code === 0) {
        if (!quiet && stdout.trim()) console.log(indent(stdout.trim()));
        resolve({ stdout, stderr });
      } else {
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` (time limit ${timeout / 1000} s)` : ''}` : `exit ${code}`;
        reject(new Error(`${shown}: ${why}\n${indent(`${stdout}\n${stderr}`.trim())}`));
      }
    });
  });
}
const indent = (text) => text.replace(/^/gm, '    ');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startVerdaccio() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = join(tmp, 'verdaccio');
  mkdirSync(dir);
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      'auth:',
      `  htpasswd: { file: ${JSON.stringify(join(dir, 'htpasswd'))}, max_users: 10 }`,
      'uplinks:',
      '  npmjs: { url: https://registry.npmjs.org/, timeout: 60s, maxage: 30m }',
      'packages:',
      // No proxy: an @imgstore package exists here only if this script published it.
      "  '@imgstore/*': { access: $all, publish: $authenticated, unpublish: $authenticated }",
      "  '**': { access: $all, publish: $authenticated, proxy: npmjs }",
      'server: { keepAliveTimeout: 60 }',
      'web: { enable: false }',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = join(repo, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  const child = spawn(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + MINUTE;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Verdaccio exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}/-/ping`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`Verdaccio did not answer on ${url} within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // htpasswd adds the user on this first PUT and answers with a token.
  const name = 'imgstore-release';
  const response = await fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `pw-${process.pid}-${Date.now()}`, type: 'user' }),
  });
  const { token } = await response.json();
  if (!response.ok || !token) throw new Error(`Verdaccio refused to create a user: HTTP ${response.status}`);
  const npmrc = join(tmp, '.npmrc');
  writeFileSync(npmrc, `registry=${url}/\n//127.0.0.1:${port}/:_authToken=${token}\nfund=false\naudit=false\nupdate-notifier=false\n`);
  console.log(`Verdaccio ${url} (storage in a temp dir; uplink https://registry.npmjs.org/ for everything but @imgstore/*)`);
  return { url, env: { NPM_CONFIG_USERCONFIG: npmrc, NPM_CONFIG_REGISTRY: `${url}/`, NPM_CONFIG_CACHE: join(tmp, 'npm-cache') } };
}

/**
 * A clone of the repository holding the working tree's files (or with --head, its last commit), committed. Its node_modules is a folder of
 * links to the repository's (third-party packages: nothing is installed) with @imgstore/* linked to the
 * clone's own packages, so the clone builds and publishes its own sources.
 */
async function makeClone() {
  const clone = join(tmp, 'clone');
  await run('git', ['clone', '--quiet', '--no-hardlinks', repo, clone], { quiet: true });
  const git = (...args) => run('git', args, { cwd: clone, quiet: true });
  // --head: the last commit only (the working tree may hold someone's unfinished edits).
  const overlay = process.argv.includes('--head') ? [] : (await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { quiet: true })).stdout.split('\0');
  for (const file of overlay.filter(Boolean)) {
    const from = join(repo, file);
    if (existsSync(from)) cpSync(from, join(clone, file));
    else rmSync(join(clone, file), { force: true }); // deleted in the working tree
  }
  const modules = join(clone, 'node_modules');
  mkdirSync(join(modules, '@imgstore'), { recursive: true });
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry !== '@imgstore' && entry !== '.cache') symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
  }
  for (const name of readdirSync(join(clone, 'packages'))) {
    symlinkSync(join('..', '..', 'packages', name), join(modules, '@imgstore', name));
    const nested = join(repo, 'packages', name, 'node_modules');
    if (existsSync(nested)) symlinkSync(nested, join(clone, 'packages', name, 'node_modules'));
  }
  await git('config', 'user.name', 'imgstore registry test');
  await git('config', 'user.email', 'registry-test@example.invalid');
  await git('add', '-A');
  if ((await git('status', '--porcelain')).stdout.trim()) await git('commit', '--quiet', '-m', 'chore: working tree under test');
  return clone;
}

const NX_BIN = join('node_modules', 'nx', JSON.parse(readFileSync(join(repo, 'node_modules', 'nx', 'package.json'), 'utf8')).bin.nx);
const NX_ENV = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'true', CI: 'true' };
const nx = (clone, args, env, { timeout = 5 * MINUTE, quiet = false } = {}) =>
  run(process.execPath, [join(clone, NX_BIN), ...args], { cwd: clone, env: { ...NX_ENV, ...env }, timeout, quiet });

/** An empty project with `npm install <packages>` from the local registry. */
async function install(name, packages, registry) {
  const app = join(tmp, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, version: '0.0.0' }, null, 2));
  await run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packages], { cwd: app, env: registry.env, timeout: 10 * MINUTE, quiet: true });
  return app;
}

/** du-style size (allocated blocks) and the package folders of node_modules, nested ones included. */
function measure(modules) {
  let bytes = 0;
  const packages = [];
  const walk = (dir, depthInModules) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const stat = lstatSync(path);
      bytes += (stat.blocks ?? Math.ceil(stat.size / 512)) * 512;
      if (!entry.isDirectory()) continue;
      if (depthInModules === 1 && entry.name.startsWith('@')) walk(path, 1);
      else {
        if (depthInModules === 1 && existsSync(join(path, 'package.json'))) {
          const { name, version } = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
          packages.push({ name: name ?? entry.name, version, path });
        }
        walk(path, entry.name === 'node_modules' ? 1 : 0);
      }
    }
  };
  walk(modules, 1);
  return { mb: bytes / 1024 / 1024, packages };
}

const sizes = [];
function report(label, app) {
  const { mb, packages } = measure(join(app, 'node_modules'));
  sizes.push({ label, mb, count: packages.length });
  console.log(`    node_modules: ${mb.toFixed(1)} MB, ${packages.length} packages`);
  return packages;
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Expected record counts, shapes and labels, from the repository's own reader. */
async function expectations(clone, stores) {
  const script = `
    import { openStore } from '@imgstore/store';
    const out = {};
    for (const [codec, path] of Object.entries(JSON.parse(process.argv[1]))) {
      const s = openStore(path);
      const first = s.get(0), last = s.get(s.length - 1);
      out[codec] = { length: s.length, first: { name: first.name, label: first.label, shape: first.shape }, last: { name: last.name, label: last.label, shape: last.shape } };
      await s.close();
    }
    console.log(JSON.stringify(out));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(stores)], { cwd: join(clone, 'packages', 'cli'), quiet: true });
  return JSON.parse(stdout);
}

// The reader script a user writes; `require` or `import` is the only difference between the two flavours.
const READER_BODY = `
  const path = process.argv[2];
  const store = openStore(path);
  const first = store.get(0), last = store.get(store.length - 1);
  const sum = (s) => s.data.reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ length: store.length, first: { name: first.name, label: first.label, shape: first.shape }, last: { name: last.name, label: last.label, shape: last.shape }, bytes: first.data.length, sum: sum(first) }));
  await store.close();`;

async function readWith(app, file, store) {
  const { stdout } = await run(process.execPath, [file, store], { cwd: app, quiet: true, timeout: MINUTE });
  return JSON.parse(stdout);
}

function checkRead(got, want, what) {
  const pick = ({ length, first, last }) => ({ length, first, last });
  assert(JSON.stringify(pick(got)) === JSON.stringify(pick(want)), `${what}: read ${JSON.stringify(pick(got))}, the repository's reader ${JSON.stringify(want)}`);
  const [h, w, c] = got.first.shape;
  assert(got.bytes === h * w * c && got.sum > 0, `${what}: sample 0 has ${got.bytes} bytes for shape ${got.first.shape}`);
  console.log(`    ${what}: ${got.length} records; ${got.first.name} ${got.first.shape.join('x')} label ${got.first.label}`);
}

const results = [];
async function step(name, body) {
  const started = Date.now();
  console.log(`\n== ${name}`);
  try {
    await body();
    results.push({ name, ok: true, seconds: (Date.now() - started) / 1000 });
  } catch (error) {
    console.log(indent(String(error?.message ?? error)));
    results.push({ name, ok: false, seconds: (Date.now() - started) / 1000 });
  }
}

async function main() {
  const started = Date.now();
  let registry;
  let clone;
  const stores = {};
  const packageNames = readdirSync(join(repo, 'packages')).filter((name) => existsSync(join(repo, 'packages', name, 'package.json')));

  await step('clone the working tree and build every package there', async () => {
    const cloned = await makeClone();
    await nx(cloned, ['run-many', '-t', 'build', '--output-style=static'], {}, { timeout: 15 * MINUTE, quiet: true });
    clone = cloned;
  });
  if (!clone) return finish(started);
  await step("write raw, lz4 and jpeg stores with the clone's CLI", async () => {
    for (const codec of ['raw', 'lz4', 'jpeg']) {
      const path = join(tmp, `${codec}.lmdb`);
      await run(process.execPath, ['packages/cli/dist/bin.js', 'convert', 'samples/images', path, '--codec', codec, '-q'], { cwd: clone, timeout: 3 * MINUTE });
      stores[codec] = path;
    }
  });
  await step('start Verdaccio on 127.0.0.1 and publish every package with `nx release publish`', async () => {
    registry = await startVerdaccio();
    await nx(clone, ['release', 'publish', `--registry=${registry.url}`, '--output-style=static'], registry.env, { timeout: 10 * MINUTE, quiet: true });
    for (const name of packageNames) {
      const { name: pkg, version } = JSON.parse(readFileSync(join(clone, 'packages', name, 'package.json'), 'utf8'));
      const { stdout } = await run(npm, ['view', `${pkg}@${version}`, 'version'], { cwd: tmp, env: registry.env, quiet: true });
      assert(stdout.trim() === version, `${pkg}@${version} is not on the registry after publishing`);
    }
    console.log(`    published ${packageNames.length} packages`);
  });
  if (!results.at(-1).ok) return finish(started); // nothing was published
  const expected = !stores.lz4 ? null : await expectations(clone, { raw: stores.raw, lz4: stores.lz4 }).catch((error) => {
    console.log(indent(`the repository's reader failed: ${error.message}`));
    return null;
  });

  await step('a. npm install @imgstore/store; read a raw and an lz4 store from ESM and CommonJS', async () => {
    const app = await install('app-store', ['@imgstore/store'], registry);
    const packages = report('@imgstore/store', app);
    const found = packages.filter((p) => FORBIDDEN.includes(p.name) || p.name.startsWith('@img/'));
    assert(found.length === 0, `installing @imgstore/store brought ${found.map((p) => p.name).join(', ')}`);
    assert(stores.raw && stores.lz4, 'no raw and lz4 stores to read (the CLI failed to write them)');
    writeFileSync(join(app, 'read.mjs'), `import { openStore } from '@imgstore/store';\n${READER_BODY}\n`);
    writeFileSync(join(app, 'read.cjs'), `const { openStore } = require('@imgstore/store');\n(async () => {${READER_BODY}\n})();\n`);
    for (const codec of ['raw', 'lz4']) {
      for (const file of ['read.mjs', 'read.cjs']) {
        const got = await readWith(app, file, stores[codec]);
        if (expected) checkRead(got, expected[codec], `${codec} store, ${file}`);
        else throw new Error('no expectations from the repository reader');
      }
    }
  });

  await step('b. npm install @imgstore/store @imgstore/codec-jpeg; read a jpeg store; no sharp, @img/*, or build tool', async () => {
    const app = await install('app-jpeg', ['@imgstore/store', '@imgstore/codec-jpeg'], registry);
    const packages = report('@imgstore/store @imgstore/codec-jpeg', app);
    const found = packages.filter((p) => FORBIDDEN.includes(p.name) || p.name.startsWith('@img/'));
    assert(found.length === 0, `node_modules holds ${found.map((p) => `${p.name} (${p.path.slice(app.length + 1)})`).join(', ')}`);
    writeFileSync(
      join(app, 'read.mjs'),
      `import { openStore } from '@imgstore/store';\nimport { registerJpegCodec } from '@imgstore/codec-jpeg';\nregisterJpegCodec();\n${READER_BODY}\n`,
    );
    assert(stores.jpeg, 'no jpeg store to read (the CLI failed to write it)');
    const got = await readWith(app, 'read.mjs', stores.jpeg);
    const [h, w, c] = got.first.shape;
    assert(got.length > 0 && c === 3 && got.bytes === h * w * c, `jpeg store read as ${JSON.stringify(got)}`);
    console.log(`    jpeg store: ${got.length} records; ${got.first.name} ${got.first.shape.join('x')} label ${got.first.label}`);
  });

  await step('c. npm install @imgstore/cli; npx imgstore convert, info, verify', async () => {
    const app = await install('app-cli', ['@imgstore/cli'], registry);
    report('@imgstore/cli', app);
    const out = join(app, 'out.lmdb');
    for (const args of [['convert', join(repo, 'samples', 'images'), out, '-q'], ['info', out], ['verify', out]]) {
      await run(npm, ['exec', '--no', '--', 'imgstore', ...args], { cwd: app, env: registry.env, timeout: 3 * MINUTE, quiet: args[0] === 'convert' });
    }
  });

  await step('d. patch release of @imgstore/codec-jpeg alone (conventional commit, nx release, publish); fresh install', async () => {
    const project = '@imgstore/codec-jpeg';
    const git = (...args) => run('git', args, { cwd: clone, quiet: true });
    // The first release is on the registry: record it with the tags nx release would have made.
    for (const name of packageNames) {
      const { name: pkg, version } = JSON.parse(readFileSync(join(clone, 'packages', name, 'package.json'), 'utf8'));
      await git('tag', `${pkg}@${version}`);
    }
    const readme = join(clone, 'packages', 'codec-jpeg', 'README.md');
    writeFileSync(readme, `${existsSync(readme) ? readFileSync(readme, 'utf8') : ''}\n<!-- registry test: a patch -->\n`);
    await git('add', readme);
    await git('commit', '--quiet', '-m', 'fix(codec-jpeg): a patch made by the registry test');
    const versionsBefore = Object.fromEntries(packageNames.map((n) => [n, JSON.parse(readFileSync(join(clone, 'packages', n, 'package.json'), 'utf8')).version]));
    await nx(clone, ['release', '--projects', project, '--skip-publish'], registry.env);
    await nx(clone, ['release', 'publish', '--projects', project, `--registry=${registry.url}`, '--output-style=static'], registry.env, { quiet: true });
    for (const name of packageNames) {
      const version = JSON.parse(readFileSync(join(clone, 'packages', name, 'package.json'), 'utf8')).version;
      const want = name === 'codec-jpeg' ? '0.1.1' : versionsBefore[name];
      assert(version === want, `packages/${name} is at ${version} after the patch release; expected ${want}`);
    }
    const tags = (await git('tag', '--list', `${project}@*`)).stdout.trim().split('\n');
    assert(tags.includes(`${project}@0.1.1`), `no tag ${project}@0.1.1 (tags: ${tags.join(', ')})`);
    const changelog = readFileSync(join(clone, 'packages', 'codec-jpeg', 'CHANGELOG.md'), 'utf8');
    assert(changelog.includes('0.1.1') && changelog.includes('a patch made by the registry test'), `CHANGELOG.md:\n${changelog}`);
    console.log(`    tag ${project}@0.1.1; packages/codec-jpeg/CHANGELOG.md:\n${indent(changelog.trim().split('\n').slice(0, 8).join('\n'))}`);
    const app = await install('app-patched', ['@imgstore/store', project], registry);
    report('@imgstore/store @imgstore/codec-jpeg after the patch', app);
    const version = (name) => JSON.parse(readFileSync(join(app, 'node_modules', '@imgstore', name, 'package.json'), 'utf8')).version;
    assert(version('codec-jpeg') === '0.1.1' && version('store') === versionsBefore.store, `fresh install resolved codec-jpeg ${version('codec-jpeg')}, store ${version('store')}`);
    console.log(`    fresh install: @imgstore/codec-jpeg ${version('codec-jpeg')}, @imgstore/store ${version('store')}`);
  });
  finish(started);
}

function finish(started) {
  console.log('\n== install sizes (node_modules on disk, package folders incl. nested)');
  for (const { label, mb, count } of sizes) console.log(`  ${label.padEnd(56)} ${mb.toFixed(1).padStart(6)} MB ${String(count).padStart(4)} packages`);
  console.log('\n== steps');
  for (const { name, ok, seconds } of results) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${seconds.toFixed(0).padStart(4)} s  ${name}`);
  console.log(`  total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

// A hard limit for the whole run, whatever hangs.
setTimeout(() => {
  console.error('registry test: over 30 minutes, giving up');
  process.exit(1);
}, 30 * MINUTE).unref();
main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
