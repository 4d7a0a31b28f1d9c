import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DecodeFailedError, expectBoolean, type SampleRecord } from '@imgstore/core';
import { describeDecodeError, type CheckedDecodeOptions, type DecodePool, type RawImage } from '@imgstore/image';
import { readLabelFile, readMetaFile, type LabelFileOptions, type MetaFileOptions } from './label-file.js';
import { scanFolder, type FolderScan, type InputFile } from './scan-folder.js';

/** The options of convertFolder that say where inputs, labels and metadata come from. */
export interface InputSourceOptions {
  input: string;
  /** Labels (and metadata, from the other columns) from a CSV or JSONL file instead of the folder's layout. */
  labels?: string | LabelFileOptions;
  /** Per-sample metadata from a JSONL or CSV file, by image path. */
  meta?: string | MetaFileOptions;
  /** Label and metadata file problems are an InputError before converting, not rejects. Default false. */
  strict?: boolean;
}

/** Scans the input folder with its label and metadata files, if any. */
export function scanInputs(options: InputSourceOptions): FolderScan {
  const labels = options.labels === undefined ? undefined : readLabelFile(typeof options.labels === 'string' ? { file: options.labels } : options.labels);
  const meta = options.meta === undefined ? undefined : readMetaFile(typeof options.meta === 'string' ? { file: options.meta } : options.meta);
  const strict = expectBoolean('strict', options.strict ?? false);
  return scanFolder(options.input, { ...(labels ? { labels } : {}), ...(meta ? { meta } : {}), strict });
}

/** What a label or metadata file says about an input, as record fields (none for an ImageFolder input). */
export function inputFields(file: InputFile): Pick<SampleRecord, 'label' | 'labels' | 'meta'> {
  return {
    label: file.label,
    ...(file.labels === undefined ? {} : { labels: file.labels }),
    ...(file.meta === undefined ? {} : { meta: file.meta }),
  };
}

// As @imgstore/image opens inputs: without blocking on a FIFO.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Decodes an input on the pool. An input the scan already rejected (see InputFile.reject) fails with its
 * reason without being read; one whose name is not UTF-8 is read here by its path's bytes (a text path
 * cannot name it) and decoded from memory.
 */
export async function decodeInput(pool: DecodePool, file: InputFile, options: CheckedDecodeOptions): Promise<RawImage> {
  const failed = (reason: string, cause?: unknown) =>
    new DecodeFailedError(file.path, `Cannot decode ${file.path}: ${reason}`, cause === undefined ? undefined : { cause });
  if (file.reject !== undefined) throw failed(file.reject);
  if (file.rawPath === undefined) return pool.decode(file.path, options);
  let bytes: Buffer;
  try {
    const handle = await open(file.rawPath, FLAGS);
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new Error(`not a regular file (${stats.isFIFO() ? 'FIFO' : 'special file'})`);
      if (stats.size === 0) throw new Error('empty file (0 bytes)');
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw failed(describeDecodeError(cause), cause);
  }
  return pool.decode(bytes, options);
}
