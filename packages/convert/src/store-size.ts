import { statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes the store's data file takes on disk (allocated blocks, not the sparse apparent size). */
export function storeSizeBytes(path: string): number {
  const stat = statSync(join(path, 'data.mdb'));
  return Math.min(stat.size, stat.blocks * 512);
}
