import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  MANIFEST_FILE,
  StoreFormatError,
  expectKnownKeys,
  invalidOption,
  isValidIndex,
  type DatasetSource,
  type DirectReadDataset,
  type ReopenableDataset,
  type RejectRecord,
  type Sample,
  type SampleInfo,
  type Shape,
} from '@imgstore/core';
import { readManifest, type DatasetManifest } from './dataset-manifest.js';
import { openStore, type OpenStoreOptions, type StoreReader } from './store-reader.js';
import { internalEntryUrl } from './internal-entry.js';
import { registerCodecsFrom } from './codec-module.js';

export type OpenDatasetOptions = Omit<OpenStoreOptions, 'allowIncomplete'>;

/**
 * Several shard stores read as one dataset with one global index: shard k's record j is index
 * `offsets[k] + j`. Shards are in shard order, so the global order is the folder's sorted input order.
 */
export class ShardedDataset implements ReopenableDataset<Sample>, DirectReadDataset<Sample>, Iterable<Sample> {
  /** The manifest file, or the single store folder. */
  readonly path: string;
  readonly shards: readonly StoreReader[];
  readonly length: number;
  readonly sampleShape: Shape;
  readonly codec: string;
  readonly labelNames: string[] | null;
  /** Records per label over all shards, when every shard's header records them. */
  readonly labelCounts: number[] | null;
  /** Global index of each shard's first record, plus the total at the end. */
  readonly offsets: Uint32Array;
  readonly #options: OpenDatasetOptions;

  /** Use openDataset(). */
  constructor(path: string, shards: StoreReader[], options: OpenDatasetOptions) {
    this.path = path;
    this.shards = shards;
    this.#options = options;
    this.offsets = new Uint32Array(shards.length + 1);
    shards.forEach((s, k) => (this.offsets[k + 1] = this.offsets[k]! + s.length));
    this.length = this.offsets[shards.length]!;
    const { shape, codec, labelNames } = shards[0]!.header;
    this.sampleShape = shape;
    this.codec = codec;
    this.labelNames = labelNames;
    const counts = shards.map((s) => s.header.labelCounts);
    this.labelCounts =
      labelNames && counts.every((c) => c !== undefined)
        ? labelNames.map((_, label) => counts.reduce((sum, c) => sum + c![label]!, 0))
        : null;
  }

  /** Which shard holds global `index`, and where in it. */
  locate(index: number): { shard: number; local: number } {
    if (!isValidIndex(index, this.length)) throw invalidOption('index', `integer from 0 to ${this.length - 1}`, index);
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.offsets[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return { shard: lo, local: index - this.offsets[lo]! };
  }

  get(index: number): Sample {
    const { shard, local } = this.locate(index);
    return { ...this.shards[shard]!.get(local), index };
  }

  readInto(index: number, target: Uint8Array, offset: number): SampleInfo {
    const { shard, local } = this.locate(index);
    return this.shards[shard]!.readInto(local, target, offset);
  }

  *[Symbol.iterator](): Iterator<Sample> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** Rejected inputs of every shard, in shard order. */
  rejects(): RejectRecord[] {
    return this.shards.flatMap((s) => s.rejects());
  }

  toSource(): DatasetSource {
    // A registry holds functions, which cannot cross to a worker: workers resolve the codec by id in their
    // own default registry, after loading the codec's module when it has one.
    const { codecs: _codecs, ...options } = this.#options;
    const codecModule = this.shards[0]?.codec.module;
    if (codecModule === undefined) return { module: internalEntryUrl(), factory: 'openDataset', args: [resolve(this.path), options] };
    return { module: internalEntryUrl(), factory: 'openDatasetWithCodecModule', args: [codecModule, resolve(this.path), options] };
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

/** For worker threads (see `toSource`): loads the shards' codec module, then opens as `openDataset` does. */
export async function openDatasetWithCodecModule(codecModule: string, path: string, options: OpenDatasetOptions = {}): Promise<ShardedDataset> {
  await registerCodecsFrom(codecModule, options.codecs);
  return openDataset(path, options);
}

/**
 * Opens a dataset: a sharded one from its manifest (`dataset.json`, or the folder holding it), or a
 * single store folder. Shards whose header no longer matches the manifest (converted again, replaced)
 * or that disagree on shape, codec or labels are refused (StoreFormatError, reason `shards`).
 */
export function openDataset(path: string, options: OpenDatasetOptions = {}): ShardedDataset {
  if (typeof path !== 'string' || path.length === 0) throw invalidOption('path', 'non-empty string', path);
  expectKnownKeys('', options, ['codecs', 'verify', 'engine']);
  if (existsSync(path) && statSync(path).isDirectory() && !existsSync(join(path, MANIFEST_FILE))) {
    return new ShardedDataset(path, [openStore(path, options)], options); // one store
  }
  const manifestPath = existsSync(path) && statSync(path).isDirectory() ? join(path, MANIFEST_FILE) : path;
  if (!existsSync(manifestPath)) throw new StoreFormatError(path, 'missing', `No dataset at ${path}: nothing exists there`);
  const manifest = readManifest(manifestPath);
  const shards: StoreReader[] = [];
  try {
    for (const entry of manifest.shards) shards.push(openShard(manifestPath, manifest, entry, options));
    return new ShardedDataset(manifestPath, shards, options);
  } catch (error) {
    for (const shard of shards) void shard.close();
    throw error;
  }
}

function openShard(
  manifestPath: string,
  manifest: DatasetManifest,
  entry: DatasetManifest['shards'][number],
  options: OpenDatasetOptions,
): StoreReader {
  const fail = (what: string) => new StoreFormatError(manifestPath, 'shards', `Dataset ${manifestPath}: shard ${entry.index} (${entry.path}) ${what}`);
  // Shard paths are plain folder names next to the manifest: never anything that leaves its folder.
  if (typeof entry.path !== 'string' || basename(entry.path) !== entry.path || entry.path === '..' || entry.path === '.') {
    throw fail('has a path that is not a folder name next to the manifest');
  }
  const store = openStore(join(dirname(manifestPath), entry.path), options);
  const { header } = store;
  const problems = [
    header.count !== entry.records && `has ${header.count} records, the manifest says ${entry.records}`,
    header.provenance.createdAt !== entry.createdAt && `was written at ${header.provenance.createdAt}, not at ${entry.createdAt} as the manifest says (converted again? rebuild the manifest)`,
    JSON.stringify(header.shape) !== JSON.stringify(manifest.shape) && `has shape ${JSON.stringify(header.shape)}, the dataset ${JSON.stringify(manifest.shape)}`,
    header.codec !== manifest.codec && `has codec ${header.codec}, the dataset ${manifest.codec}`,
    JSON.stringify(header.labelNames) !== JSON.stringify(manifest.labelNames) && 'has other label names than the dataset',
  ].filter(Boolean);
  if (problems.length > 0) {
    void store.close();
    throw fail(problems.join('; '));
  }
  return store;
}
