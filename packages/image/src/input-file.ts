import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** Files up to this size are read whole and decoded from memory; larger ones sharp reads itself. */
const READ_WHOLE_FILE_BYTES = 64 * 1024 * 1024;

// Opened without blocking: a FIFO would otherwise block forever waiting for a writer.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Why `stats` cannot be decoded (not a regular file, empty), or null. A clear reason where sharp
 * would give a misleading one (a file without read permission is "unsupported format", a link loop is
 * "missing") or none at all (a FIFO blocks sharp forever).
 */
function refuse(stats: Stats): Error | null {
  if (!stats.isFile()) {
    const kind = stats.isDirectory()
      ? 'folder'
      : stats.isFIFO()
        ? 'FIFO'
        : stats.isSocket()
          ? 'socket'
          : stats.isCharacterDevice() || stats.isBlockDevice()
            ? 'device'
            : 'special file';
    return new Error(`not a regular file (${kind})`);
  }
  return stats.size === 0 ? new Error('empty file (0 bytes)') : null;
}

/**
 * Opens `path` and returns its bytes (one read: sharp decodes a buffer ~1.5× faster than a path here,
 * measured on the corpus), or the path itself for a file over READ_WHOLE_FILE_BYTES.
 */
export async function readInputFile(path: string): Promise<Buffer | string> {
  const handle = await open(path, FLAGS);
  try {
    const stats = await handle.stat();
    const refusal = refuse(stats);
    if (refusal) throw refusal;
    return stats.size > READ_WHOLE_FILE_BYTES ? path : await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** readInputFile for worker threads, where blocking is cheaper than a thread-pool round trip per call. */
export function readInputFileSync(path: string): Buffer | string {
  const fd = openSync(path, FLAGS);
  try {
    const stats = fstatSync(fd);
    const refusal = refuse(stats);
    if (refusal) throw refusal;
    return stats.size > READ_WHOLE_FILE_BYTES ? path : readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
