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

/** The input of a conversion cannot be read: a folder that does not exist, a file that is not a folder. */
export class InputError extends ImgstoreError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_INPUT', message, options);
    this.path = path;
  }
}

/** An export would write a file outside the chosen folder (a record name with `..` or an absolute path). */
export class ExportPathError extends ImgstoreError {
  readonly index: number;
  readonly target: string;
  constructor(index: number, target: string, message: string) {
    super('ERR_IMGSTORE_EXPORT_PATH', message);
    this.index = index;
    this.target = target;
  }
}

/** A reader, loader or pool was used after `close()`. */
export class ClosedError extends ImgstoreError {
  constructor(message: string) {
    super('ERR_IMGSTORE_CLOSED', message);
  }
}

/** A worker thread failed or exited outside any one sample (its own crash, not a sample's error). */
export class WorkerFailedError extends ImgstoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_IMGSTORE_WORKER_FAILED', message, options);
  }
}

/** Samples that must share a shape (one batch) do not. */
export class ShapeMismatchError extends ImgstoreError {
  readonly index: number;
  constructor(index: number, message: string) {
    super('ERR_IMGSTORE_SHAPE_MISMATCH', message);
    this.index = index;
  }
}

/** What crosses a thread boundary for an error: structured-clone keeps neither its class nor its fields. */
export interface SerializedImgstoreError {
  name: string;
  code?: string | undefined;
  message: string;
  /** The error's own readonly fields (path, index, reason, option, ...). */
  fields?: Record<string, unknown> | undefined;
}

type ErrorClass = abstract new (...args: never[]) => ImgstoreError;

/** Every core error class with its name and code: what deserializeError rebuilds an error as. */
const coreErrors: [name: string, code: string, cls: ErrorClass][] = [
  ['InvalidOptionError', 'ERR_IMGSTORE_INVALID_OPTION', InvalidOptionError],
  ['UnknownCodecError', 'ERR_IMGSTORE_UNKNOWN_CODEC', UnknownCodecError],
  ['StoreFormatError', 'ERR_IMGSTORE_STORE_FORMAT', StoreFormatError],
  ['StoreExistsError', 'ERR_IMGSTORE_STORE_EXISTS', StoreExistsError],
  ['StoreBusyError', 'ERR_IMGSTORE_STORE_BUSY', StoreBusyError],
  ['StoreWriteError', 'ERR_IMGSTORE_STORE_WRITE', StoreWriteError],
  ['StoreDamagedError', 'ERR_IMGSTORE_STORE_DAMAGED', StoreDamagedError],
  ['DecodeFailedError', 'ERR_IMGSTORE_DECODE_FAILED', DecodeFailedError],
  ['SampleLoadError', 'ERR_IMGSTORE_SAMPLE_LOAD_FAILED', SampleLoadError],
  ['ResumeMismatchError', 'ERR_IMGSTORE_RESUME_MISMATCH', ResumeMismatchError],
  ['InterruptedError', 'ERR_IMGSTORE_INTERRUPTED', InterruptedError],
  ['InputError', 'ERR_IMGSTORE_INPUT', InputError],
  ['ExportPathError', 'ERR_IMGSTORE_EXPORT_PATH', ExportPathError],
  ['ClosedError', 'ERR_IMGSTORE_CLOSED', ClosedError],
  ['WorkerFailedError', 'ERR_IMGSTORE_WORKER_FAILED', WorkerFailedError],
  ['ShapeMismatchError', 'ERR_IMGSTORE_SHAPE_MISMATCH', ShapeMismatchError],
];
const classesByName = new Map<string, ErrorClass>([['ImgstoreError', ImgstoreError], ...coreErrors.map(([name, , cls]) => [name, cls] as const)]);
/** For subclasses defined in other packages: they keep their core parent's code. */
const classesByCode = new Map<string, ErrorClass>(coreErrors.map(([, code, cls]) => [code, cls] as const));

/** An error as plain data, to post to another thread (see `deserializeError`). */
export function serializeError(error: unknown): SerializedImgstoreError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'cause' || key === 'stack' || key === 'name' || key === 'message') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value) || Array.isArray(value)) fields[key] = value;
  }
  const code = (error as { code?: unknown }).code;
  return { name: error.name, code: typeof code === 'string' ? code : undefined, message: error.message, fields };
}

/**
 * The error another thread posted, rebuilt with its class when it is one of core's, so that
 * `instanceof StoreDamagedError` holds for an error raised in a DataLoader worker as in-thread.
 */
export function deserializeError(data: SerializedImgstoreError): Error {
  // A subclass defined outside core (a store package's own) comes back as the core class of its code.
  const cls = classesByName.get(data.name) ?? (data.code === undefined ? undefined : classesByCode.get(data.code));
  let error: Error;
  if (cls) {
    error = Object.create(cls.prototype) as Error;
    Object.defineProperty(error, 'message', { value: data.message, writable: true, configurable: true });
    Object.defineProperty(error, 'stack', { value: `${data.name}: ${data.message}\n    (raised in a worker thread)`, writable: true, configurable: true });
  } else {
    error = new Error(data.message);
  }
  error.name = data.name;
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  if (data.fields) Object.assign(error, data.fields);
  return error;
}
