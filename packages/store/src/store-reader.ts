import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CHECKPOINT_KEY,
  HEADER_KEY,
  RECORD_CHECKSUM_BYTES,
  RECORD_OVERHEAD_BYTES,
  ClosedError,
  InvalidOptionError,
  SETTINGS_KEY,
  RECORD_KEY_BYTES,
  StoreDamagedError,
  StoreFormatError,
  expectBoolean,
  expectKnownKeys,
  expectOneOf,
  invalidOption,
  isValidIndex,
  isVariableShape,
  shapeByteLength,
  type Codec,
  type DecodeLimits,
  type DatasetSource,
  type DirectReadDataset,
  type ReopenableDataset,
  type RejectRecord,
  type SampleInfo,
  type SampleRecord,
  type Shape,
  type Sample,
  type StoreHeader,
} from '@imgstore/core';
import { defaultCodecs, rawCodec, unpackPlain, unpackRecordHead, type CodecRegistry } from '@imgstore/codec';
import { checkLmdbDataFile } from './lmdb-data-format.js';
import { internalEntryUrl } from './internal-entry.js';
import { registerCodecsFrom } from './codec-module.js';
import { openLmdbJsSnapshot } from './lmdb-js-snapshot.js';
import { openLmdbFileSnapshot } from './lmdb-file-snapshot.js';
import { lmdbLoadError, tryLoadLmdb } from './load-lmdb.js';
import type { StoreEngine, StoreSnapshot } from './store-snapshot.js';
import { writeRecordKey } from './record-key.js';
import { checkSplitRecord, openRecord } from './record-envelope.js';
import { readHeader } from './check-header.js';
import { decodeCheckpoint, headerOfUnfinishedStore } from './writer-state.js';

export interface OpenStoreOptions {
  /** Where the header's codec id is resolved. Default: the process-wide registry of @imgstore/codec. */
  codecs?: CodecRegistry;
  /**
   * Also open a store whose conversion has not finished (still running, or killed): the reader sees the
   * records committed when it opened, a consistent snapshot, and `complete` is false. Default false:
   * an unfinished store is a StoreFormatError with reason `incomplete`.
   */
  allowIncomplete?: boolean;
  /**
   * When records are checked against their CRC-32: `'always'` (default) on every read; `'once'` on the
   * first read of each record by this reader, trusting it on later reads (epochs 2, 3, ... of training
   * then read at copy speed: the CRC costs about half of a 196 KB read). With `'once'`, damage that
   * appears after a record's first read (a page re-read from a failing disk, a memory error) is not seen.
   */
  verify?: VerifyMode;
  /**
   * Which LMDB reader reads the file: `'typescript'`, imgstore's own reader (positioned reads, no native
   * code, no lock file: every platform, read-only mounts); `'lmdb-js'`, the native binding that also
   * writes stores (linux-x64 only; reads from its memory map). Default `'auto'`: the TypeScript reader
   * for a finished store (as fast on readInto, see `npm run bench:engines`, and it checks every page it
   * reads); lmdb-js, where it loads, for an unfinished store opened with `allowIncomplete`, whose
   * writer may still run: LMDB's reader table keeps the writer from reusing the snapshot's pages.
   * `reader.engine` says which one reads.
   */
  engine?: 'auto' | StoreEngine;
}

export const VERIFY_MODES = ['always', 'once'] as const;
export const STORE_ENGINES = ['auto', 'typescript', 'lmdb-js'] as const;

/** A decoded record; `data` is absent when the codec wrote the pixels into the caller's buffer. */
type DecodedRecord = Omit<SampleRecord, 'data'> & { data?: Uint8Array };
export type VerifyMode = (typeof VERIFY_MODES)[number];

/** A finished store opened read-only. Implements Dataset<Sample> and iterates its samples in order. */
export class StoreReader implements ReopenableDataset<Sample>, DirectReadDataset<Sample>, Iterable<Sample> {
  readonly path: string;
  readonly header: StoreHeader;
  readonly codec: Codec;
  readonly #snapshot: StoreSnapshot;
  /** The engine asked for, passed on to worker threads (see toSource). */
  readonly #engineOption: (typeof STORE_ENGINES)[number];
  // One key buffer reused by every get(): no allocation per lookup.
  readonly #key = Buffer.allocUnsafe(RECORD_KEY_BYTES);
  #closed = false;
  /** A record decodes to its header's pixels plus a little: a codec refuses more before allocating. */
  readonly #limits: DecodeLimits;
  /** Height and width vary per record ([0, 0, c] header shape). */
  readonly #variable: boolean;
  /** Pixel bytes of a record readInto reads split (raw codec, fixed shape, an engine that can); else 0. */
  #splitPixels: number;
  /**
   * The most bytes a stored record may have: its decoded size plus room for a codec that expands
   * incompressible data (LZ4 adds ~0.4%) and the other fields. A longer value is damage, not an allocation.
   */
  readonly #maxStoredBytes: number;

