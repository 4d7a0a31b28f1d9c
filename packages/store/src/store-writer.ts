import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECKPOINT_KEY,
  FORMAT_NAME,
  FORMAT_VERSION,
  FORMAT_MINOR_VERSION,
  HEADER_KEY,
  HEADER_CRC_KEY,
  ResumeMismatchError,
  SETTINGS_KEY,
  StoreExistsError,
  StoreFormatError,
  StoreWriteError,
  WRITER_LOCK_FILE,
  RECORD_CHECKSUM_BYTES,
  expectBoolean,
  expectKnownKeys,
  expectNonNegativeInteger,
  expectPositiveInteger,
  invalidOption,
  isVariableShape,
  shapeByteLength,
  type Codec,
  type SampleRecord,
  type Shape,
  type StoreHeader,
  type StoreProvenance,
} from '@imgstore/core';
import { DEFAULT_CODEC_ID, defaultCodecs, packPlain, packRecordWithHeadroom, rawCodec, unpackPlain, type CodecRegistry } from '@imgstore/codec';
import { forgetReaderDatabases, openWriterDatabases, type StoreDatabases } from './lmdb-env.js';
import { loadLmdbForWriting } from './load-lmdb.js';
import { recordKey } from './record-key.js';
import { sealRecord, sealRecordInPlace } from './record-envelope.js';
import { acquireWriterLock, type WriterLock } from './writer-lock.js';
import { APPEND_KEY, decodeCheckpoint, type AppendState, type Checkpoint, type WriterSettings } from './writer-state.js';
import { decodeHeader, encodeHeader } from './store-header.js';
import { crc32 } from './crc32.js';

export interface StoreWriterOptions {
  /**
   * Shape every record must have, [height, width, channels]. Required. `[0, 0, channels]` makes a
   * variable-size store: each record has its own height and width (and `maxSampleBytes` bounds them).
   */
  shape: Shape;
  /** Variable-size stores (required there): the most bytes one record's pixels may take. */
  maxSampleBytes?: number;
  /** Codec id or instance. Default `'raw'`. */
  codec?: string | Codec;
  /** Where codec ids are resolved. Default: the process-wide registry of @imgstore/codec. */
  codecs?: CodecRegistry;
  /** Class names by label index, or null for unlabeled data. Default null. */
  labelNames?: string[] | null;
  /**
   * Each record lists its labels (`labels`, indices into `labelNames`) and has `label` null: format
   * 1.1's multi-label store (header `multiLabel`, no `labelCounts`). Default false.
   */
  multiLabel?: boolean;
  /** Replace an existing store at the path. Default false: an existing store is an error. */
  overwrite?: boolean;
  /**
   * Continue the unfinished store at the path (one whose writer never called `finish()`): its records,
   * rejects and checkpoint are kept and appending goes on after them. The store must have been started
   * with the same shape, codec, label names and `jobId`. Default false.
   */
  resume?: boolean;
  /**
   * Add records to the finished store at the path, after its last one. Its header stays as it was until
   * `finish()` rewrites it (in one transaction with the last batch's checkpoint), so readers see the store
   * as before the append until then, and a kill at any point leaves that store readable. `shape`, `codec`
   * (and `maxSampleBytes`) must be the store's; `labelNames` the store's names followed by any new ones.
   * An interrupted append is continued with `resume` (same `jobId`); without it, it is refused.
   * Default false.
   */
  append?: boolean;
  /** Identifies the job (e.g. a digest of the input list), so that a resume refuses another job's store. */
  jobId?: string;
  /** Most records (and rejects) per LMDB write transaction. Default 64. */
  recordsPerCommit?: number;
  /**
   * A transaction is also committed once its values reach this many bytes. Default 4 MiB: ~20 records
   * at 256×256×3. Smaller transactions convert faster (LMDB allocates a transaction's pages and frees
   * them at commit; 13 MB at a time cost page faults): on the corpus, 20 records per commit gave 1.24×
   * the images/s of 64.
   */
  bytesPerCommit?: number;
  /** Informative facts recorded in the header (tool, source folder, settings). */
  provenance?: Partial<StoreProvenance>;
  /**
   * The most the data file may grow to, in bytes. Default DEFAULT_MAP_SIZE (1 TiB): on
   * Linux and macOS this reserves address space only, the file grows with the data. The lmdb-js build
   * that writes data format v1 cannot grow its map while open (and crashes when reopened to do so), so
   * the ceiling is set up front; a store that outgrows it fails with StoreWriteError, earlier commits kept.
   */
  mapSize?: number;
}

