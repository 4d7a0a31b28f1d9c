// The plain-TypeScript LMDB v1 reader; not exported from the package yet (see lmdb-file.ts).
export { LmdbFile, type LmdbFileOptions } from './lmdb-file.js';
export { LmdbDatabase, type RangeOptions, type ValueLocation } from './lmdb-database.js';
export { UnsupportedLmdbFeatureError } from './unsupported-lmdb-feature-error.js';
export type { DatabaseRecord } from './database-record.js';
export type { MetaPage } from './meta-page.js';