  /** False for an unfinished store opened with `allowIncomplete`: `header` then describes its committed records. */
  readonly complete: boolean;
  readonly verify: VerifyMode;
  /** With verify 'once': 1 for each record whose checksum this reader has checked. */
  readonly #verified: Uint8Array | null;

  /** Use openStore(): this constructor is not part of the public API. */
  constructor(
    path: string,
    snapshot: StoreSnapshot,
    header: StoreHeader,
    codec: Codec,
    complete: boolean,
    verify: VerifyMode,
    engineOption: (typeof STORE_ENGINES)[number] = 'auto',
  ) {
    this.#engineOption = engineOption;
    this.path = path;
    this.#snapshot = snapshot;
    this.header = header;
    this.codec = codec;
    this.complete = complete;
    this.verify = verify;
    this.#verified = verify === 'once' ? new Uint8Array(header.count) : null;
    this.#variable = isVariableShape(header.shape);
    this.#splitPixels = codec.id === rawCodec.id && !this.#variable && snapshot.recordSplit ? shapeByteLength(header.shape) : 0;
    this.#limits = { maxDecodedBytes: (this.#variable ? header.maxSampleBytes! : shapeByteLength(header.shape)) + RECORD_OVERHEAD_BYTES };
    this.#maxStoredBytes = 2 * this.#limits.maxDecodedBytes + RECORD_OVERHEAD_BYTES;
  }

  /** Which LMDB reader reads this store: lmdb-js's native binding, or imgstore's TypeScript reader. */
  get engine(): StoreEngine {
    return this.#snapshot.engine;
  }

  get length(): number {
    return this.header.count;
  }

  /** Shape shared by every record, [height, width, channels]; [0, 0, channels] when it varies per record. */
  get sampleShape(): Shape {
    return this.header.shape;
  }

