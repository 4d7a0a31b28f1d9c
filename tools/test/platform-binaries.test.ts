import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, repoRoot } from '../test-support/index.js';

// What a reader install (`npm install @imgstore/store @imgstore/codec-jpeg`) pulls on each platform that
// is not this one, as `npm install --os --cpu` resolves it from the registry (scripts off: download only),
// and whether each native package gets that platform's binary. Every native package must have it, or be
// optional with a pure-JS replacement. Needs the npm registry; skipped (and said so) when it is unreachable.
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PLATFORMS = [
  { os: 'darwin', cpu: 'arm64' },
  { os: 'darwin', cpu: 'x64' },
  { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  { os: 'win32', cpu: 'x64' },
] as const;

/** Native packages the reader may pull, and what replaces each where its binary is missing. */
const FALLBACKS: Record<string, string | null> = {
  'lz4-napi': null, // a dependency of @imgstore/codec: no fallback, its binary must exist
  '@node-rs/crc32': 'node:zlib crc32 (optional dependency of @imgstore/store)',
  'msgpackr-extract': "msgpackr's JS decoder (optional dependency of msgpackr)",
  lmdb: 'the TypeScript read engine (writing needs `npm rebuild lmdb --build-from-source`)',
};

interface Row {
  platform: string;
  pkg: string;
  binary: boolean;
  /** The platform package(s) for this platform, with (installed) or (not published) / (not installed). */
  detail: string;
  fallback: string | null;
}

let tmp: ReturnType<typeof makeTempDir>;
let tarballs: string[] = [];
let offline: string | null = null;

/** Every installed package folder under `modules`, nested node_modules included. */
function packageDirs(modules: string): string[] {
  const out: string[] = [];
  if (!existsSync(modules)) return out;
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => join(modules, entry, n)) : [join(modules, entry)];
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      out.push(dir);
      out.push(...packageDirs(join(dir, 'node_modules')));
    }
  }
  return out;
}

function hasNodeFile(dir: string, depth = 0): boolean {
  if (depth > 4 || !existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    if (entry.isFile() && entry.name.endsWith('.node')) return true;
    if (entry.isDirectory() && hasNodeFile(join(dir, entry.name), depth + 1)) return true;
  }
  return false;
}

/** Where Node would find `name` from package folder `from` (its own node_modules, then up). */
function resolvePackage(app: string, from: string, name: string): string | undefined {
  for (let dir = from; dir.startsWith(app); dir = join(dir, '..')) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === app) break;
  }
  return undefined;
}

async function published(name: string, version: string): Promise<boolean> {
  try {
    const { stdout } = await run(npm, ['view', `${name}@${version}`, 'version', '--json'], { timeout: 60_000 });
    return stdout.trim().length > 0;
  } catch {
    return false; // E404
  }
}

async function installFor(platform: (typeof PLATFORMS)[number]): Promise<Row[]> {
  const name = `${platform.os}-${platform.cpu}`;
  const app = join(tmp.dir, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `reader-on-${name}`, private: true }));
  const flags = ['--os', platform.os, '--cpu', platform.cpu, ...('libc' in platform ? ['--libc', platform.libc] : [])];
  await run(npm, ['install', ...flags, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: app, timeout: 240_000 });
  const rows: Row[] = [];
  const platformPattern = new RegExp(`[-/]${platform.os}-${platform.cpu}(-|$)`);
  for (const dir of packageDirs(join(app, 'node_modules'))) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.os || pkg.cpu) continue; // a platform package: reported under the package that declares it
    const candidates = Object.keys(pkg.optionalDependencies ?? {}).filter((dep) => platformPattern.test(dep));
    const builds = existsSync(join(dir, 'binding.gyp'));
    if (!candidates.length && !builds && !hasNodeFile(dir)) continue;
    const details: string[] = [];
    let binary = hasNodeFile(dir) && !builds;
    for (const dep of candidates) {
      const found = resolvePackage(app, dir, dep);
      if (found && hasNodeFile(found)) {
        binary = true;
        details.push(`${dep} (installed)`);
      } else {
        details.push(`${dep} (${(await published(dep, pkg.optionalDependencies[dep])) ? 'published, not installed' : 'not published'})`);
      }
    }
    if (!candidates.length) details.push(builds ? 'builds from source (binding.gyp), no platform package' : 'binary inside the package');
    const where = relative(join(app, 'node_modules'), dir);
    // A native package nested inside lmdb's folder serves lmdb alone: it goes (and is replaced) with lmdb.
    const owner = where.startsWith(`lmdb${'/'}`) ? 'lmdb' : pkg.name;
    rows.push({
      platform: name,
      pkg: `${where === pkg.name ? pkg.name : where}@${pkg.version}`,
      binary,
      detail: details.join(', '),
      fallback: owner in FALLBACKS ? (owner === pkg.name ? FALLBACKS[owner]! : `goes with lmdb: ${FALLBACKS.lmdb}`) : `UNKNOWN native package ${pkg.name}`,
    });
  }
  return rows;
}

