import { closeSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreBusyError, StoreWriteError, WRITER_LOCK_FILE } from '@imgstore/core';

/** What a writer records in `writer.lock` while it holds a store. */
export interface WriterLockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** A held writer lock; `release()` removes the file (only if it is still ours). */
export interface WriterLock {
  readonly path: string;
  release(): void;
}

/** A live writer touches its lock this often; a lock from another host untouched for STALE_AFTER_MS is stale. */
export const LOCK_HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 60_000;

/**
 * Takes the writer lock of the store folder `storePath`, or throws StoreBusyError naming the process
 * that holds it. LMDB itself would let a second writer wait and then interleave its records with the
 * first one's. A lock left by a process that died (kill -9, power loss) on this host is taken over at
 * once, so `--resume` works right after a crash. A lock from another host (a shared disk; a retried
 * cluster task runs on a new host) is taken over once its writer has not touched it for a minute.
 */
export function acquireWriterLock(storePath: string): WriterLock {
  const lockPath = join(storePath, WRITER_LOCK_FILE);
  const me: WriterLockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreWriteError(storePath, `Cannot create the writer lock ${lockPath}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const owner = readOwner(lockPath);
      if (owner && !isStale(owner, lockPath)) throw busy(storePath, lockPath, owner);
      unlinkSync(lockPath); // stale: its writer is gone
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    // Heartbeat: tells writers on other hosts this lock is alive (unref'd: never keeps the process up).
    const heartbeat = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(lockPath, now, now);
      } catch {
        // the folder went away: nothing to keep alive
      }
    }, LOCK_HEARTBEAT_MS);
    heartbeat.unref();
    return {
      path: lockPath,
      release: () => {
        clearInterval(heartbeat);
        releaseIfOurs(lockPath, me);
      },
    };
  }
  const owner = readOwner(lockPath);
  throw busy(storePath, lockPath, owner ?? { pid: 0, hostname: 'unknown', startedAt: 'unknown' });
}

/** The owner recorded in a lock file, or null when the file is gone or unreadable (a crash mid-write). */
export function readWriterLock(storePath: string): WriterLockOwner | null {
  return readOwner(join(storePath, WRITER_LOCK_FILE));
}

function readOwner(lockPath: string): WriterLockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<WriterLockOwner>;
    if (typeof owner.pid !== 'number' || typeof owner.hostname !== 'string') return null;
    return { pid: owner.pid, hostname: owner.hostname, startedAt: String(owner.startedAt) };
  } catch {
    return null;
  }
}

function isStale(owner: WriterLockOwner, lockPath: string): boolean {
  if (owner.hostname !== hostname()) {
    try {
      return Date.now() - statSync(lockPath).mtimeMs > STALE_AFTER_MS;
    } catch {
      return true; // gone meanwhile
    }
  }
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function busy(storePath: string, lockPath: string, owner: WriterLockOwner): StoreBusyError {
  return new StoreBusyError(
    storePath,
    owner.pid,
    `Store ${storePath} is being written by another process (pid ${owner.pid} on ${owner.hostname}, since ${owner.startedAt}). ` +
      `If that process is no longer running, delete ${lockPath} and try again` +
      (owner.hostname === hostname() ? '.' : ` (a lock from another host is taken over once untouched for ${STALE_AFTER_MS / 1000} s).`),
  );
}

function releaseIfOurs(lockPath: string, me: WriterLockOwner): void {
  const owner = readOwner(lockPath);
  if (owner && owner.pid === me.pid && owner.startedAt === me.startedAt) unlinkSync(lockPath);
}
