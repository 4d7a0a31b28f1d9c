// Conversion: a folder into a store, in one run, shard by shard, or resumed.
export { convertFolder } from './convert-folder.js';
export type { ConvertFolderOptions, ConvertProgress, ConvertSummary } from './convert-folder.js';
export { scanFolder } from './scan-folder.js';
export type { FolderScan, InputFile, ScanFolderOptions } from './scan-folder.js';
// Labels and per-sample metadata from a CSV or JSONL file instead of the folder layout.
export { readLabelFile, readMetaFile } from './label-file.js';
export type { LabelFileOptions, MetaFileOptions, LabelTable, LabelRow } from './label-file.js';
export { scanInputs } from './input-source.js';
export type { InputSourceOptions } from './input-source.js';
export { shardRange, checkShardSpec } from './shard-range.js';
export type { ShardRange, ShardSpec } from './shard-range.js';

// Codecs: which one to write with, and codecs of the user's own.
export { resolveWriteCodec, loadCodecModule } from './load-codec.js';
export { adviseCodecs } from './advise-codecs.js';
export type { AdviseCodecsOptions, CodecAdvice, CodecAdviceReport } from './advise-codecs.js';

// Back to image files.
export { exportStore } from './export-store.js';
export type { ExportStoreOptions, ExportSummary } from './export-store.js';
export { EXPORT_FORMATS } from './export-store.js';
export type { ExportFormat } from './export-store.js';

// WebDataset tar shards: read (convertFolder takes them as input) and written (exportStore).
export { resolveWebDatasetShards } from './webdataset-shards.js';
export { scanWebDataset, WEBDATASET_IMAGE_EXTENSIONS } from './scan-webdataset.js';
export type { WebDatasetScan, WebDatasetInput } from './scan-webdataset.js';
export { readWebDataset, UnusualTarError, MAX_MEMBER_BYTES } from './read-webdataset.js';
export type { WebDatasetGroup, ReadWebDatasetOptions } from './read-webdataset.js';
