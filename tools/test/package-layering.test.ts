import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test-support/index.js';

/** DESIGN.md's table: what each package may depend on at run time. */
const allowed: Record<string, string[]> = {
  core: [],
  // image also provides the "jpeg" codec: records framed by @imgstore/codec, pixels by libjpeg-turbo.
  image: ['@imgstore/core', '@imgstore/codec', 'sharp', '@julusian/jpeg-turbo'],
  codec: ['@imgstore/core', 'msgpackr', 'lz4-napi'],
  store: ['@imgstore/core', '@imgstore/codec', 'lmdb'],
  dataset: ['@imgstore/core'],
  convert: ['@imgstore/core', '@imgstore/codec', '@imgstore/codec-jpeg', '@imgstore/image', '@imgstore/store'],
  cli: ['@imgstore/core', '@imgstore/image', '@imgstore/codec', '@imgstore/store', '@imgstore/convert', '@imgstore/dataset', 'commander', 'cli-progress'],
};

/**
 * Optional native speed-ups, outside DESIGN's table: a package loads them when they are installed and
 * falls back to identical pure code otherwise (store's fallback is tested in crc32-fallback.test.ts).
 */
const accelerators: Record<string, string[]> = {
  store: ['@node-rs/crc32'],
};

const packagesDir = join(repoRoot, 'packages');
const manifests = readdirSync(packagesDir).map((dir) => ({
  dir,
  pkg: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')),
}));

describe('package layering', () => {
  it('knows every package folder', () => {
    expect(manifests.map((m) => m.dir).sort()).toEqual(Object.keys(allowed).sort());
  });

  it.each(manifests)('$dir depends only on what its row allows', ({ dir, pkg }) => {
    const runtime = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    const outside = runtime.filter((name) => !allowed[dir]!.includes(name));
    expect(outside, `${pkg.name} depends on ${outside.join(', ')}`).toEqual([]);
    const optional = Object.keys({ ...pkg.optionalDependencies });
    const unexpected = optional.filter((name) => !allowed[dir]!.includes(name) && !(accelerators[dir] ?? []).includes(name));
    expect(unexpected, `${pkg.name} optionally depends on ${unexpected.join(', ')}`).toEqual([]);
  });

  it.each(manifests)('$dir imports nothing it does not declare', ({ dir, pkg }) => {
    const declared = new Set(Object.keys({ ...pkg.dependencies }));
    const srcDir = join(packagesDir, dir, 'src');
    const imported = new Set<string>();
    for (const file of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(srcDir, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '([^'.][^']*)'/g)) {
        if (spec!.startsWith('node:')) continue;
        imported.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
      }
    }
    expect([...imported].filter((name) => !declared.has(name))).toEqual([]);
  });

  it.each(manifests)('$dir is publishable: exports (types first), files, engines, sideEffects, version', ({ pkg }) => {
    const root = pkg.exports['.'];
    expect(Object.keys(root.import)[0]).toBe('types');
    expect(Object.keys(root.require)[0]).toBe('types');
    expect(pkg.exports['./package.json']).toBe('./package.json');
    expect(pkg.files).toContain('dist');
    expect(pkg.engines.node).toMatch(/^>=20/);
    expect(pkg.sideEffects === false || Array.isArray(pkg.sideEffects)).toBe(true);
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
