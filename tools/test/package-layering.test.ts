import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test-support/index.js';

interface Row {
  /** Every package this one may declare in `dependencies` (imgstore ones by full name). */
  runtime: string[];
  /** Packages it may declare in `optionalDependencies`, loaded when installed with a pure fallback. */
  optional: string[];
}

/** The table between the layering-table markers of ARCHITECTURE.md, the source of truth for the layers. */
export function readLayeringTable(markdown: string): Map<string, Row> {
  const block = /<!-- layering-table:start -->([\s\S]*?)<!-- layering-table:end -->/.exec(markdown);
  if (!block) throw new Error('ARCHITECTURE.md has no layering table (<!-- layering-table:start --> ... end)');
  const list = (cell: string | undefined) => (cell ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const rows = new Map<string, Row>();
  for (const line of block[1]!.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 4 || cells[0] === 'package' || /^-+$/.test(cells[0]!)) continue;
    const [name, imgstore, thirdParty, optional] = cells;
    rows.set(name!, { runtime: [...list(imgstore).map((p) => `@imgstore/${p}`), ...list(thirdParty)], optional: list(optional) });
  }
  return rows;
}

/**
 * Every package a source file reaches for by name: static imports and re-exports, dynamic `import('x')`
 * (and `typeof import('x')` types, which end up in .d.ts files), `require('x')` and `createRequire(...)('x')`.
 */
export function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\sfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bcreateRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const [, spec] of source.matchAll(pattern)) {
      if (spec!.startsWith('.') || spec!.startsWith('node:') || spec!.startsWith('/')) continue;
      names.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
    }
  }
  return names;
}

const table = readLayeringTable(readFileSync(join(repoRoot, 'ARCHITECTURE.md'), 'utf8'));
const packagesDir = join(repoRoot, 'packages');
const manifests = readdirSync(packagesDir).map((dir) => ({
  dir,
  pkg: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')),
}));

describe('package layering (ARCHITECTURE.md)', () => {
  it('the table has a row for every package folder, and no other', () => {
    expect(manifests.map((m) => m.dir).sort()).toEqual([...table.keys()].sort());
  });

  it('@imgstore/image does not depend on @imgstore/codec (the jpeg codec is a package of its own)', () => {
    const image = manifests.find((m) => m.dir === 'image')!.pkg;
    expect(Object.keys({ ...image.dependencies, ...image.peerDependencies, ...image.optionalDependencies })).not.toContain('@imgstore/codec');
    expect(table.get('image')!.runtime).not.toContain('@imgstore/codec');
  });

  it.each(manifests)('$dir declares only what its row allows', ({ dir, pkg }) => {
    const row = table.get(dir)!;
    const runtime = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    expect(runtime.filter((name) => !row.runtime.includes(name)), `${pkg.name} dependencies`).toEqual([]);
    const optional = Object.keys({ ...pkg.optionalDependencies });
    expect(optional.filter((name) => !row.optional.includes(name)), `${pkg.name} optionalDependencies`).toEqual([]);
  });

  it.each(manifests)('$dir imports (statically, dynamically or through require) nothing it does not declare', ({ dir, pkg }) => {
    const declared = new Set([pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })]);
    const srcDir = join(packagesDir, dir, 'src');
    const undeclared: string[] = [];
    for (const file of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const name of importedPackages(readFileSync(join(srcDir, file), 'utf8'))) {
        if (!declared.has(name)) undeclared.push(`${file} → ${name}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('finds every form of import, so that a dynamic one cannot slip past', () => {
    const source = [
      "import { a } from 'static-pkg';",
      "export { b } from '@scope/re-export/sub';",
      "import 'side-effect';",
      "const m = await import('dynamic-pkg');",
      "type T = typeof import('type-only');",
      "const r = createRequire(import.meta.url)('required-pkg');",
      "const q = require('plain-require');",
      "import { c } from './local.js'; import { d } from 'node:fs';",
    ].join('\n');
    expect([...importedPackages(source)].sort()).toEqual(
      ['@scope/re-export', 'dynamic-pkg', 'plain-require', 'required-pkg', 'side-effect', 'static-pkg', 'type-only'].sort(),
    );
  });

  it.each(manifests)('$dir is publishable: exports (types first), files, engines, sideEffects, version', ({ pkg }) => {
    for (const [subpath, entry] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (subpath === './package.json') continue;
      const conditions = entry as { import: Record<string, string>; require: Record<string, string> };
      expect(Object.keys(conditions.import)[0], `${pkg.name} ${subpath}`).toBe('types');
      expect(Object.keys(conditions.require)[0], `${pkg.name} ${subpath}`).toBe('types');
    }
    expect(pkg.exports['./package.json']).toBe('./package.json');
    expect(pkg.files).toContain('dist');
    expect(pkg.engines.node).toMatch(/^>=20/);
    expect(pkg.sideEffects === false || Array.isArray(pkg.sideEffects)).toBe(true);
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
