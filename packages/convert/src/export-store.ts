import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { ExportPathError, StoreExistsError } from '@imgstore/core';
import { encodeImage, FORMAT_EXTENSIONS, type EncodeFormat } from '@imgstore/image';
import { openDataset } from '@imgstore/store';
import { exportPath, isInside } from './export-path.js';

export interface ExportStoreOptions {
  /** Default 'png' (lossless: the stored pixels exactly). */
  format?: EncodeFormat;
  /** Write into a folder that is not empty. Default false. */
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface ExportSummary {
  written: number;
  /** Record names that were changed to stay inside the folder or unique, with the path used. */
  renamed: { index: number; name: string; path: string }[];
}

/** Writes every record of a store (or sharded dataset) back to image files under `dir`, in class folders. */
export async function exportStore(storePath: string, dir: string, options: ExportStoreOptions = {}): Promise<ExportSummary> {
  const format = options.format ?? 'png';
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.overwrite) {
    throw new StoreExistsError(dir, `${dir} exists and is not empty; pass --overwrite to write into it`);
  }
  const dataset = openDataset(storePath);
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
