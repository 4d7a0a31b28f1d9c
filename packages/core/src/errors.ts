/**
 * Typed errors shared by every imgstore package. Each has a stable `code` for programs and a message
 * that states the facts for people: what was expected, what was found, and where (option, file, key).
 */
export class ImgstoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option had the wrong type or value. `option` is its dotted path, e.g. `resize.width`. */
export class InvalidOptionError extends ImgstoreError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_IMGSTORE_INVALID_OPTION', message);
    this.option = option;
  }
}

/** The store header names a codec that is not registered here. */
export class UnknownCodecError extends ImgstoreError {
  readonly codecId: string;
  readonly registered: readonly string[];
  constructor(codecId: string, registered: readonly string[], hint?: string) {
    super(
      'ERR_IMGSTORE_UNKNOWN_CODEC',
      `Unknown codec "${codecId}"; registered codecs: ${registered.join(', ') || '(none)'}` + (hint ? `. ${hint}` : ''),
    );
    this.codecId = codecId;
    this.registered = registered;
  }
}

/** Why a path cannot be read as a store. */
export type StoreFormatReason =
  | 'missing' // nothing at the path
  | 'not-a-store' // not an LMDB environment, or an LMDB environment without imgstore data
  | 'incomplete' // an imgstore store whose header was never written (conversion did not finish)
  | 'version' // written by a newer format version than this reader reads
  | 'lmdb-data-format' // LMDB data format v2 (lmdb-js prebuilt default) where v1 is required
  | 'damaged' // an LMDB file whose meta pages are inconsistent or that is shorter than they say (truncated)
  | 'shards'; // a sharded dataset whose shards are missing, unfinished, changed, or disagree (shape, codec, labels)

/** A path is not a store this reader can open; `reason` says which case. */
export class StoreFormatError extends ImgstoreError {
  readonly path: string;
  readonly reason: StoreFormatReason;
  constructor(path: string, reason: StoreFormatReason, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_STORE_FORMAT', message, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A store exists where a new one was to be written, and overwriting was not asked for. */
export class StoreExistsError extends ImgstoreError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_IMGSTORE_STORE_EXISTS', message);
    this.path = path;
  }
}

/** Another live process holds the store's writer lock: two writers would interleave their records. */
export class StoreBusyError extends ImgstoreError {
  readonly path: string;
  /** The process id recorded in the lock file. */
  readonly pid: number;
  constructor(path: string, pid: number, message: string) {
    super('ERR_IMGSTORE_STORE_BUSY', message);
    this.path = path;
    this.pid = pid;
  }
}

/** Writing a store failed (unwritable folder, full disk, ...). The cause keeps the system error. */
export class StoreWriteError extends ImgstoreError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_STORE_WRITE', message, options);
    this.path = path;
  }
}

/** A record failed its checksum or could not be decoded: the store is damaged at that key. */
export class StoreDamagedError extends ImgstoreError {
  readonly path: string;
  readonly index: number;
  constructor(path: string, index: number, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_STORE_DAMAGED', message, options);
    this.path = path;
    this.index = index;
  }
}

/** Bytes could not be decoded: an image file (`source` is its path) or an encoded record. */
export class DecodeFailedError extends ImgstoreError {
  readonly source: string;
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_DECODE_FAILED', message, options);
    this.source = source;
  }
}

/** A dataset could not produce the sample at `index`; `cause` is the original error. */
export class SampleLoadError extends ImgstoreError {
  readonly index: number;
  constructor(index: number, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_SAMPLE_LOAD_FAILED', message, options);
    this.index = index;
  }
}

/** A store cannot be resumed with these settings: it was started with others (size, codec, inputs). */
export class ResumeMismatchError extends ImgstoreError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_IMGSTORE_RESUME_MISMATCH', message);
    this.path = path;
  }
}

/** A long operation was stopped (Ctrl-C, SIGTERM, an AbortSignal) after committing what it had. */
export class InterruptedError extends ImgstoreError {
  constructor(message: string) {
    super('ERR_IMGSTORE_INTERRUPTED', message);
  }
}