  /**
   * Reads, checks and decodes record `index`. The returned `data` is the caller's to keep. Format 1.1
   * records also give `meta` (the sample's metadata) and, in multi-label stores, `labels`, when present.
   */
  get(index: number): Sample {
    return { index, ...(this.#decode(index, this.codec.decode) as SampleRecord) };
  }

  /**
   * Record `index` without its pixels (`index`, `name`, `label`, `shape`, `dtype`, and `labels` and `meta`
   * where present), checked like `get` (checksum, header) but with no pixel decoding where the codec
   * can (`decodeFields`): for tools that need names or labels only.
   */
  fields(index: number): Omit<Sample, 'data'> {
    const { codec } = this;
    const decode = codec.decodeFields ?? codec.decodeView ?? codec.decode;
    const { data: _pixels, ...fields } = this.#decode(index, decode as (bytes: Uint8Array, limits?: DecodeLimits) => DecodedRecord);
    return { index, ...fields };
  }

  /**
   * Reads record `index` and copies its pixels straight into `target` at `offset` (one copy per sample,
   * none with a codec that has `decodeView`). Returns the rest of the record. Checked like `get`.
   */
  readInto(index: number, target: Uint8Array, offset: number): SampleInfo {
    const { codec } = this;
    if (this.#splitPixels > 0 && offset >= 0 && offset + this.#splitPixels <= target.length) {
      const info = this.#readSplit(index, target, offset);
      if (info !== undefined) return info;
    }
    if (codec.decodeInto && !this.#variable) {
      // The codec writes the pixels into `target` itself: decompressed or decoded in place, no copy.
      const byteLength = shapeByteLength(this.header.shape);
      if (offset < 0 || offset + byteLength > target.length) {
        throw invalidOption('offset', `an offset leaving ${byteLength} bytes in target (length ${target.length})`, offset);
      }
      const record = this.#decode(index, codec.decodeView ?? codec.decode, target, offset);
      return sampleInfo(record);
    }
    // Decoded (a view when the codec can), then copied if it fits: variable-size records each have their own size.
    const record = this.#decode(index, codec.decodeView ?? codec.decode);
    if (offset < 0 || offset + record.data!.length > target.length) {
      throw invalidOption('target', `room for record ${index}'s ${record.data!.length} bytes at offset ${offset}`, target.length);
    }
    target.set(record.data!, offset);
    return sampleInfo(record);
  }

  /**
   * A hint that records `first` to `last` (inclusive) will be read soon: the TypeScript engine starts
   * reading their bytes into the OS page cache on libuv's thread pool and returns at once, so that the
   * reads that follow find them in memory. For a store larger than memory read in blocks of consecutive
   * records (BlockShuffleSampler's `onBlockOpen`): one large read per block instead of a disk request per
   * record. At most 32 MiB per range. Where the range's LMDB leaf pages (which say where its records
   * lie) are not in memory yet, they are read ahead first and the records at the next call: this thread
   * then never waits on the disk for a hint. The range is clamped to the store; an empty one, a closed reader
   * or the lmdb-js engine (its memory map has no such hint here) does nothing. Never throws for damage
   * (reading the record reports it); what the reads return is unchanged.
   */
  willNeed(first: number, last: number): void {
    if (this.#closed || this.#snapshot.willNeed === undefined) return;
    const from = Math.max(0, Math.ceil(first));
    const to = Math.min(this.header.count - 1, Math.floor(last));
    if (!(from <= to)) return; // also NaN
    this.#snapshot.willNeed(from, to);
  }

  /** How a worker thread reopens this store (read-only, same codecs by id; a codec's own module first). */
  toSource(): DatasetSource {
    const options = {
      ...(this.complete ? {} : { allowIncomplete: true }),
      ...(this.verify === 'always' ? {} : { verify: this.verify }),
      ...(this.#engineOption === 'auto' ? {} : { engine: this.#engineOption }),
    };
    const args = [resolve(this.path), ...(Object.keys(options).length ? [options] : [])];
    if (this.codec.module === undefined) return { module: internalEntryUrl(), factory: 'openStore', args };
    return { module: internalEntryUrl(), factory: 'openStoreWithCodecModule', args: [this.codec.module, ...args] };
  }

  /** Checks and decodes record `index`; with `target`, through the codec's decodeInto (pixels into target at offset). */
  #decode(
    index: number,
    decode: (bytes: Uint8Array, limits?: DecodeLimits) => DecodedRecord,
    target?: Uint8Array,
    offset = 0,
  ): DecodedRecord {
    // A view that the next read overwrites: checked and decoded right here.
    const value = this.getStoredView(index);
    const verified = this.#verified;
    const payload = openRecord(value, verified === null || verified[index] === 0);
    if (typeof payload === 'string') throw this.#damaged(index, `is damaged: ${payload}`);
    let record: DecodedRecord;
    try {
      record = target ? this.codec.decodeInto!(payload, target, offset, this.#limits) : decode.call(this.codec, payload, this.#limits);
    } catch (cause) {
      throw this.#damaged(index, `passed its checksum but does not decode: ${(cause as Error).message}`, cause);
    }
    this.#checkFits(index, record);
    if (verified !== null) verified[index] = 1;
    return record;
  }

  /**
   * A raw record read by an engine with system calls (the TypeScript reader): its pixels straight into
   * `target` and the bytes before them (checksum, msgpack head) into the engine's buffer, the CRC-32
   * continued across both: one copy of the pixels, where reading the record whole and then copying its
   * pixels makes two. Undefined when the record is not laid out as packRecord writes it (the caller
   * then reads it whole, which reports any damage the usual way).
   */
  #readSplit(index: number, target: Uint8Array, offset: number): SampleInfo | undefined {
    this.#writeKey(index);
    const pixels = target.subarray(offset, offset + this.#splitPixels);
    const head = this.#lookup(index, () => this.#snapshot.recordSplit!(this.#key, pixels));
    if (head === undefined) throw this.#missing(index);
    if (head === null || head.length < RECORD_CHECKSUM_BYTES) return undefined;
    const verified = this.#verified;
    if (verified === null || verified[index] === 0) {
      const problem = checkSplitRecord(head, pixels);
      if (problem !== null) throw this.#damaged(index, `is damaged: ${problem}`);
    }
    let record: Omit<SampleRecord, 'data'>;
    try {
      record = unpackRecordHead(head.subarray(RECORD_CHECKSUM_BYTES), this.#splitPixels);
    } catch {
      // Another writer's layout ("data" not last): every record of the store is likely alike, so this
      // reader stops splitting rather than reading each record twice.
      this.#splitPixels = 0;
      return undefined;
    }
    this.#checkFits(index, record);
    if (verified !== null) verified[index] = 1;
    return sampleInfo(record);
  }

  /** A record must fit the header: a reader fills fixed-size batch slots from it. */
  #checkFits(index: number, record: Omit<SampleRecord, 'data'>): void {
    const { shape, label } = record;
    const expected = this.header.shape;
    if (this.#variable) {
      if (shape[2] !== expected[2]) throw this.#damaged(index, `has ${shape[2]} channels but the header says ${expected[2]}`);
      const bytes = shapeByteLength(shape);
      if (bytes > this.header.maxSampleBytes!) {
        throw this.#damaged(index, `has shape ${JSON.stringify(shape)}, ${bytes} bytes, more than the header's maxSampleBytes ${this.header.maxSampleBytes}`);
      }
    } else if (shape[0] !== expected[0] || shape[1] !== expected[1] || shape[2] !== expected[2]) {
      throw this.#damaged(index, `has shape ${JSON.stringify(shape)} but the header says ${JSON.stringify(expected)}`);
    }
    const labels = this.header.labelNames;
    if (labels && label !== null && label >= labels.length) {
      throw this.#damaged(index, `has label ${label} but the header names only ${labels.length} labels`);
    }
    // Format 1.1, multi-label: every index must name a label (a record of another store has none).
    const many = record.labels;
    if (many !== undefined && many.some((n) => labels === null || n >= labels.length)) {
      throw this.#damaged(index, `has labels ${JSON.stringify(many)} but the header names only ${labels?.length ?? 0} labels`);
    }
  }

  #damaged(index: number, what: string, cause?: unknown): StoreDamagedError {
    const message = `Store ${this.path} record ${index} (key ${this.#key.toString('hex')}) ${what}`;
    return new StoreDamagedError(this.path, index, message, cause === undefined ? undefined : { cause });
  }

  #missing(index: number): StoreDamagedError {
    return new StoreDamagedError(
      this.path,
      index,
      `Store ${this.path} has no record ${index} (key ${this.#key.toString('hex')}) although its header counts ${this.header.count}`,
    );
  }

  /**
   * The stored bytes of record `index` (checksum envelope and codec payload), unchecked, as a view that
   * the next read in this thread may overwrite: lmdb-js's shared buffer for small values, a view into
   * the memory map for large ones. For tooling and benchmarks that must not copy.
   */
  getStoredView(index: number): Uint8Array {
    this.#writeKey(index);
    const value = this.#lookup(index, () => this.#snapshot.record(this.#key, this.#maxStoredBytes));
    if (value === undefined) throw this.#missing(index);
    return value;
  }

  /**
   * An engine lookup of record `index`. A damaged LMDB page on the way to the record (the TypeScript
   * engine checks every page) is the record's damage, by index, as a checksum mismatch is, so that
   * SafeDataset and verify report it.
   */
  #lookup<T>(index: number, read: () => T): T {
    try {
      return read();
    } catch (cause) {
      if (!(cause instanceof StoreFormatError) || cause.reason !== 'damaged') throw cause;
      throw this.#damaged(index, `cannot be read: ${cause.message}`, cause);
    }
  }

  /** Checks `index` and that the reader is open, then writes its record key into the reused key buffer. */
  #writeKey(index: number): void {
    if (!isValidIndex(index, this.header.count)) {
      throw invalidOption('index', `integer from 0 to ${this.header.count - 1}`, index);
    }
    if (this.#closed) throw new ClosedError(`Store reader for ${this.path} is closed`);
    writeRecordKey(this.#key, index);
  }

  /** The stored bytes of record `index` (checksum envelope and codec payload), copied: for verification and tooling. */
  getStoredBytes(index: number): Buffer {
    return Buffer.from(this.getStoredView(index));
  }

  *[Symbol.iterator](): Iterator<Sample> {
    for (let i = 0; i < this.header.count; i++) yield this.get(i);
  }

  /** How many records and rejects the store holds (for verification; the header says how many it should). */
  countEntries(): { records: number; rejects: number } {
    return this.#snapshot.counts();
  }

  /** Inputs the conversion rejected, with their reasons, in the order they were met. */
  rejects(): RejectRecord[] {
    const out: RejectRecord[] = [];
    // Same snapshot as the records (a running conversion may have committed more since).
    for (const value of this.#snapshot.rejects(this.header.rejected)) {
      const { name, reason } = unpackPlain(value) as RejectRecord;
      out.push({ name: String(name), reason: String(reason) });
    }
    return out;
  }

  /** Ends the reader's snapshot; reading afterwards is an error. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#snapshot.close();
  }
}

/** For worker threads (see `toSource`): loads the codec's module, then opens the store as `openStore` does. */
export async function openStoreWithCodecModule(codecModule: string, path: string, options: OpenStoreOptions = {}): Promise<StoreReader> {
  await registerCodecsFrom(codecModule, options.codecs);
  return openStore(path, options);
}

/**
 * Opens a finished store for reading. Each way a path can fail to be one is a StoreFormatError
 * whose `reason` says which; a codec that is not registered is an UnknownCodecError.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): StoreReader {
  if (typeof path !== 'string' || path.length === 0) throw invalidOption('path', 'non-empty string', path);
  expectKnownKeys('', options, ['codecs', 'allowIncomplete', 'verify', 'engine']);
  const codecs = options.codecs ?? defaultCodecs;
  const verify = expectOneOf('verify', options.verify ?? 'always', VERIFY_MODES);
  const allowIncomplete = expectBoolean('allowIncomplete', options.allowIncomplete ?? false);
  const engine = expectOneOf('engine', options.engine ?? 'auto', STORE_ENGINES);
  if (engine === 'lmdb-js' && !tryLoadLmdb()) {
    throw new InvalidOptionError('engine', `engine 'lmdb-js' cannot load on ${process.platform}-${process.arch}: ${lmdbLoadError()?.message.split('\n')[0]}`);
  }
  if (!existsSync(path)) throw new StoreFormatError(path, 'missing', `No store at ${path}: nothing exists there`);
  if (!statSync(path).isDirectory()) {
    throw new StoreFormatError(path, 'not-a-store', `${path} is a file; an imgstore store is a folder holding data.mdb`);
  }
  const dataFile = join(path, 'data.mdb');
  if (!existsSync(dataFile)) {
    throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore store: it has no data.mdb`);
  }
  const check = checkLmdbDataFile(dataFile);
  switch (check.format) {
    case 'v1':
      if (check.damage) {
        throw new StoreFormatError(path, 'damaged', `Store ${path} is damaged and was not opened: data.mdb ${check.damage}`);
      }
      break;
    case 'v2':
      throw new StoreFormatError(
        path,
        'lmdb-data-format',
        `Store ${path} uses LMDB data format v2 (written by a default lmdb-js build); imgstore stores use the standard data format v1`,
      );
    case 'unreadable':
      throw new StoreFormatError(path, 'not-a-store', `Cannot read ${dataFile}`);
    default:
      throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore store: data.mdb is not an LMDB file`);
  }
  // Everything (header, checkpoint, records) is read in one snapshot, pinned for the reader's life.
  // allowIncomplete may meet a store whose writer still runs: where lmdb-js loads, 'auto' lets it read
  // the file from the start (the TypeScript reader could meet pages the writer is reusing).
  const lmdbFirst = engine === 'lmdb-js' || (engine === 'auto' && allowIncomplete && tryLoadLmdb() !== undefined);
  let snapshot = lmdbFirst ? openLmdbJsSnapshot(path) : openLmdbFileSnapshot(path);
  try {
    let headerBytes = snapshot.meta(HEADER_KEY);
    if (headerBytes !== undefined && lmdbFirst && engine === 'auto') {
      // A finished store after all: read it with the TypeScript reader, as 'auto' does.
      snapshot.close();
      snapshot = openLmdbFileSnapshot(path);
      headerBytes = snapshot.meta(HEADER_KEY);
    }
    let header: StoreHeader;
    if (headerBytes !== undefined) {
      header = readHeader(path, snapshot, headerBytes, codecs);
    } else {
      const settingsBytes = snapshot.meta(SETTINGS_KEY);
      if (settingsBytes === undefined) {
        throw new StoreFormatError(path, 'not-a-store', `${path} is an LMDB environment but not an imgstore store`);
      }
      const checkpoint = decodeCheckpoint(snapshot.meta(CHECKPOINT_KEY));
      if (!allowIncomplete) {
        throw new StoreFormatError(
          path,
          'incomplete',
          `Store ${path} has no header: its conversion did not finish (${checkpoint.records} records committed). ` +
            'Resume the conversion, or open it with allowIncomplete to read the committed records.',
        );
      }
      header = headerOfUnfinishedStore(path, settingsBytes, checkpoint);
    }
    const codec = codecs.get(header.codec);
    return new StoreReader(path, snapshot, header, codec, headerBytes !== undefined, verify, engine);
  } catch (error) {
    snapshot.close();
    throw error;
  }
}

/** What readInto returns of a record besides its pixels: label and shape, and multi-label labels and metadata where present. */
function sampleInfo(record: Omit<SampleRecord, 'data'>): SampleInfo {
  const info: SampleInfo = { label: record.label, shape: record.shape };
  if (record.labels !== undefined) info.labels = record.labels;
  if (record.meta !== undefined) info.meta = record.meta;
  return info;
}
