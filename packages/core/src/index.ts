export {
  ImgstoreError,
  InvalidOptionError,
  UnknownCodecError,
  StoreFormatError,
  StoreExistsError,
  StoreBusyError,
  StoreWriteError,
  StoreDamagedError,
  DecodeFailedError,
  SampleLoadError,
  ResumeMismatchError,
  InterruptedError,
  InputError,
  ExportPathError,
  ClosedError,
  WorkerFailedError,
  ShapeMismatchError,
  serializeError,
  deserializeError,
} from './errors.js';
export type { StoreFormatReason, SerializedImgstoreError } from './errors.js';

export {
  describeValue,
  invalidOption,
  expectPositiveInteger,
  expectNonNegativeInteger,
  expectBoolean,
  expectOneOf,
  expectNonEmptyString,
  expectKnownKeys,
} from './validate.js';

export { isVariableShape, shapeByteLength } from './sample.js';
export type { Shape, RawImage, SampleRecord, Sample } from './sample.js';

export { isValidIndex } from './dataset.js';
export type { Dataset, DatasetSource, ReopenableDataset, SampleInfo, DirectReadDataset } from './dataset.js';

export type { Codec, DecodeLimits } from './codec.js';
export { RECORD_OVERHEAD_BYTES, isCodec } from './codec.js';

export {
  FORMAT_NAME,
  FORMAT_VERSION,
  FORMAT_MINOR_VERSION,
  MAX_META_BYTES,
  DB_META,
  DB_RECORDS,
  DB_REJECTS,
  MAX_DBS,
  HEADER_KEY,
  HEADER_CRC_KEY,
  SETTINGS_KEY,
  CHECKPOINT_KEY,
  RECORD_KEY_BYTES,
  WRITER_LOCK_FILE,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  MAX_RECORDS,
  MAX_SAMPLE_BYTES,
  MAX_SAMPLE_SIDE,
  MAX_CHANNELS,
  RECORD_CHECKSUM_BYTES,
  LMDB_MAGIC,
  LMDB_V1_MAGIC_OFFSET,
  LMDB_V2_MAGIC_OFFSET,
} from './format.js';
export type { StoreHeader, StoreProvenance, RejectRecord } from './format.js';
