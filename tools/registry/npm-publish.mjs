#!/usr/bin/env node
// The `nx-release-publish` target: publishes one package folder with npm, skipping a version the registry
// already has (so a re-run after a partial failure publishes only what is missing).
// Usage: node tools/registry/npm-publish.mjs <package dir> [--registry=URL] [--tag=T] [--access=A] [--otp=N] [--dryRun=true]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) throw new Error('Expected a package folder as the first argument');
const flags = Object.fromEntries(
  rest.map((arg) => {
    const [key, ...value] = arg.replace(/^--/, '').split('=');
    return [key, value.length ? value.join('=') : 'true'];
  }),
);
const root = resolve(dir);
const { name, version, private: isPrivate } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (isPrivate) {
  console.log(`${name} is private: not published`);
  process.exit(0);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const registry = flags.registry ? ['--registry', flags.registry] : [];
const dryRun = flags.dryRun === 'true' || flags['dry-run'] === 'true' || process.env.NX_DRY_RUN === 'true';

let published = '';
try {
  published = execFileSync(npm, ['view', `${name}@${version}`, 'version', ...registry], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  // E404: never published.
}
if (published === version) {
  console.log(`${name}@${version} is already on the registry: skipped`);
  process.exit(0);
}

const args = ['publish', '--tag', flags.tag || 'latest', '--access', flags.access || 'public', ...registry];
if (flags.otp) args.push('--otp', flags.otp);
if (dryRun) args.push('--dry-run');
const run = spawnSync(npm, args, { cwd: root, stdio: 'inherit' });
if (run.status === 0) console.log(`${dryRun ? 'Would publish' : 'Published'} ${name}@${version}`);
process.exit(run.status ?? 1);
