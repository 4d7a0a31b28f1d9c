/** Helpers shared by the test suites: temp folders, generated images, the built CLI. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const samplesDir = join(repoRoot, 'samples/images');
export const cliBin = join(repoRoot, 'packages/cli/dist/bin.js');

/** A fresh temp folder, removed by the returned cleanup. */
export function makeTempDir(prefix = 'imgstore-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic RGB(A) noise-and-gradient image, encoded in `format`. */
export async function makeImage(
  width: number,
  height: number,
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' = 'jpeg',
  options: { channels?: 1 | 2 | 3 | 4; seed?: number; orientation?: number } = {},
): Promise<Buffer> {
  const channels = options.channels ?? 3;
  const pixels = Buffer.alloc(width * height * channels);
  let s = (options.seed ?? 1) >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const gradient = c === 0 ? (x * 255) / width : c === 1 ? (y * 255) / height : 128;
        pixels[(y * width + x) * channels + c] = Math.min(255, Math.max(0, gradient + ((s >>> 24) % 32) - 16));
      }
    }
  }
  let image = sharp(pixels, { raw: { width, height, channels } });
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  return image.toFormat(format).toBuffer();
}

/** Pseudo-random pixels, different for every seed: a record's bytes can then be found in data.mdb. */
export function uniquePixels(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed + 1) * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `imgstore` CLI in a child process. */
export function runImgstore(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return runProcess(process.execPath, [cliBin, ...args], options);
}

export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}
export { referenceAxis, referenceResample, type ReferenceTarget } from './reference-resample.js';