/** 1 TiB of address space; 1 GiB on Windows, where LMDB preallocates the file to the map size. */
export const DEFAULT_MAP_SIZE = process.platform === 'win32' ? 2 ** 30 : 2 ** 40;

const KNOWN_OPTIONS = [
  'shape',
  'maxSampleBytes',
  'codec',
  'codecs',
  'labelNames',
  'multiLabel',
  'overwrite',
  'resume',
  'append',
  'jobId',
  'recordsPerCommit',
  'bytesPerCommit',
  'provenance',
  'mapSize',
];
/** Files a store folder holds; anything else in the folder means it is not only a store. */
const STORE_FILES = new Set(['data.mdb', 'lock.mdb', WRITER_LOCK_FILE]);

/** A put, or with a null value a delete. */
type Entry = [db: StoreDatabases['records'], key: Buffer, value: Buffer | null];

/**
 * Writes a store. Records are appended in index order and committed in batches; each commit also
 * carries the rejects and a checkpoint (`position`, set by the caller: e.g. inputs handled so far),
 * so a crash at any moment leaves every committed record intact and a resume knows where to go on.
 * The header is written last by `finish()`, so a store whose writer never finished is recognisably
 * incomplete.
 */
export class StoreWriter {
  readonly path: string;
  readonly codec: Codec;
  readonly shape: Shape;
  /** The most bytes one record's pixels may take: the shape's size, or the variable-size bound. */
  readonly maxSampleBytes: number;
  readonly labelNames: string[] | null;
  readonly multiLabel: boolean;
  /** The checkpoint position the store had when it was opened: 0 for a new store. */
  readonly resumedAt: number;
  #dbs: StoreDatabases;
  #pending: Entry[] = [];
  #count = 0;
  /** Records per label (labeled stores), committed in every checkpoint so a resume keeps it exact. */
  #labelCounts: number[] | null = null;
  #rejected = 0;
  #position = 0;
  #recordsPerCommit: number;
  #bytesPerCommit: number;
  #pendingBytes = 0;
  #provenance: Partial<StoreProvenance>;
  #closed = false;
  #headerWritten = false;
  #failed: StoreWriteError | null = null;
  #lock: WriterLock;
  /** Append mode: the store's header before the append, and the append's job id. */
  #append: { header: StoreHeader; jobId: string | null; base: { records: number; rejected: number } } | null = null;

