/**
 * `@imgstore/convert/internal`: helpers the imgstore CLI shares with this package. Not a public API:
 * they may change in any release.
 */
export { resolveShard } from './shard-from-env.js';
export type { ShardFlags, ResolvedShard } from './shard-from-env.js';
export { storeSizeBytes } from './store-size.js';
export { registerBuiltInCodecs } from './load-codec.js';
