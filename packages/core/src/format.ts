import type { Shape } from './sample.js';

/** Constants of the on-disk format; FORMAT.md at the repository root is their specification. */
export const FORMAT_NAME = 'imgstore';
export const FORMAT_VERSION = 1;
/**
 * Minor version this writer writes (header `minorVersion`; absent means 0). Minor versions add fields
 * that readers of an older minor version ignore and still read correctly: 1.1 adds a record's `meta`
 * and `labels` and the header's `multiLabel`. See FORMAT.md section 7.
 */
export const FORMAT_MINOR_VERSION = 1;
/**
 * Most bytes a record's `meta` and `labels` may take in msgpack: with the name and the other fields they
 * stay within the room readers allow beside the pixels (RECORD_OVERHEAD_BYTES, 64 KiB).
 */
export const MAX_META_BYTES = 48 * 1024;

/** Named LMDB databases inside a store environment. */
export const DB_META = 'meta';
export const DB_RECORDS = 'records';
export const DB_REJECTS = 'rejects';
/** How many named databases a store environment is opened with (room for later formats). */
export const MAX_DBS = 8;

/** Key of the header in the `meta` database (UTF-8 bytes). */
export const HEADER_KEY = 'header';
/**
 * `meta` key of the header's CRC-32 (4 bytes, little-endian, over the header's msgpack bytes), written in
 * the header's transaction. Stores written before it lack it; readers that do not know it ignore it.
 */
export const HEADER_CRC_KEY = 'header-crc32';
/** `meta` key of the settings a writer started with (shape, codec, labels, job id), checked on resume. */
export const SETTINGS_KEY = 'settings';
/** `meta` key of the writer's checkpoint, committed with every batch: how many inputs are fully handled. */
export const CHECKPOINT_KEY = 'checkpoint';

/** File in the store folder that a writer holds while it writes (JSON: pid, hostname, startedAt). */
export const WRITER_LOCK_FILE = 'writer.lock';

/** A sharded dataset: a folder of shard stores and this manifest (JSON) listing them. */
export const MANIFEST_FILE = 'dataset.json';
export const MANIFEST_FORMAT = 'imgstore-dataset';
export const MANIFEST_VERSION = 1;

/** Records are keyed by their index as a 4-byte big-endian unsigned integer, so LMDB order is index order. */
export const RECORD_KEY_BYTES = 4;
export const MAX_RECORDS = 0xffffffff;

/** Hard bounds on what a header may claim, checked before any of it sizes memory: one sample at most 1 GiB. */
export const MAX_SAMPLE_BYTES = 2 ** 30;
/** Largest height or width a header or record may give. */
export const MAX_SAMPLE_SIDE = 65535;
/** Channels of a sample: grey, grey+alpha, RGB, RGBA. */
export const MAX_CHANNELS = 4;

/** Bytes of the record envelope before the codec payload: CRC-32 (zlib polynomial), little-endian. */
export const RECORD_CHECKSUM_BYTES = 4;

/** LMDB meta page facts used to recognise a data file before handing it to native code. */
export const LMDB_MAGIC = 0xbeefc0de;
/** Data format v1 (liblmdb 0.9.x, py-lmdb, mdb_stat): magic at byte 16, version 1 at byte 20. */
export const LMDB_V1_MAGIC_OFFSET = 16;
/** Data format v2 (lmdb-js prebuilt default): magic at byte 24, version 2 at byte 28. */
export const LMDB_V2_MAGIC_OFFSET = 24;

/** How the store was made; informative only, readers never depend on it. */
export interface StoreProvenance {
  tool: string;
  toolVersion: string;
  createdAt: string;
  /** The converted folder as given on the command line (never resolved to an absolute path). */
  source?: string;
  /** Resize and conversion settings, e.g. `{ fit: 'cover', size: [256, 256] }`. */
  settings?: Record<string, unknown>;
}

/** The store header: a msgpack map under `meta/header`, written last. */
export interface StoreHeader {
  format: typeof FORMAT_NAME;
  version: number;
  /** Format 1.1 and later: the minor version (absent: 0). Readers of any 1.x read every 1.x store. */
  minorVersion?: number;
  /**
   * Format 1.1: true when each record carries `labels` (a list of class indices, multi-label) and `label`
   * is nil. Such a store has no `labelCounts`.
   */
  multiLabel?: boolean;
  codec: string;
  count: number;
  /**
   * Shape shared by every record, [height, width, channels]; `[0, 0, channels]` in a variable-size store,
   * whose records each carry their own height and width (see `isVariableShape`).
   */
  shape: Shape;
  /** Variable-size stores: the most bytes one record's pixels may take (readers refuse larger records). */
  maxSampleBytes?: number;
  dtype: 'uint8';
  layout: 'HWC';
  colorSpace: 'srgb';
  /** Class names by label index, or null when the store is unlabeled. */
  labelNames: string[] | null;
  /** Inputs that were rejected during conversion (listed in the `rejects` database). */
  rejected: number;
  /**
   * Records per label index, for labeled stores (optional: stores written before it lack it, and readers
   * must not require it).
   */
  labelCounts?: number[];
  provenance: StoreProvenance;
}

/** A rejected input, stored in the `rejects` database under a 4-byte big-endian sequence number. */
export interface RejectRecord {
  name: string;
  reason: string;
}
