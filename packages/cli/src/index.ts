export { convertFolder } from './convert-folder.js';
export type { ConvertFolderOptions, ConvertProgress, ConvertSummary } from './convert-folder.js';
export { scanFolder } from './scan-folder.js';
export type { FolderScan, InputFile } from './scan-folder.js';
export { parseSize } from './parse-size.js';
export { createProgram, runCli } from './program.js';
export { shardRange, checkShardSpec } from './shard-range.js';
export type { ShardRange, ShardSpec } from './shard-range.js';
