import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import {
  ExportPathError,
  StoreExistsError,
  expectBoolean,
  expectKnownKeys,
  expectOneOf,
  expectPositiveInteger,
  invalidOption,
} from '@imgstore/core';
import { encodeImage, ENCODE_FORMATS, FORMAT_EXTENSIONS, type EncodeFormat } from '@imgstore/image';
import { openDataset } from '@imgstore/store';
import { exportPath, isInside } from './export-path.js';
import { writeWebDataset } from './write-webdataset.js';

/** What `exportStore` writes: image files in class folders, or WebDataset tar shards. */
export const EXPORT_FORMATS = [...ENCODE_FORMATS, 'webdataset'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportStoreOptions {
  /**
   * Default 'png' (lossless: the stored pixels exactly). 'webdataset': tar shards
   * (`shard-000000.tar`, ...) of `<key>.png` (or `.jpg`), `<key>.cls` and `<key>.json`, plus `classes.txt`.
   */
  format?: ExportFormat;
  /** With 'webdataset': how each image is encoded. Default 'png' (lossless). */
  imageFormat?: EncodeFormat;
  /** With 'webdataset': samples per shard at most. Default 10,000. */
  shardSamples?: number;
  /** With 'webdataset': bytes per shard at most (a sample larger than that gets a shard of its own). Default 1 GiB. */
  shardBytes?: number;
  /** Write into a folder that is not empty. Default false. */
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface ExportSummary {
  written: number;
  /** Record names that were changed to stay inside the folder or unique, with the path used. */
  renamed: { index: number; name: string; path: string }[];
  /** With 'webdataset': the shard files written, in order. */
  shards?: string[];
  /** With 'webdataset': the shards as one brace pattern that `convertFolder` (and `imgstore convert`) reads. */
  pattern?: string;
}

const KNOWN = ['format', 'imageFormat', 'shardSamples', 'shardBytes', 'overwrite', 'onProgress'];
const WEBDATASET_ONLY = ['imageFormat', 'shardSamples', 'shardBytes'] as const;

/**
 * Writes every record of a store (or sharded dataset) back to image files under `dir`, in class
 * folders, or (`format: 'webdataset'`) as WebDataset tar shards.
 */
export async function exportStore(storePath: string, dir: string, options: ExportStoreOptions = {}): Promise<ExportSummary> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, KNOWN);
  const exportFormat = expectOneOf('format', options.format ?? 'png', EXPORT_FORMATS);
  if (exportFormat !== 'webdataset') {
    const extra = WEBDATASET_ONLY.find((key) => options[key] !== undefined);
    if (extra) throw invalidOption(extra, "no value unless format is 'webdataset'", options[extra]);
  }
  const imageFormat = expectOneOf('imageFormat', options.imageFormat ?? 'png', ENCODE_FORMATS);
  const shardSamples = expectPositiveInteger('shardSamples', options.shardSamples ?? 10_000);
  const shardBytes = expectPositiveInteger('shardBytes', options.shardBytes ?? 1024 ** 3);
  const overwrite = expectBoolean('overwrite', options.overwrite ?? false);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite) {
    throw new StoreExistsError(dir, `${dir} exists and is not empty; pass --overwrite to write into it`);
  }
  const dataset = openDataset(storePath);
  if (exportFormat === 'webdataset') {
    try {
      mkdirSync(dir, { recursive: true });
      return await writeWebDataset(dataset, dir, { imageFormat, shardSamples, shardBytes, onProgress: options.onProgress });
    } finally {
      await dataset.close();
    }
  }
  const format: EncodeFormat = exportFormat;
  const used = new Set<string>();
  const renamed: ExportSummary['renamed'] = [];
  try {
    for (let index = 0; index < dataset.length; index++) {
      const sample = dataset.get(index);
      const labelName = sample.label !== null && dataset.labelNames ? (dataset.labelNames[sample.label] ?? String(sample.label)) : null;
      let path = exportPath(sample.name, labelName, FORMAT_EXTENSIONS[format]);
      if (used.has(path.toLowerCase())) {
        // Two names that became the same path (case, sanitizing): the later one gets its index.
        const ext = extname(path);
        path = `${path.slice(0, path.length - ext.length)}-${index}${ext}`;
      }
      used.add(path.toLowerCase());
      if (!isInside(dir, path)) throw new ExportPathError(index, path, `Record ${index} would be written outside ${dir}: ${path}`);
      // Reported when the file is not where the name says (besides the extension and the class folder).
      const natural = labelName === null || sample.name.startsWith(`${labelName}/`) ? sample.name : `${labelName}/${sample.name}`;
      if (stripExtension(path) !== stripExtension(natural)) renamed.push({ index, name: sample.name, path });
      const target = join(dir, path);
      mkdirSync(dirname(target), { recursive: true });
      const [height, width, channels] = sample.shape;
      writeFileSync(target, await encodeImage({ data: sample.data, width, height, channels }, format));
      options.onProgress?.(index + 1, dataset.length);
    }
    return { written: dataset.length, renamed };
  } finally {
    await dataset.close();
  }
}

function stripExtension(path: string): string {
  return path.slice(0, path.length - extname(path).length);
}
