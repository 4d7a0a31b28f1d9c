import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { StoreBusyError, WRITER_LOCK_FILE } from '@imgstore/core';
import { STALE_AFTER_MS, createStoreWriter, openStore } from '@imgstore/store/internal';
import { makeTempDir, repoRoot } from '../../../tools/test-support/index.js';

const shape: [number, number, number] = [2, 2, 3];
const record = (i: number) => ({ name: `${i}`, label: null, shape, dtype: 'uint8' as const, data: new Uint8Array(12).fill(i) });

// A writer in its own process: appends `count` records, commits, says "ready", then waits to be killed.
const HOLDER = `
import { createStoreWriter } from '@imgstore/store/internal';
const [path, count] = process.argv.slice(1);
const writer = createStoreWriter(path, { shape: [2, 2, 3], resume: true });
for (let i = writer.count; i < Number(count); i++) {
  await writer.append({ name: String(i), label: null, shape: [2, 2, 3], dtype: 'uint8', data: new Uint8Array(12).fill(i) });
}
await writer.flush();
console.log('ready');
setInterval(() => {}, 1000);
`;

let tmp: ReturnType<typeof makeTempDir>;
let holder: ChildProcess | undefined;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => {
  holder?.kill('SIGKILL');
  tmp.cleanup();
});

async function startHolder(path: string, count: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER, path, String(count)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).toContain('ready');
  return child;
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('one writer per store', () => {
  it('a second writer in this process is refused while the first is open, and allowed after close', async () => {
    const path = join(tmp.dir, 'a.lmdb');
    const first = createStoreWriter(path, { shape });
    await first.append(record(0));
    const lock = JSON.parse(readFileSync(join(path, WRITER_LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, hostname: hostname() });

    for (const options of [{ resume: true }, { overwrite: true }]) {
      const error = catchError(() => createStoreWriter(path, { shape, ...options }));
      expect(error).toBeInstanceOf(StoreBusyError);
      expect((error as StoreBusyError).pid).toBe(process.pid);
      expect((error as Error).message).toMatch(/is being written by another process/);
    }
    await first.finish();
    expect(existsSync(join(path, WRITER_LOCK_FILE))).toBe(false);
    const reader = openStore(path);
    expect([...reader.get(0).data]).toEqual([...record(0).data]); // the refused overwrite removed nothing
    await reader.close();
    const second = createStoreWriter(path, { shape, overwrite: true });
    await second.finish();
  });

  it('a writer in another process holds the store; once it is killed, resume takes over its stale lock', async () => {
    const path = join(tmp.dir, 'b.lmdb');
    holder = await startHolder(path, 5);
    const error = catchError(() => createStoreWriter(path, { shape, resume: true }));
    expect(error).toBeInstanceOf(StoreBusyError);
    expect((error as StoreBusyError).pid).toBe(holder.pid);
    expect((error as Error).message).toContain(`pid ${holder.pid}`);
    expect((error as Error).message).toContain(join(path, WRITER_LOCK_FILE));

    holder.kill('SIGKILL');
    await once(holder, 'exit');
    expect(existsSync(join(path, WRITER_LOCK_FILE))).toBe(true); // left behind by the crash
    const resumed = createStoreWriter(path, { shape, resume: true });
    expect(resumed.count).toBe(5);
    await resumed.append(record(5));
    await resumed.finish();
    const reader = openStore(path);
    expect(reader.length).toBe(6);
    await reader.close();
  });

  it('a lock from another host is respected (a shared disk), naming the host', async () => {
    const path = join(tmp.dir, 'c.lmdb');
    const first = createStoreWriter(path, { shape });
    writeFileSync(join(path, WRITER_LOCK_FILE), JSON.stringify({ pid: 1, hostname: 'gpu-node-7', startedAt: 'then' }));
    const error = catchError(() => createStoreWriter(path, { shape, resume: true }));
    expect(error).toBeInstanceOf(StoreBusyError);
    expect((error as Error).message).toContain('pid 1 on gpu-node-7');
    await first.close();
    expect(existsSync(join(path, WRITER_LOCK_FILE))).toBe(true); // not ours: left for its owner

    // Untouched for longer than STALE_AFTER_MS (its host died, or a retried cluster task runs elsewhere).
    const old = new Date(Date.now() - STALE_AFTER_MS - 5_000);
    utimesSync(join(path, WRITER_LOCK_FILE), old, old);
    const resumed = createStoreWriter(path, { shape, resume: true });
    expect(JSON.parse(readFileSync(join(path, WRITER_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await resumed.finish();
  });
});
