export { openStore, StoreReader } from './store-reader.js';
export type { OpenStoreOptions } from './store-reader.js';
export { createStoreWriter, StoreWriter, DEFAULT_MAP_SIZE } from './store-writer.js';
export type { StoreWriterOptions } from './store-writer.js';
export { detectLmdbDataFormat } from './lmdb-data-format.js';
export type { LmdbDataFormat } from './lmdb-data-format.js';
export { recordKey } from './record-key.js';
export { sealRecord, openRecord } from './record-envelope.js';
export type { Sample, StoreHeader, RejectRecord } from '@imgstore/core';
