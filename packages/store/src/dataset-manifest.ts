import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  StoreFormatError,
  type Shape,
} from '@imgstore/core';
import { openStore } from './store-reader.js';

/** One shard as the manifest lists it; the checks are compared with the shard's header on open. */
export interface ManifestShard {
  /** Folder of the shard store, relative to the manifest. */
  path: string;
  index: number;
  count: number;
  records: number;
  rejected: number;
  /** The shard header's `createdAt`: a shard converted again since the manifest was written is refused. */
  createdAt: string;
}

/** `dataset.json`: the shards of one dataset and what they share. */
export interface DatasetManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  records: number;
  rejected: number;
  shape: Shape;
  codec: string;
  labelNames: string[] | null;
  shards: ManifestShard[];
}

const SHARD_NAME = /^shard-(\d{5})-of-(\d{5})\.lmdb$/;

/** The folder name of shard `index` of `count` inside a dataset folder: `shard-00003-of-00008.lmdb`. */
export function shardStoreName(index: number, count: number): string {
  return `shard-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.lmdb`;
}

/**
 * Builds the manifest of the shard stores in `dir`, checking that every shard of the count is there,
 * finished, and agrees with the others on shape, codec and label names (StoreFormatError, reason
 * `shards`, naming what is wrong).
 */
export function buildManifest(dir: string): DatasetManifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new StoreFormatError(dir, 'missing', `No dataset folder at ${dir}`);
  }
  const found = readdirSync(dir)
    .map((name) => ({ name, match: SHARD_NAME.exec(name) }))
    .filter((entry) => entry.match !== null)
    .map(({ name, match }) => ({ name, index: Number(match![1]), count: Number(match![2]) }))
    .sort((a, b) => a.index - b.index);
  if (found.length === 0) {
    throw new StoreFormatError(dir, 'shards', `${dir} holds no shard stores (folders named like ${shardStoreName(0, 4)})`);
  }
  const counts = new Set(found.map((s) => s.count));
  if (counts.size > 1) {
    throw new StoreFormatError(dir, 'shards', `${dir} mixes shards of different counts (${[...counts].join(', ')}); remove the stale ones`);
  }
  const count = found[0]!.count;
  const missing = [...Array(count).keys()].filter((i) => !found.some((s) => s.index === i));
  if (missing.length > 0) {
    throw new StoreFormatError(dir, 'shards', `${dir} is missing shard(s) ${missing.join(', ')} of ${count}`);
  }
  const shards: ManifestShard[] = [];
  let first: { shape: Shape; codec: string; labelNames: string[] | null; name: string } | null = null;
  for (const { name, index } of found) {
    let store;
    try {
      store = openStore(join(dir, name));
    } catch (cause) {
      throw new StoreFormatError(dir, 'shards', `Shard ${index} (${name}) cannot be used: ${(cause as Error).message}`, { cause });
    }
    const { header } = store;
    void store.close();
    const mine = { shape: header.shape, codec: header.codec, labelNames: header.labelNames, name };
    if (first === null) first = mine;
    else {
      for (const key of ['shape', 'codec', 'labelNames'] as const) {
        if (JSON.stringify(mine[key]) !== JSON.stringify(first[key])) {
          throw new StoreFormatError(
            dir,
            'shards',
            `Shards disagree on ${key}: ${first.name} has ${JSON.stringify(first[key])}, ${name} has ${JSON.stringify(mine[key])}`,
          );
        }
      }
    }
    shards.push({ path: name, index, count, records: header.count, rejected: header.rejected, createdAt: header.provenance.createdAt });
  }
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    records: shards.reduce((n, s) => n + s.records, 0),
    rejected: shards.reduce((n, s) => n + s.rejected, 0),
    shape: first!.shape,
    codec: first!.codec,
    labelNames: first!.labelNames,
    shards,
  };
}

/** Builds the manifest of `dir` and writes it to `dir/dataset.json` (atomically), returning it. */
export function writeManifest(dir: string): DatasetManifest {
  const manifest = buildManifest(dir);
  const path = join(dir, MANIFEST_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return manifest;
}

/** Reads and checks a manifest file. */
export function readManifest(path: string): DatasetManifest {
  let value: Partial<DatasetManifest>;
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as Partial<DatasetManifest>;
  } catch (cause) {
    throw new StoreFormatError(path, 'not-a-store', `Cannot read dataset manifest ${path}: ${(cause as Error).message}`, { cause });
  }
  if (value?.format !== MANIFEST_FORMAT) {
    throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore dataset manifest`);
  }
  if (typeof value.version !== 'number' || value.version > MANIFEST_VERSION) {
    throw new StoreFormatError(path, 'version', `Dataset manifest ${path} has version ${String(value.version)}; this reader reads ${MANIFEST_VERSION}`);
  }
  if (!Array.isArray(value.shards) || value.shards.length === 0) {
    throw new StoreFormatError(path, 'shards', `Dataset manifest ${path} lists no shards`);
  }
  return value as DatasetManifest;
}