  constructor(path: string, options: StoreWriterOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
    expectKnownKeys('', options, KNOWN_OPTIONS);
    const { shape, codec = DEFAULT_CODEC_ID, codecs = defaultCodecs, labelNames = null, jobId = null } = options;
    const variable = Array.isArray(shape) && shape.length === 3 && isVariableShape(shape as Shape);
    if (
      !Array.isArray(shape) ||
      shape.length !== 3 ||
      !shape.every((n, i) => Number.isInteger(n) && (n > 0 || (variable && i < 2)))
    ) {
      throw invalidOption('shape', '[height, width, channels] of positive integers, or [0, 0, channels] for variable size', shape);
    }
    if (!variable && options.maxSampleBytes !== undefined) {
      throw invalidOption('maxSampleBytes', 'no value for a fixed shape (it applies to [0, 0, channels] only)', options.maxSampleBytes);
    }
    this.maxSampleBytes = variable ? expectPositiveInteger('maxSampleBytes', options.maxSampleBytes) : shapeByteLength(shape as Shape);
    if (labelNames !== null && !(Array.isArray(labelNames) && labelNames.every((n) => typeof n === 'string'))) {
      throw invalidOption('labelNames', 'array of strings or null', labelNames);
    }
    if (jobId !== null && typeof jobId !== 'string') throw invalidOption('jobId', 'string', jobId);
    const overwrite = expectBoolean('overwrite', options.overwrite ?? false);
    const resume = expectBoolean('resume', options.resume ?? false);
    const append = expectBoolean('append', options.append ?? false);
    if (append && overwrite) throw invalidOption('overwrite', 'false with append (an append keeps the store)', overwrite);
    this.#recordsPerCommit = expectPositiveInteger('recordsPerCommit', options.recordsPerCommit ?? 64);
    this.#bytesPerCommit = expectPositiveInteger('bytesPerCommit', options.bytesPerCommit ?? 4 * 1024 * 1024);
    // A codec object is used as given (e.g. a JPEG codec at another quality) and registered only when
    // its id is new, so that readers in this process resolve it too.
    this.codec = typeof codec === 'string' ? codecs.get(codec) : codecs.has(codec.id) ? codec : codecs.register(codec).get(codec.id);
    this.codec.checkShape?.([shape[0], shape[1], shape[2]]);
    this.path = path;
    this.shape = [shape[0], shape[1], shape[2]];
    this.labelNames = labelNames;
    this.multiLabel = expectBoolean('multiLabel', options.multiLabel ?? false);
    if (this.multiLabel && labelNames === null) throw invalidOption('labelNames', 'label names with multiLabel', null);
    // Counts of a multi-label store would not sum to its record count, which readers check.
    this.#labelCounts = labelNames && !this.multiLabel ? labelNames.map(() => 0) : null;
    this.#provenance = options.provenance ?? {};
    const mapSize = expectPositiveInteger('mapSize', options.mapSize ?? DEFAULT_MAP_SIZE);
    const settings: WriterSettings = {
      shape: [...this.shape],
      codec: this.codec.id,
      labelNames,
      jobId,
      ...(variable ? { maxSampleBytes: this.maxSampleBytes } : {}),
    };

    // Where lmdb-js's binary cannot load, fail before any file is created or replaced.
    loadLmdbForWriting(path);
    if (append && !existsSync(join(path, 'data.mdb'))) {
      throw new StoreFormatError(path, 'missing', `No store at ${path} to append to (convert into it without append first)`);
    }
    const resuming = !append && resume && existsSync(join(path, 'data.mdb'));
    const replaced = resuming || append ? [] : prepareStoreFolder(path, overwrite);
    // Locked before anything is replaced or opened: a live writer's store is never touched.
    this.#lock = acquireWriterLock(path);
    try {
      for (const name of replaced) rmSync(join(path, name), { force: true });
      try {
        this.#dbs = openWriterDatabases(path, mapSize);
        // A writer's environment on the file can make this thread's cached reader environment fail reads
        // with EINVAL (lmdb-js) even when nothing is committed (a refused resume): drop it now.
        forgetReaderDatabases(path);
      } catch (cause) {
        throw new StoreWriteError(path, `Cannot open store ${path} for writing: ${(cause as Error).message}`, { cause });
      }
      try {
        if (append) this.#loadForAppend(settings, resume);
        else if (resuming) this.#loadForResume(settings);
        else this.#dbs.env.transactionSync(() => this.#dbs.meta.put(Buffer.from(SETTINGS_KEY), packPlain(settings)));
      } catch (error) {
        void this.#dbs.env.close();
        throw error;
      }
    } catch (error) {
      this.#lock.release();
      throw error;
    }
    this.resumedAt = this.#position;
  }

  /** Records appended so far (committed or pending). */
  get count(): number {
    return this.#count;
  }

  get rejected(): number {
    return this.#rejected;
  }

  /** The caller's progress marker, committed with the next batch (e.g. inputs handled so far). */
  get position(): number {
    return this.#position;
  }

  set position(value: number) {
    this.#position = expectNonNegativeInteger('position', value);
  }

  /** Append mode: the store's record and reject counts before the append (0 and 0 otherwise). */
  get base(): { records: number; rejected: number } {
    return this.#append ? { ...this.#append.base } : { records: 0, rejected: 0 };
  }

