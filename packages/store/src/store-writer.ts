import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  HEADER_KEY,
  StoreExistsError,
  StoreWriteError,
  expectBoolean,
  expectKnownKeys,
  expectPositiveInteger,
  invalidOption,
  shapeByteLength,
  type Codec,
  type SampleRecord,
  type Shape,
  type StoreHeader,
  type StoreProvenance,
} from '@imgstore/core';
import { DEFAULT_CODEC_ID, defaultCodecs, packPlain, type CodecRegistry } from '@imgstore/codec';
import { openStoreDatabases, type StoreDatabases } from './lmdb-env.js';
import { recordKey } from './record-key.js';
import { sealRecord } from './record-envelope.js';
import { encodeHeader } from './store-header.js';

export interface StoreWriterOptions {
  /** Shape every record must have, [height, width, channels]. Required. */
  shape: Shape;
  /** Codec id or instance. Default `'lz4'`. */
  codec?: string | Codec;
  /** Where codec ids are resolved. Default: the process-wide registry of @imgstore/codec. */
  codecs?: CodecRegistry;
  /** Class names by label index, or null for unlabeled data. Default null. */
  labelNames?: string[] | null;
  /** Replace an existing store at the path. Default false: an existing store is an error. */
  overwrite?: boolean;
  /** Records per LMDB write transaction. Default 64: fewer commits, bounded memory (~13 MB at 256×256×3). */
  recordsPerCommit?: number;
  /** Informative facts recorded in the header (tool, source folder, settings). */
  provenance?: Partial<StoreProvenance>;
}

const KNOWN_OPTIONS = ['shape', 'codec', 'codecs', 'labelNames', 'overwrite', 'recordsPerCommit', 'provenance'];
/** Files an LMDB environment folder holds; anything else in the folder means it is not only a store. */
const LMDB_FILES = new Set(['data.mdb', 'lock.mdb']);

/**
 * Writes a new store. Records are appended in index order and committed in batches; the header is
 * written last by `finish()`, so a store whose writer never finished is recognisably incomplete.
 */
export class StoreWriter {
  readonly path: string;
  readonly codec: Codec;
  readonly shape: Shape;
  readonly labelNames: string[] | null;
  #dbs: StoreDatabases;
  #pending: Array<[Buffer, Buffer]> = [];
  #count = 0;
  #rejected = 0;
  #recordsPerCommit: number;
  #provenance: Partial<StoreProvenance>;
  #closed = false;

  constructor(path: string, options: StoreWriterOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, KNOWN_OPTIONS);
    const { shape, codec = DEFAULT_CODEC_ID, codecs = defaultCodecs, labelNames = null } = options;
    if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
      throw invalidOption('shape', '[height, width, channels] of positive integers', shape);
    }
    if (labelNames !== null && !(Array.isArray(labelNames) && labelNames.every((n) => typeof n === 'string'))) {
      throw invalidOption('labelNames', 'array of strings or null', labelNames);
    }
    const overwrite = expectBoolean('overwrite', options.overwrite ?? false);
    this.#recordsPerCommit = expectPositiveInteger('recordsPerCommit', options.recordsPerCommit ?? 64);
    this.codec = typeof codec === 'string' ? codecs.get(codec) : codecs.register(codec).get(codec.id);
    this.path = path;
    this.shape = [shape[0], shape[1], shape[2]];
    this.labelNames = labelNames;
    this.#provenance = options.provenance ?? {};
    prepareStoreFolder(path, overwrite);
    try {
      this.#dbs = openStoreDatabases(path, false);
    } catch (cause) {
      throw new StoreWriteError(path, `Cannot create store ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Records appended so far (committed or pending). */
  get count(): number {
    return this.#count;
  }

  get rejected(): number {
    return this.#rejected;
  }

  /** Appends a record as the next index and returns that index; commits when a batch is full. */
  async append(record: SampleRecord): Promise<number> {
    this.#assertOpen();
    const { shape, data } = record;
    if (shape[0] !== this.shape[0] || shape[1] !== this.shape[1] || shape[2] !== this.shape[2]) {
      throw invalidOption('record.shape', `the store's shape ${JSON.stringify(this.shape)}`, shape);
    }
    if (!(data instanceof Uint8Array) || data.length !== shapeByteLength(this.shape)) {
      throw invalidOption('record.data', `Uint8Array of ${shapeByteLength(this.shape)} bytes`, data?.length);
    }
    if (this.labelNames && record.label !== null && !(record.label < this.labelNames.length)) {
      throw invalidOption('record.label', `label below ${this.labelNames.length}`, record.label);
    }
    const index = this.#count++;
    this.#pending.push([recordKey(index), sealRecord(this.codec.encode(record))]);
    if (this.#pending.length >= this.#recordsPerCommit) await this.flush();
    return index;
  }

  /** Records an input that did not become a record, with the reason; `info --rejects` lists them. */
  async reject(name: string, reason: string): Promise<void> {
    this.#assertOpen();
    const seq = this.#rejected++;
    await this.#commit([[recordKey(seq), packPlain({ name, reason })]], this.#dbs.rejects);
  }

  /** Commits pending records. */
  async flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length) await this.#commit(batch, this.#dbs.records);
  }

  /** Commits everything, writes the header (making the store complete), closes, returns the header. */
  async finish(): Promise<StoreHeader> {
    this.#assertOpen();
    await this.flush();
    const header: StoreHeader = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      codec: this.codec.id,
      count: this.#count,
      shape: this.shape,
      dtype: 'uint8',
      layout: 'HWC',
      colorSpace: 'srgb',
      labelNames: this.labelNames,
      rejected: this.#rejected,
      provenance: {
        tool: '@imgstore/store',
        toolVersion: '0',
        createdAt: new Date().toISOString(),
        ...this.#provenance,
      },
    };
    await this.#commit([[Buffer.from(HEADER_KEY), encodeHeader(header)]], this.#dbs.meta);
    await this.close();
    return header;
  }

  /** Commits pending records and closes without a header: the store stays incomplete. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#dbs.env.close();
  }

  async #commit(entries: Array<[Buffer, Buffer]>, db: StoreDatabases['records']): Promise<void> {
    try {
      await this.#dbs.env.transaction(() => {
        for (const [key, value] of entries) db.put(key, value);
      });
    } catch (cause) {
      throw new StoreWriteError(this.path, `Cannot write to store ${this.path}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreWriteError(this.path, `Store writer for ${this.path} is already closed`);
  }
}

/** Opens a writer for a new store at `path`. */
export function createStoreWriter(path: string, options: StoreWriterOptions): StoreWriter {
  return new StoreWriter(path, options);
}

/** Makes `path` an empty folder for a new store, refusing to clobber anything that is not a store. */
function prepareStoreFolder(path: string, overwrite: boolean): void {
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) {
      throw new StoreExistsError(path, `${path} exists and is a file, not a store folder`);
    }
    const entries = readdirSync(path);
    const isStore = entries.includes('data.mdb') && entries.every((name) => LMDB_FILES.has(name));
    if (entries.length > 0 && !isStore) {
      throw new StoreExistsError(path, `${path} exists and is a folder that is not an imgstore store; refusing to write into it`);
    }
    if (isStore && !overwrite) {
      throw new StoreExistsError(path, `Store ${path} already exists; pass overwrite (--overwrite) to replace it`);
    }
    for (const name of entries) rmSync(join(path, name), { force: true });
    return;
  }
  try {
    mkdirSync(path, { recursive: true });
  } catch (cause) {
    throw new StoreWriteError(path, `Cannot create store folder ${path}: ${(cause as Error).message}`, { cause });
  }
}
