import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { makeTempDir, repoRoot } from '../test-support/index.js';

// Package health of what gets published (runs after the build): publint, Are the Types Wrong, and the
// top of each README (install line, then a runnable example of at most five lines).
const packages = readdirSync(join(repoRoot, 'packages')).filter((name) => existsSync(join(repoRoot, 'packages', name, 'package.json')));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

interface AttwProblem {
  kind: string;
  entrypoint: string;
  resolutionKind?: string;
}

/** `attw --pack` on a package folder; its JSON goes to a file (attw exits before a pipe drains past 64 KB). */
function areTheTypesWrong(dir: string): AttwProblem[] {
  const tmp = makeTempDir('imgstore-attw-');
  try {
    const out = join(tmp.dir, 'attw.json');
    const fd = openSync(out, 'w');
    const run = spawnSync(process.execPath, [join(repoRoot, 'node_modules/@arethetypeswrong/cli/dist/index.js'), '--pack', '.', '--format', 'json'], {
      cwd: dir,
      stdio: ['ignore', fd, 'pipe'],
      encoding: 'utf8',
      timeout: 120_000,
    });
    closeSync(fd);
    const text = readFileSync(out, 'utf8');
    if (!text.trim()) throw new Error(`attw printed nothing (exit ${run.status}): ${run.stderr}`);
    const problems = readJson(out).problems;
    return Array.isArray(problems) ? problems : Object.values(problems ?? {}).flat() as AttwProblem[];
  } finally {
    tmp.cleanup();
  }
}

/**
 * Problems we accept: TypeScript's node10 resolution ignores `exports`, so a subpath entry such as
 * `@imgstore/store/internal` cannot resolve there. The root entry must still resolve under node10 (the
 * top-level "types" and "main" serve it); subpaths are for node16/nodenext and bundler resolution.
 */
const accepted = (p: AttwProblem) => p.kind === 'NoResolution' && p.resolutionKind === 'node10' && p.entrypoint !== '.';

describe.each(packages)('@imgstore/%s as published', (name) => {
  const dir = join(repoRoot, 'packages', name);

  it('passes publint', async () => {
    const { messages, pkg } = await publint({ pkgDir: dir, pack: 'npm', level: 'warning' });
    const text = messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
    expect(text).toEqual([]);
  });

  it('passes Are the Types Wrong (ESM and CommonJS, node10, node16, bundler)', () => {
    const problems = areTheTypesWrong(dir).filter((p) => !accepted(p));
    expect(problems).toEqual([]);
  }, 180_000);

  it('README starts with the install line, then a runnable example of at most five lines', () => {
    const readme = join(dir, 'README.md');
    expect(existsSync(readme), `packages/${name}/README.md`).toBe(true);
    const lines = readFileSync(readme, 'utf8').split('\n');
    const { name: pkgName, bin } = readJson(join(dir, 'package.json'));
    const install = lines.findIndex((line) => line.trim() === `npm install ${pkgName}`);
    expect(install, `"npm install ${pkgName}" within the first 12 lines`).toBeGreaterThanOrEqual(0);
    expect(install).toBeLessThan(12);
    // The next fenced block after the install line's own block is the example.
    const installEnd = lines.findIndex((line, i) => i > install && line.startsWith('```'));
    const open = lines.findIndex((line, i) => i > installEnd && line.startsWith('```'));
    const between = lines.slice(installEnd + 1, open).filter((line) => line.trim() && !line.startsWith('#'));
    expect(between.length, 'at most a sentence or two between the install line and the example').toBeLessThanOrEqual(3);
    // A command-line package's example is a shell session; the others' is code.
    const fence = bin ? /^```(sh|bash|shell|console)\s*$/ : /^```(js|ts|javascript|typescript)\s*$/;
    expect(lines[open], 'the example is JavaScript or TypeScript (a shell session for a CLI)').toMatch(fence);
    const close = lines.findIndex((line, i) => i > open && line.startsWith('```'));
    const code = lines.slice(open + 1, close).filter((line) => line.trim());
    expect(code.length).toBeGreaterThan(0);
    expect(code.length, `example of ${code.length} lines:\n${code.join('\n')}`).toBeLessThanOrEqual(5);
    const binNames = typeof bin === 'string' ? [pkgName.split('/')[1]] : Object.keys(bin ?? {});
    const uses = bin ? binNames.some((b: string) => code.join('\n').includes(b)) : code.join('\n').includes(`'${pkgName}`);
    expect(uses, 'the example uses the package it documents').toBe(true);
  });
});
