// The public surface of @imgstore/store: open, read, write, verify and shard stores.
// Helpers that only other imgstore packages and tooling use are in ./internal.ts (`@imgstore/store/internal`).

export { openStore, VERIFY_MODES, STORE_ENGINES } from './store-reader.js';
export type { StoreReader, OpenStoreOptions, VerifyMode } from './store-reader.js';
export type { StoreEngine } from './store-snapshot.js';
export { openDataset } from './sharded-dataset.js';
export type { ShardedDataset, OpenDatasetOptions } from './sharded-dataset.js';
export { createStoreWriter, DEFAULT_MAP_SIZE } from './store-writer.js';
export type { StoreWriter, StoreWriterOptions } from './store-writer.js';
export { verifyStore } from './verify-store.js';
export { appendInProgress } from './writer-state.js';
export type { StoreProblem, VerifyReport, VerifyStoreOptions } from './verify-store.js';
export { buildManifest, writeManifest, readManifest, shardStoreName } from './dataset-manifest.js';
export type { DatasetManifest, ManifestShard } from './dataset-manifest.js';
export type { Sample, StoreHeader, RejectRecord } from '@imgstore/core';