  /** Appends a record as the next index and returns that index; commits when a batch is full. */
  async append(record: SampleRecord): Promise<number> {
    this.#assertOpen();
    const { shape, data } = record;
    if (isVariableShape(this.shape)) {
      if (!(shape[2] === this.shape[2] && Number.isInteger(shape[0]) && Number.isInteger(shape[1]) && shape[0] > 0 && shape[1] > 0)) {
        throw invalidOption('record.shape', `[height, width, ${this.shape[2]}] of positive integers`, shape);
      }
      if (shapeByteLength(shape) > this.maxSampleBytes) {
        throw invalidOption('record.shape', `at most ${this.maxSampleBytes} bytes of pixels (maxSampleBytes)`, shape);
      }
    } else if (shape[0] !== this.shape[0] || shape[1] !== this.shape[1] || shape[2] !== this.shape[2]) {
      throw invalidOption('record.shape', `the store's shape ${JSON.stringify(this.shape)}`, shape);
    }
    if (!(data instanceof Uint8Array) || data.length !== shapeByteLength(shape)) {
      throw invalidOption('record.data', `Uint8Array of ${shapeByteLength(shape)} bytes`, data?.length);
    }
    // Every reader refuses a record whose label the header cannot name: refuse it here, before it is stored.
    if (this.labelNames === null || this.multiLabel) {
      if (record.label !== null) throw invalidOption('record.label', `null (the store has ${this.multiLabel ? 'labels lists' : 'no label names'})`, record.label);
      const many = record.labels;
      if (this.multiLabel !== (many !== undefined) || (many && !many.every((n) => Number.isInteger(n) && n >= 0 && n < this.labelNames!.length))) {
        throw invalidOption('record.labels', this.multiLabel ? `array of integers from 0 to ${this.labelNames!.length - 1}` : 'absent (not a multi-label store)', many);
      }
    } else if (!(Number.isInteger(record.label) && record.label! >= 0 && record.label! < this.labelNames.length)) {
      throw invalidOption('record.label', `integer from 0 to ${this.labelNames.length - 1}`, record.label);
    }
    const index = this.#count++;
    if (this.#labelCounts && record.label !== null) this.#labelCounts[record.label]!++;
    // Raw records are packed straight behind their checksum: the pixels are copied once, not twice.
    const value =
      this.codec === rawCodec ? sealRecordInPlace(packRecordWithHeadroom(record, RECORD_CHECKSUM_BYTES)) : sealRecord(this.codec.encode(record));
    this.#pending.push([this.#dbs.records, recordKey(index), value]);
    this.#pendingBytes += value.length;
    await this.#commitIfFull();
    return index;
  }

  /** Records an input that did not become a record, with the reason; `info --rejects` lists them. */
  async reject(name: string, reason: string): Promise<void> {
    this.#assertOpen();
    const seq = this.#rejected++;
    this.#pending.push([this.#dbs.rejects, recordKey(seq), packPlain({ name, reason })]);
    await this.#commitIfFull();
  }

  /** Commits pending records and rejects, with the checkpoint. */
  async flush(): Promise<void> {
    if (this.#failed) throw this.#failed;
    const checkpoint: Checkpoint = {
      position: this.#position,
      records: this.#count,
      rejected: this.#rejected,
      ...(this.#labelCounts ? { labelCounts: [...this.#labelCounts] } : {}),
    };
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#append) {
      // An append leaves meta/checkpoint (the store's first conversion) alone: its state is meta/append.
      const { jobId, base } = this.#append;
      const state: AppendState = { ...checkpoint, jobId, labelNames: this.labelNames, base };
      batch.push([this.#dbs.meta, Buffer.from(APPEND_KEY), packPlain(state)]);
    } else {
      batch.push([this.#dbs.meta, Buffer.from(CHECKPOINT_KEY), packPlain(checkpoint)]);
    }
    await this.#commit(batch);
  }

  /** Commits everything, writes the header (making the store complete), closes, returns the header. */
  async finish(): Promise<StoreHeader> {
    this.#assertOpen();
    try {
      await this.flush();
    } catch (error) {
      await this.close(); // releases the writer lock; commits nothing more after a failure
      throw error;
    }
    const header: StoreHeader = this.#append ? this.#appendedHeader(this.#append.header) : {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      minorVersion: FORMAT_MINOR_VERSION,
      ...(this.multiLabel ? { multiLabel: true } : {}),
      codec: this.codec.id,
      count: this.#count,
      shape: this.shape,
      ...(isVariableShape(this.shape) ? { maxSampleBytes: this.maxSampleBytes } : {}),
      dtype: 'uint8',
      layout: 'HWC',
      colorSpace: 'srgb',
      labelNames: this.labelNames,
      rejected: this.#rejected,
      ...(this.#labelCounts ? { labelCounts: this.#labelCounts } : {}),
      provenance: {
        tool: '@imgstore/store',
        toolVersion: '0',
        createdAt: new Date().toISOString(),
        ...this.#provenance,
      },
    };
    try {
      // The header's CRC-32 in the same transaction: readers refuse a header that does not match it.
      const bytes = encodeHeader(header);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32(bytes), 0);
      await this.#commit([
        [this.#dbs.meta, Buffer.from(HEADER_KEY), bytes],
        [this.#dbs.meta, Buffer.from(HEADER_CRC_KEY), crc],
        // The append ends in the same transaction that makes its records part of the store.
        ...(this.#append ? ([[this.#dbs.meta, Buffer.from(APPEND_KEY), null]] as Entry[]) : []),
      ]);
      this.#headerWritten = true;
    } finally {
      await this.close();
    }
    return header;
  }

  /** Commits pending records and closes without a header: the store stays incomplete and resumable. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // After a failed commit the writer's counts are ahead of the file: commit nothing more, so the
      // checkpoint keeps describing exactly the records that exist and a resume goes on from there.
      // After the header, nothing more: a flush would write meta/append (an append) back.
      if (!this.#failed && !this.#headerWritten) await this.flush();
    } finally {
      try {
        await this.#dbs.env.close();
      } finally {
        this.#lock.release();
      }
    }
  }

  async #commitIfFull(): Promise<void> {
    if (this.#pending.length >= this.#recordsPerCommit || this.#pendingBytes >= this.#bytesPerCommit) await this.flush();
  }

  async #commit(entries: Entry[]): Promise<void> {
    try {
      // Synchronous: committed (and synced) when it returns, and a failure is a plain throw here, never a
      // rejection left behind by lmdb-js's asynchronous writer. Decoding goes on in sharp's threads.
      this.#dbs.env.transactionSync(() => {
        for (const [db, key, value] of entries) {
          if (value === null) db.removeSync(key);
          else db.putSync(key, value);
        }
      });
      forgetReaderDatabases(this.path);
    } catch (cause) {
      this.#failed = new StoreWriteError(this.path, `Cannot write to store ${this.path}: ${(cause as Error).message}`, {
        cause,
      });
      throw this.#failed;
    }
  }

  /** Picks up an unfinished store: checks its settings, then counts what it holds. */
  #loadForResume(expected: WriterSettings): void {
    const { meta, records, rejects } = this.#dbs;
    if (meta.getBinary(Buffer.from(HEADER_KEY)) !== undefined) {
      throw new StoreExistsError(this.path, `Store ${this.path} is already complete; there is nothing to resume`);
    }
    const settingsBytes = meta.getBinary(Buffer.from(SETTINGS_KEY));
    if (settingsBytes === undefined) {
      throw new StoreFormatError(this.path, 'not-a-store', `${this.path} is not an unfinished imgstore store; cannot resume it`);
    }
    const found = unpackPlain(settingsBytes) as WriterSettings;
    for (const key of ['shape', 'codec', 'labelNames', 'jobId', 'maxSampleBytes'] as const) {
      if (JSON.stringify(found[key]) !== JSON.stringify(expected[key])) {
        throw new ResumeMismatchError(
          this.path,
          `Cannot resume ${this.path}: it was started with ${key} ${JSON.stringify(found[key])}, not ${JSON.stringify(expected[key])}` +
            (key === 'jobId' ? ' (the inputs changed since)' : ''),
        );
      }
    }
    const checkpointBytes = meta.getBinary(Buffer.from(CHECKPOINT_KEY));
    const checkpoint = decodeCheckpoint(checkpointBytes);
    // The checkpoint is committed in the same transaction as the records it counts, so they agree.
    const recordCount = records.getKeysCount();
    const rejectCount = rejects.getKeysCount();
    if (recordCount !== checkpoint.records || rejectCount !== checkpoint.rejected) {
      throw new StoreFormatError(
        this.path,
        'not-a-store',
        `Cannot resume ${this.path}: its checkpoint counts ${checkpoint.records} records and ${checkpoint.rejected} rejects but it holds ${recordCount} and ${rejectCount}`,
      );
    }
    this.#count = recordCount;
    // A checkpoint of an earlier writer version has no label counts: recount what was committed.
    if (this.#labelCounts) this.#labelCounts = checkpoint.labelCounts ?? this.#countLabels(recordCount);
    this.#rejected = rejectCount;
    this.#position = checkpoint.position;
  }

  /**
   * Append mode: checks the finished store's header against this writer's settings, then counts from its
   * end, or, resuming an interrupted append, from that append's state (meta/append).
   */
  #loadForAppend(expected: WriterSettings, resume: boolean): void {
    const { meta, records, rejects } = this.#dbs;
    const path = this.path;
    const headerBytes = meta.getBinary(Buffer.from(HEADER_KEY));
    if (headerBytes === undefined) {
      if (meta.getBinary(Buffer.from(SETTINGS_KEY)) === undefined) {
        throw new StoreFormatError(path, 'not-a-store', `${path} is not an imgstore store; cannot append to it`);
      }
      throw new StoreFormatError(path, 'incomplete', `Store ${path} is unfinished (its conversion did not finish): resume that conversion (--resume) before appending to it`);
    }
    const header = decodeHeader(path, headerBytes);
    const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
    if (differs(header.shape, expected.shape)) throw invalidOption('shape', `the shape of store ${path}, ${JSON.stringify(header.shape)}`, expected.shape);
    if (header.codec !== expected.codec) throw invalidOption('codec', `the codec of store ${path}, '${header.codec}'`, expected.codec);
    if (header.maxSampleBytes !== expected.maxSampleBytes) {
      throw invalidOption('maxSampleBytes', `the maxSampleBytes of store ${path}, ${header.maxSampleBytes}`, expected.maxSampleBytes);
    }
    if ((header.multiLabel ?? false) !== this.multiLabel) {
      throw invalidOption('multiLabel', `${header.multiLabel ?? false} (as store ${path}: ${header.multiLabel ? 'a list of labels per record' : 'one label per record'})`, this.multiLabel);
    }
    const names = expected.labelNames;
    if (header.labelNames === null ? names !== null : names === null || differs(names.slice(0, header.labelNames.length), header.labelNames)) {
      throw invalidOption(
        'labelNames',
        header.labelNames === null ? `null (store ${path} is unlabeled)` : `the label names of store ${path} (${JSON.stringify(header.labelNames)}) followed by any new ones`,
        names,
      );
    }
    const recordCount = records.getKeysCount();
    const rejectCount = rejects.getKeysCount();
    const stateBytes = meta.getBinary(Buffer.from(APPEND_KEY));
    if (stateBytes !== undefined) {
      const state = unpackPlain(stateBytes) as AppendState;
      if (!resume) {
        throw new ResumeMismatchError(
          path,
          `An append into ${path} was interrupted after ${state.records - state.base.records} records; ` +
            'finish it first: the same command with --resume',
        );
      }
      for (const key of ['jobId', 'labelNames'] as const) {
        if (differs(state[key], expected[key])) {
          throw new ResumeMismatchError(
            path,
            `Cannot resume the append into ${path}: it was started with ${key} ${JSON.stringify(state[key])}, not ${JSON.stringify(expected[key])}` +
              (key === 'jobId' ? ' (the inputs or settings changed since)' : ''),
          );
        }
      }
      if (recordCount !== state.records || rejectCount !== state.rejected) {
        throw new StoreFormatError(
          path,
          'damaged',
          `Cannot resume the append into ${path}: its state counts ${state.records} records and ${state.rejected} rejects but the store holds ${recordCount} and ${rejectCount}`,
        );
      }
      this.#append = { header, jobId: expected.jobId, base: state.base };
      this.#count = state.records;
      this.#rejected = state.rejected;
      this.#position = state.position;
      if (this.#labelCounts) this.#labelCounts = state.labelCounts ?? this.#countLabels(state.records);
      return;
    }
    if (recordCount !== header.count || rejectCount !== header.rejected) {
      throw new StoreFormatError(
        path,
        'damaged',
        `Cannot append to ${path}: its header counts ${header.count} records and ${header.rejected} rejects but it holds ${recordCount} and ${rejectCount} (imgstore verify ${path})`,
      );
    }
    this.#append = { header, jobId: expected.jobId, base: { records: header.count, rejected: header.rejected } };
    this.#count = header.count;
    this.#rejected = header.rejected;
    if (this.#labelCounts) {
      const counts = header.labelCounts ?? this.#countLabels(header.count);
      this.#labelCounts = this.#labelCounts.map((_, i) => counts[i] ?? 0);
    }
  }

  /** The store's header before the append, with the counts and label names after it. */
  #appendedHeader(before: StoreHeader): StoreHeader {
    const { base } = this.#append!;
    const { labelCounts: _old, ...rest } = before;
    const added = { records: this.#count - base.records, rejected: this.#rejected - base.rejected };
    const provenance = before.provenance as StoreProvenance & { appends?: unknown[] };
    return {
      ...rest,
      // The appended records may use the fields of this writer's minor version (meta, labels).
      minorVersion: Math.max(before.minorVersion ?? 0, FORMAT_MINOR_VERSION),
      count: this.#count,
      labelNames: this.labelNames,
      rejected: this.#rejected,
      ...(this.#labelCounts ? { labelCounts: this.#labelCounts } : {}),
      // Informative: when and from where records were added (readers ignore unknown provenance fields).
      provenance: {
        ...provenance,
        appends: [
          ...(Array.isArray(provenance.appends) ? provenance.appends : []),
          { ...(this.#provenance.source === undefined ? {} : { source: this.#provenance.source }), at: new Date().toISOString(), ...added },
        ],
      } as StoreProvenance,
    };
  }

  #countLabels(records: number): number[] {
    const counts = this.labelNames!.map(() => 0);
    for (let i = 0; i < records; i++) {
      const value = this.#dbs.records.getBinaryFast(recordKey(i));
      const label = value ? this.codec.decode(value.subarray(RECORD_CHECKSUM_BYTES)).label : null;
      if (label !== null && label < counts.length) counts[label]!++;
    }
    return counts;
  }

  #assertOpen(): void {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new StoreWriteError(this.path, `Store writer for ${this.path} is already closed`);
  }
}

/** Opens a writer for a new store at `path` (or, with `resume`, for the unfinished store there). */
export function createStoreWriter(path: string, options: StoreWriterOptions): StoreWriter {
  return new StoreWriter(path, options);
}

/**
 * Checks that `path` may hold a new store, creating the folder if needed, and returns the files of the
 * store it replaces (with `overwrite`), which the caller removes once it holds the writer lock.
 */
function prepareStoreFolder(path: string, overwrite: boolean): string[] {
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) {
      throw new StoreExistsError(path, `${path} exists and is a file, not a store folder`);
    }
    const entries = readdirSync(path);
    const isStore = entries.includes('data.mdb') && entries.every((name) => STORE_FILES.has(name));
    if (entries.length > 0 && !isStore) {
      throw new StoreExistsError(path, `${path} exists and is a folder that is not an imgstore store; refusing to write into it`);
    }
    if (isStore && !overwrite) {
      throw new StoreExistsError(path, `Store ${path} already exists; pass overwrite (--overwrite) to replace it`);
    }
    return entries.filter((name) => name !== WRITER_LOCK_FILE);
  }
  try {
    mkdirSync(path, { recursive: true });
  } catch (cause) {
    throw new StoreWriteError(path, `Cannot create store folder ${path}: ${(cause as Error).message}`, { cause });
  }
  return [];
}
