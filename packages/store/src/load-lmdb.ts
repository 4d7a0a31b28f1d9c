import { createRequire } from 'node:module';
import { StoreWriteError } from '@imgstore/core';

type Lmdb = typeof import('lmdb');
let loaded: Lmdb | undefined;
let failure: Error | undefined;

/**
 * lmdb-js, loaded on first use: its native module exists for linux-x64 only (the data-format-v1 build,
 * lmdb@2.6.8-v1), and it loads that module as soon as it is imported. Reading a finished store needs no
 * lmdb-js (the TypeScript reader), so nothing imports it until a writer, or the lmdb-js read engine,
 * asks. Returns undefined when it cannot load here; `lmdbLoadError` says why.
 */
export function tryLoadLmdb(): Lmdb | undefined {
  if (loaded || failure) return loaded;
  try {
    loaded = createRequire(import.meta.url)('lmdb') as Lmdb;
  } catch (error) {
    failure = error as Error;
  }
  return loaded;
}

/** Why lmdb-js could not load, or undefined when it loads (or was not tried). */
export function lmdbLoadError(): Error | undefined {
  tryLoadLmdb();
  return failure;
}

/** The command that builds lmdb-js's v1 binary on this machine (a compiler and Python are needed). */
export const BUILD_LMDB_COMMAND = 'npm rebuild lmdb --build-from-source --foreground-scripts';

/** lmdb-js for writing `path`: where it cannot load, one line naming the platform and the way out. */
export function loadLmdbForWriting(path: string): Lmdb {
  const lmdb = tryLoadLmdb();
  if (lmdb) return lmdb;
  const platform = `${process.platform}-${process.arch}`;
  // On linux-x64 the prebuilt binary exists but did not load (e.g. musl, or a damaged install).
  const why = platform === 'linux-x64' ? `could not load its prebuilt binary on ${platform}` : `has no prebuilt binary for ${platform} (only linux-x64)`;
  throw new StoreWriteError(
    path,
    `Cannot write ${path}: the LMDB writer (lmdb@2.6.8-v1) ${why}. Build it here with \`${BUILD_LMDB_COMMAND}\` (needs a C compiler and Python)${platform === 'linux-x64' ? '' : ', or convert on linux-x64'}; ` +
      `reading stores works here as it is. (${failure?.message.split('\n')[0]})`,
    { cause: failure },
  );
}