beforeAll(async () => {
  tmp = makeTempDir('imgstore-platforms-');
  try {
    await run(npm, ['ping', '--loglevel=error'], { timeout: 30_000 });
  } catch (error) {
    offline = (error as Error).message.split('\n')[0]!;
    return;
  }
  const packs = join(tmp.dir, 'packs');
  mkdirSync(packs);
  const workspaces = ['core', 'codec', 'store', 'codec-jpeg'].flatMap((name) => ['-w', `packages/${name}`]);
  await run(npm, ['pack', '--pack-destination', packs, ...workspaces, '--loglevel=error'], { cwd: repoRoot, timeout: 60_000 });
  tarballs = readdirSync(packs).map((name) => join(packs, name));
}, 90_000);
afterAll(() => tmp.cleanup());

describe('native binaries of a reader install on other platforms', () => {
  it('darwin-arm64, darwin-x64, linux-arm64, win32-x64: every native package has its binary or a JS fallback', async (context) => {
    if (offline) {
      console.log(`platform-binaries: skipped, the npm registry is unreachable (${offline})`);
      context.skip();
    }
    expect(tarballs).toHaveLength(4);
    const rows = (await Promise.all(PLATFORMS.map(installFor))).flat();
    const table = [
      ['platform', 'native package', 'binary', 'platform package', 'fallback'],
      ...rows.map((r) => [r.platform, r.pkg, r.binary ? 'yes' : 'NO', r.detail, r.fallback ?? 'none']),
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    console.log(table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n'));

    for (const platform of PLATFORMS) {
      const names = rows.filter((r) => r.platform === `${platform.os}-${platform.cpu}`).map((r) => r.pkg.replace(/@[^@]+$/, ''));
      // The reader's native packages are these four (msgpackr-extract twice: msgpackr's and lmdb's own).
      expect(names).toEqual(expect.arrayContaining(['lz4-napi', '@node-rs/crc32', 'msgpackr-extract', 'lmdb']));
    }
    for (const row of rows) {
      expect(String(row.fallback), `${row.platform} ${row.pkg}`).not.toMatch(/^UNKNOWN/);
      if (!row.binary) expect(row.fallback, `${row.platform} ${row.pkg} has no binary and no fallback`).not.toBeNull();
    }
    // The fallbacks claimed above: optional where declared (lmdb is a dependency that the store loads lazily).
    const modules = join(tmp.dir, 'darwin-arm64', 'node_modules');
    const manifest = (name: string) => JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8'));
    expect(Object.keys(manifest('@imgstore/store').optionalDependencies)).toContain('@node-rs/crc32');
    expect(Object.keys(manifest('msgpackr').optionalDependencies)).toContain('msgpackr-extract');
    // lz4-napi has no fallback: its binary must be there on every platform.
    expect(rows.filter((r) => r.pkg.startsWith('lz4-napi@') && !r.binary)).toEqual([]);
  }, 300_000);
});
