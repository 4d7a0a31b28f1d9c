// Shared helpers for the benchmarks: child processes with peak RSS, medians, the Python references.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliBin = join(repoRoot, 'packages/cli/dist/bin.js');
/** The team's reference pipelines (../shared/bench beside the checkout), or IMGSTORE_BENCH_SHARED. */
export const sharedBench = process.env.IMGSTORE_BENCH_SHARED ?? resolve(repoRoot, '../shared/bench');
export const python = '/usr/bin/python3';

/** Runs a command; resolves with wall seconds, peak RSS (MB, sampled from /proc) and output. */
export function measure(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // the process has exited
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr}`));
      else resolvePromise({ seconds, peakMb: peakKb / 1024, stdout, stderr });
    });
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** True when Debian's Python can import `modules` and the shared reference scripts exist. */
export function pythonReferenceAvailable(modules, script) {
  if (!existsSync(python) || !existsSync(join(sharedBench, 'python', script))) return false;
  return spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
}

/** Parses `--name value` flags after positional arguments. */
export function parseArgs(argv, defaults) {
  const positional = [];
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) positional.push(a);
    else if (a.startsWith('--no-')) flags[a.slice(5)] = false;
    else {
      const key = a.slice(2);
      if (!(key in defaults)) throw new Error(`Unknown option ${a}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(', ')}`);
      flags[key] = typeof defaults[key] === 'number' ? Number(argv[++i]) : argv[++i];
    }
  }
  return { positional, flags };
}

export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')).join('\n');
}
