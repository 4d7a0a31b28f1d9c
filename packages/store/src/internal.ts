// `@imgstore/store/internal`: for other imgstore packages, tests and tooling. Not covered by semver.

export * from './index.js';
// Worker threads reopen stores through these (see StoreReader.toSource): they load a codec's module first.
export { openStoreWithCodecModule } from './store-reader.js';
export { openDatasetWithCodecModule } from './sharded-dataset.js';
export { registerCodecsFrom } from './codec-module.js';
export { checkLmdbDataFile, detectLmdbDataFormat } from './lmdb-data-format.js';
export type { LmdbDataFileCheck, LmdbDataFormat } from './lmdb-data-format.js';
export { recordKey } from './record-key.js';
export { sealRecord, openRecord } from './record-envelope.js';
export { crc32, crc32Implementation } from './crc32.js';
export { acquireWriterLock, readWriterLock, LOCK_HEARTBEAT_MS, STALE_AFTER_MS } from './writer-lock.js';
export type { WriterLock, WriterLockOwner } from './writer-lock.js';
