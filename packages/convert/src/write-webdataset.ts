import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { InputError, invalidOption } from '@imgstore/core';
import { encodeImage, FORMAT_EXTENSIONS, type EncodeFormat } from '@imgstore/image';
import type { ShardedDataset } from '@imgstore/store';
import { exportPath } from './export-path.js';
import { CLASSES_FILE } from './webdataset-shards.js';

export interface WriteWebDatasetOptions {
  imageFormat: EncodeFormat;
  /** A shard holds at most this many samples. */
  shardSamples: number;
  /** A shard grows past this many bytes only when it holds a single sample. */
  shardBytes: number;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface WebDatasetExport {
  written: number;
  /** The shard files, in order. */
  shards: string[];
  /** The shards as one brace pattern, for `imgstore convert`: `dir/shard-{000000..000003}.tar`. */
  pattern: string;
  /** Records whose key is not their name without its extension (sanitized, dots, duplicates). */
  renamed: { index: number; name: string; path: string }[];
}

/** Shard file names: `shard-000000.tar`, as WebDataset's ShardWriter names them by default. */
const SHARD_DIGITS = 6;
const BLOCK = 512;
const ZERO = new Date(0);

/**
 * Writes every record as WebDataset tar shards in `dir`: per sample `<key>.<png|jpg>` (the pixels),
 * `<key>.cls` (the label index as text) and `<key>.json` (its metadata, when it has any); the label
 * names go to `classes.txt`, one per line. Keys are record names without the extension, with the dots
 * of the file name replaced by `_` (WebDataset splits a member name at its first dot).
 */
export async function writeWebDataset(dataset: ShardedDataset, dir: string, options: WriteWebDatasetOptions): Promise<WebDatasetExport> {
  // WebDataset has no agreed member for a list of labels: refused rather than written without them.
  const multiLabel = (index: number) => dataset.get(index).labels !== undefined;
  if (dataset.length > 0 && multiLabel(0)) {
    throw invalidOption('format', "'png' or 'jpeg' for a multi-label store (a WebDataset .cls holds one label)", 'webdataset');
  }
  if (dataset.labelNames) writeClasses(join(dir, CLASSES_FILE), dataset.labelNames);
  const extension = FORMAT_EXTENSIONS[options.imageFormat].slice(1);
  const shards: string[] = [];
  const renamed: WebDatasetExport['renamed'] = [];
  const used = new Set<string>();
  let tar: { pack: Pack; done: Promise<void>; samples: number; bytes: number } | null = null;
  const finishShard = async () => {
    if (!tar) return;
    tar.pack.finalize();
    await tar.done;
    tar = null;
  };
  try {
    for (let index = 0; index < dataset.length; index++) {
      const sample = dataset.get(index);
      if (sample.labels !== undefined) throw invalidOption('format', "'png' or 'jpeg' for a multi-label store", 'webdataset');
      const [height, width, channels] = sample.shape;
      const members: [string, Uint8Array][] = [[extension, await encodeImage({ data: sample.data, width, height, channels }, options.imageFormat)]];
      if (sample.label !== null) members.push(['cls', Buffer.from(String(sample.label))]);
      const { meta } = sample;
      if (meta !== undefined) members.push(['json', Buffer.from(JSON.stringify(meta))]);

      let key = sampleKey(sample.name);
      if (used.has(key)) key = `${key}-${index}`;
      used.add(key);
      if (key !== stripExtension(sample.name)) renamed.push({ index, name: sample.name, path: `${key}.${extension}` });

      const bytes = members.reduce((sum, [ext, data]) => sum + tarBytes(`${key}.${ext}`, data.length), 0);
      if (tar && (tar.samples >= options.shardSamples || tar.bytes + bytes > options.shardBytes)) await finishShard();
      if (!tar) {
        const path = join(dir, `shard-${String(shards.length).padStart(SHARD_DIGITS, '0')}.tar`);
        shards.push(path);
        const p = pack();
        tar = { pack: p, done: pipeline(p, createWriteStream(path)), samples: 0, bytes: 0 };
        tar.done.catch(() => undefined); // awaited in finishShard; a write error also fails the next entry
      }
      for (const [ext, data] of members) {
        const current: Pack = tar.pack;
        await new Promise<void>((resolve, reject) =>
          current.entry({ name: `${key}.${ext}`, size: data.length, mode: 0o644, mtime: ZERO }, data, (error) => (error ? reject(error) : resolve())),
        );
      }
      tar.samples++;
      tar.bytes += bytes;
      options.onProgress?.(index + 1, dataset.length);
    }
    await finishShard();
  } catch (error) {
    tar?.pack.destroy();
    throw error;
  }
  const last = String(Math.max(shards.length - 1, 0)).padStart(SHARD_DIGITS, '0');
  const pattern = shards.length === 1 ? shards[0]! : join(dir, `shard-{${'0'.repeat(SHARD_DIGITS)}..${last}}.tar`);
  return { written: dataset.length, shards, pattern, renamed };
}

/** A WebDataset key: the name's safe relative path without extension, and no dot in its file name. */
function sampleKey(name: string): string {
  const path = exportPath(name, null, '');
  const slash = path.lastIndexOf('/');
  return path.slice(0, slash + 1) + path.slice(slash + 1).replace(/\./g, '_');
}

function stripExtension(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return dot > slash + 1 ? name.slice(0, dot) : name;
}

/** A member's size in the tar: its header (a pax header too for a long or non-ASCII name) and its padded body. */
function tarBytes(name: string, size: number): number {
  const pax = Buffer.byteLength(name) !== name.length || name.length > 100 ? 3 * BLOCK : 0;
  return pax + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
}

function writeClasses(path: string, names: readonly string[]): void {
  const bad = names.find((name) => name === '' || /[\r\n]/.test(name));
  if (bad !== undefined) throw new InputError(path, `Label name ${JSON.stringify(bad)} cannot be written to ${CLASSES_FILE} (one name per line)`);
  writeFileSync(path, names.map((name) => `${name}\n`).join(''));
}
