import { availableParallelism } from 'node:os';
import {
  DecodeFailedError,
  InputError,
  ResumeMismatchError,
  InterruptedError,
  StoreFormatError,
  expectBoolean,
  expectKnownKeys,
  expectPositiveInteger,
  invalidOption,
  type Codec,
  type RejectRecord,
  type StoreHeader,
} from '@imgstore/core';
import { DecodePool, checkDecodeOptions, type CheckedDecodeOptions, type Channels, type Fit, type RawImage } from '@imgstore/image';
import { DEFAULT_CODEC_ID, defaultCodecs } from '@imgstore/codec';
import { appendInProgress, createStoreWriter, openStore } from '@imgstore/store';
import type { InputFile } from './scan-folder.js';
import { decodeInput, inputFields, scanInputs, type InputSourceOptions } from './input-source.js';
import { resolveWebDatasetShards } from './webdataset-shards.js';
import { scanWebDataset } from './scan-webdataset.js';
import { checkShardSpec, shardRange, type ShardSpec } from './shard-range.js';
import { registerBuiltInCodecs } from './load-codec.js';
import { createJpegCodec } from '@imgstore/codec-jpeg';
import { version } from '../package.json';

export interface ConvertFolderOptions extends InputSourceOptions {
  /**
   * Folder of images: class subfolders (labels) or any other layout (no labels; or labels from `labels`).
   * Or WebDataset tar shards: a brace pattern (`shards-{0000..0099}.tar`), one `.tar` file, or a folder
   * holding only `.tar` files (see resolveWebDatasetShards).
   */
  input: string;
  /** Store folder to create. */
  output: string;
  /** Output width. Default 256. */
  width?: number;
  /** Output height. Default 256. */
  height?: number;
  /** Instead of width × height: keep each image's aspect ratio, shorter side this many pixels (variable-size store). */
  shorterSide?: number;
  /** Instead of width × height: keep each image's size (variable-size store). */
  originalSize?: boolean;
  /** Default `'cover'`. */
  fit?: Fit;
  /** Replace an existing store. Default false. */
  overwrite?: boolean;
  /** Codec id, or a codec object (e.g. `createJpegCodec({ quality: 80 })`). Default `'raw'`. */
  codec?: string | Codec;
  /**
   * Images decoded or waiting to be written at once. Default: 16 per decode thread, fewer when the
   * images are large (at most ~96 MB of decoded pixels waiting). A deep window keeps the decode threads
   * busy while the main thread commits a batch to LMDB: on the corpus (2 CPUs) 32 gave 1.09× the
   * images/s of 8.
   */
  concurrency?: number;
  /**
   * Worker threads that read and decode inputs (plain JPEGs entirely there; other formats go on to
   * sharp's threads). Default: the CPU count.
   */
  threads?: number;
  /** Inputs with more pixels are rejected before decoding. Default: sharp's 268,402,689. */
  limitInputPixels?: number;
  /** 3: RGB (default), 1: grey, 4: RGBA. */
  channels?: Channels;
  /**
   * Continue an unfinished conversion into `output` (killed, interrupted, crashed): inputs already
   * committed are skipped without decoding; the result equals an uninterrupted run. A complete store is
   * left as it is. Default false.
   */
  resume?: boolean;
  /**
   * Add the folder's images to the finished store `output`, after its last record (see StoreWriter's
   * `append`). Size, fit, channels and codec default to the store's (a different one is refused); images
   * whose name the store already holds are skipped and counted (`skipped`); new label names are added
   * after the store's. With `resume`, an interrupted append is continued. Default false.
   */
  append?: boolean;
  /**
   * Convert only shard `index` of `count` of the folder's sorted inputs (contiguous, balanced ranges;
   * see shardRange). Every shard gets the whole folder's label names. Default: the whole folder.
   */
  shard?: ShardSpec;
  /** Stops the conversion: what is done is committed, the store stays resumable, InterruptedError is thrown. */
  signal?: AbortSignal;
  /** Called after each input is stored or rejected. */
  onProgress?: (progress: ConvertProgress) => void;
}

export interface ConvertProgress {
  done: number;
  total: number;
  stored: number;
  rejected: number;
}

export interface ConvertSummary {
  /** Append: inputs not converted because the store already held a record of that name. */
  skipped?: number;
  /** Hidden entries (names starting with `.`) of the input, left out: neither inputs nor rejects. */
  hidden?: number;
  /** Inputs that an earlier, interrupted run had already handled (0 for a fresh conversion). */
  resumedAt: number;
  /** True when `resume` found the store already complete and did nothing. */
  alreadyComplete: boolean;
  /** Inputs found in the folder. */
  read: number;
  /** Records written. */
  stored: number;
  /** Inputs that did not become records, with the reason. */
  rejects: RejectRecord[];
  header: StoreHeader;
  seconds: number;
}

const KNOWN = [
  'input',
  'output',
  'width',
  'height',
  'shorterSide',
  'originalSize',
  'fit',
  'overwrite',
  'codec',
  'concurrency',
  'threads',
  'limitInputPixels',
  'channels',
  'resume',
  'append',
  'shard',
  'signal',
  'onProgress',
  'labels',
  'meta',
  'strict',
];

type Decoded = { file: InputFile; image: RawImage } | { file: InputFile; reason: string };

/**
 * Converts a folder into a store: files in sorted order, several decoded at once, records written in
 * input order (so the result does not depend on concurrency), bad inputs listed and never stored.
 */
export async function convertFolder(givenOptions: ConvertFolderOptions): Promise<ConvertSummary> {
  if (typeof givenOptions !== 'object' || givenOptions === null) throw invalidOption('options', 'object', givenOptions);
  expectKnownKeys('', givenOptions, KNOWN);
  const append = expectBoolean('append', givenOptions.append ?? false);
  const target = append ? readAppendTarget(givenOptions) : null;
  const options = target ? { ...givenOptions, ...target.defaults } : givenOptions;
  const variable = options.shorterSide !== undefined || options.originalSize === true;
  if (variable && (options.width !== undefined || options.height !== undefined)) {
    throw invalidOption('width', 'no width or height with shorterSide or originalSize', options.width ?? options.height);
  }
  const decodeOptions = checkDecodeOptions({
    ...(options.shorterSide !== undefined
      ? { shorterSide: options.shorterSide }
      : options.originalSize === true
        ? { originalSize: true }
        : { width: options.width ?? 256, height: options.height ?? 256 }),
    fit: options.fit ?? 'cover',
    ...(options.limitInputPixels === undefined ? {} : { limitInputPixels: options.limitInputPixels }),
    ...(options.channels === undefined ? {} : { channels: options.channels }),
  });
  const threads = expectPositiveInteger('threads', options.threads ?? availableParallelism());
  const concurrency = expectPositiveInteger('concurrency', options.concurrency ?? defaultConcurrency(threads, decodeOptions));
  const overwrite = expectBoolean('overwrite', options.overwrite ?? false);
  const resume = expectBoolean('resume', options.resume ?? false);
  // The decode threads start loading now, while the folder is scanned and the store opened.
  const pool = new DecodePool({ threads });
  try {
    return await convertWithPool(options, pool, { decodeOptions, variable, concurrency, overwrite, resume, target });
  } finally {
    await pool.close();
  }
}

async function convertWithPool(
  options: ConvertFolderOptions,
  pool: DecodePool,
  checked: {
    decodeOptions: CheckedDecodeOptions;
    variable: boolean;
    concurrency: number;
    overwrite: boolean;
    resume: boolean;
    target: AppendTarget | null;
  },
): Promise<ConvertSummary> {
  const { decodeOptions, variable, concurrency, overwrite, resume, target } = checked;
  const { signal } = options;
  const started = performance.now();

  // WebDataset tar shards (a brace pattern, a .tar file, a folder of them) are streamed, never extracted.
  const shards = resolveWebDatasetShards(options.input);
  if (shards && (options.labels !== undefined || options.meta !== undefined)) {
    throw invalidOption(options.labels === undefined ? 'meta' : 'labels', 'no label or metadata file with WebDataset shards (their .cls and .json members are)', options.labels ?? options.meta);
  }
  const scan = shards ? await scanWebDataset(shards) : scanInputs(options);
  const shard = options.shard === undefined ? null : checkShardSpec(options.shard);
  const range = shard ? shardRange(scan.count, shard) : { first: 0, inputs: scan.count };
  // Append: the store's label names first, then the folder's new ones; folder label i is store label toStore[i].
  const labelNames = target ? mergeLabelNames(options.input, options.output, target.header.labelNames, scan.labelNames) : scan.labelNames;
  const toStore = target && scan.labelNames ? scan.labelNames.map((name) => labelNames!.indexOf(name)) : null;
  if (resume && !target) {
    const complete = completeStoreSummary(options.output, range.inputs);
    if (complete) return complete;
  }
  // A codec id is looked up with the built-ins registered, so 'jpeg' works from code as on the command line.
  if (typeof options.codec !== 'object') registerBuiltInCodecs();
  const codec = typeof options.codec === 'object' ? options.codec : defaultCodecs.get(options.codec ?? DEFAULT_CODEC_ID);
  const sizeLabel = decodeOptions.shorterSide ? `shorter:${decodeOptions.shorterSide}` : decodeOptions.originalSize ? 'original' : null;
  const writer = createStoreWriter(options.output, {
    // Variable size: each record keeps its own height and width, bounded by the pixel limit.
    shape: [decodeOptions.height, decodeOptions.width, decodeOptions.channels],
    ...(variable ? { maxSampleBytes: decodeOptions.limitInputPixels * decodeOptions.channels } : {}),
    labelNames,
    ...(scan.multiLabel ? { multiLabel: true } : {}),
    overwrite,
    resume,
    append: target !== null,
    // Everything that decides the records: a resume with other inputs or settings is refused.
    jobId:
      `inputs=${scan.count}:${scan.digest.slice(0, 16)} fit=${decodeOptions.fit} maxPixels=${decodeOptions.limitInputPixels}` +
      (decodeOptions.channels === 3 ? '' : ` channels=${decodeOptions.channels}`) +
      (sizeLabel ? ` size=${sizeLabel}` : '') +
      (shard ? ` shard=${shard.index}/${shard.count}` : '') +
      (target ? ` append-to=${target.header.count}` : '') +
      // The codec's description carries its encoding settings (a JPEG quality) that its id does not.
      ` codec=${JSON.stringify(codec.description)}`,
    codec,
    provenance: {
      tool: '@imgstore/convert',
      toolVersion: version,
      source: options.input,
      settings: {
        size: sizeLabel ?? [decodeOptions.width, decodeOptions.height],
        fit: decodeOptions.fit,
        channels: decodeOptions.channels,
        codec: codec.description,
        layout: scan.layout,
        ...(options.labels === undefined ? {} : { labels: typeof options.labels === 'string' ? options.labels : options.labels.file }),
        ...(options.meta === undefined ? {} : { meta: typeof options.meta === 'string' ? options.meta : options.meta.file }),
        ...(shard ? { shard: { ...shard, firstInput: range.first, inputs: range.inputs, folderInputs: scan.count } } : {}),
      },
    },
  });

  const decode = (file: InputFile & { bytes?: Uint8Array }): Promise<Decoded> =>
    (file.bytes ? pool.decode(file.bytes, decodeOptions) : decodeInput(pool, file, decodeOptions)).then(
      (image) => ({ file, image }),
      (error: unknown) => {
        // A bad input is a reject; anything else (a bug, a bad option) stops the conversion.
        if (error instanceof DecodeFailedError) return { file, reason: stripSource(error) };
        throw error;
      },
    );

  const total = range.inputs;
  const resumedAt = writer.resumedAt;
  const files: Iterator<InputFile> | AsyncIterator<InputFile> = scan.files();
  // Inputs of earlier shards, and those an earlier run committed, are skipped by name order alone.
  for (let i = 0; i < range.first + resumedAt; i++) await files.next();
  // A window of decodes in flight, consumed in input order: deterministic output, bounded memory.
  const inFlight: Promise<Decoded | null>[] = [];
  const base = writer.base;
  let skipped = 0;
  let toStart = total - resumedAt; // a shard stops at the end of its range, not of the folder
  const refill = async () => {
    while (inFlight.length < concurrency && toStart > 0) {
      const next = await files.next(); // a tar shard is read as the window moves
      if (next.done) return;
      toStart--;
      // A name the store already holds is not decoded again (null: skipped).
      const decoded = target?.names.has(next.value.name) ? Promise.resolve(null) : decode(next.value);
      decoded.catch(() => undefined); // awaited in order below; a failure ahead of its turn is not "unhandled"
      inFlight.push(decoded);
    }
  };
  try {
    for (let done = resumedAt + 1; done <= total; done++) {
      if (signal?.aborted) {
        throw new InterruptedError(
          `Conversion interrupted after ${done - 1} of ${total} inputs; ${writer.count} records are committed`,
        );
      }
      await refill();
      const result = await inFlight.shift()!;
      // Set before appending: a commit inside append() must count this input as handled.
      writer.position = done;
      if (result === null) {
        skipped++;
      } else if ('image' in result) {
        const { image, file } = result;
        await writer.append({
          name: file.name,
          ...inputFields(file),
          label: toStore && typeof file.label === 'number' ? toStore[file.label]! : file.label,
          ...(toStore && file.labels ? { labels: file.labels.map((i) => toStore[i]!) } : {}),
          shape: [image.height, image.width, image.channels],
          dtype: 'uint8',
          data: image.data,
        });
      } else {
        await writer.reject(result.file.name, result.reason);
      }
      options.onProgress?.({ done, total, stored: writer.count - base.records, rejected: writer.rejected - base.rejected });
    }
  } catch (error) {
    // Commit what is complete (the checkpoint says how far), leave the store resumable, then report.
    await writer.close().catch(() => undefined);
    throw error;
  } finally {
    await files.return?.(); // closes a tar shard still open
  }
  const header = await writer.finish();
  const store = openStore(options.output);
  // this run's and any earlier run's; an append reports its own
  const rejects = store.rejects().slice(base.rejected);
  await store.close();
  if (target) {
    // Over the whole append, also the part an interrupted run did: what was neither stored nor rejected.
    const stored = header.count - base.records;
    return { read: total, stored, skipped: total - stored - rejects.length, hidden: scan.hidden, rejects, header, seconds: (performance.now() - started) / 1000, resumedAt, alreadyComplete: false };
  }
  return {
    read: total,
    stored: header.count,
    hidden: scan.hidden,
    rejects,
    header,
    seconds: (performance.now() - started) / 1000,
    resumedAt,
    alreadyComplete: false,
  };
}

/** Decoded bytes the default window may hold (see ConvertFolderOptions.concurrency). */
const WINDOW_BYTES = 96 * 1024 * 1024;

function defaultConcurrency(threads: number, size: CheckedDecodeOptions): number {
  const deep = 16 * threads;
  // A variable-size image can be as large as the pixel limit: then the old default, 4 per thread.
  if (!size.width) return Math.max(2, 4 * threads);
  return Math.max(2, Math.min(deep, Math.floor(WINDOW_BYTES / (size.width * size.height * size.channels))));
}

/** For `resume` on a store that is already complete: its summary, so that nothing is redone. */
function completeStoreSummary(output: string, read: number): ConvertSummary | null {
  let store;
  try {
    store = openStore(output);
  } catch (error) {
    if (error instanceof StoreFormatError && (error.reason === 'incomplete' || error.reason === 'missing')) return null;
    throw error;
  }
  if (appendInProgress(output)) {
    void store.close();
    throw new ResumeMismatchError(output, `Store ${output} is complete but an append into it was interrupted: finish it with --append --resume and the appended folder`);
  }
  const summary = {
    read,
    stored: store.length,
    rejects: store.rejects(),
    header: store.header,
    seconds: 0,
    resumedAt: read,
    alreadyComplete: true,
  };
  void store.close();
  return summary;
}

/** The reason without the "Cannot decode <path>: " prefix, since reject lists already name the file. */
function stripSource(error: DecodeFailedError): string {
  const prefix = `Cannot decode ${error.source}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** The finished store an append adds to: its header, the names it holds, and its settings as defaults. */
interface AppendTarget {
  header: StoreHeader;
  names: Set<string>;
  defaults: Partial<ConvertFolderOptions>;
}

/**
 * Reads the store `options.output` for an append: its conversion settings become the defaults, and an
 * option given otherwise is refused (the writer checks shape and codec id; fit and codec settings here).
 */
function readAppendTarget(options: ConvertFolderOptions): AppendTarget {
  const { output } = options;
  if (options.overwrite === true) throw invalidOption('overwrite', 'false with append (an append keeps the store)', true);
  if (options.shard !== undefined) throw invalidOption('shard', "no shard with append (append to that shard's store)", options.shard);
  const store = openStore(output); // missing, unfinished or damaged: its typed error says so
  try {
    const { header } = store;
    const settings = (header.provenance.settings ?? {}) as { size?: unknown; fit?: Fit; codec?: unknown };
    const defaults: Partial<ConvertFolderOptions> = {};
    const given = options.width !== undefined || options.height !== undefined || options.shorterSide !== undefined || options.originalSize !== undefined;
    if (!given) {
      const { size } = settings;
      if (Array.isArray(size)) [defaults.width, defaults.height] = size as [number, number];
      else if (size === 'original') defaults.originalSize = true;
      else if (typeof size === 'string' && /^shorter:\d+$/.test(size)) defaults.shorterSide = Number(size.slice(8));
      else if (header.shape[0] > 0) [defaults.height, defaults.width] = header.shape;
      else throw invalidOption('size', `the size store ${output} was converted at (its header does not say: give it)`, undefined);
    }
    if (options.fit === undefined) {
      if (settings.fit !== undefined) defaults.fit = settings.fit;
    } else if (settings.fit !== undefined && options.fit !== settings.fit) {
      throw invalidOption('fit', `the fit of store ${output}, '${settings.fit}'`, options.fit);
    }
    if (options.channels === undefined) defaults.channels = header.shape[2] as Channels;
    if (options.limitInputPixels === undefined && header.maxSampleBytes !== undefined) {
      defaults.limitInputPixels = header.maxSampleBytes / header.shape[2];
    }
    if (options.codec === undefined) {
      registerBuiltInCodecs();
      const quality = header.codec === 'jpeg' && typeof settings.codec === 'string' ? /quality (\d+)/.exec(settings.codec) : null;
      defaults.codec = quality ? createJpegCodec({ quality: Number(quality[1]) }) : defaultCodecs.get(header.codec);
    } else if (typeof options.codec === 'object' && typeof settings.codec === 'string' && options.codec.description !== settings.codec) {
      throw invalidOption('codec', `the codec store ${output} was written with (${settings.codec})`, options.codec.description);
    }
    // Names are read record by record (decoding each): the price of skipping what the store holds.
    const names = new Set<string>();
    // Names only: no pixel decoding (store.fields), each record still checked.
    for (let i = 0; i < header.count; i++) names.add(store.fields(i).name);
    return { header, names, defaults };
  } finally {
    void store.close();
  }
}

/** The store's label names, then the folder's names it does not have (in the folder's order). */
function mergeLabelNames(input: string, output: string, stored: string[] | null, found: string[] | null): string[] | null {
  if ((stored === null) !== (found === null)) {
    throw new InputError(
      input,
      stored === null
        ? `Store ${output} is unlabeled but folder ${input} has labels (${found!.slice(0, 3).join(', ')}...); append an unlabeled folder`
        : `Store ${output} is labeled (${stored.slice(0, 3).join(', ')}...) but folder ${input} has no labels; append a folder of class subfolders`,
    );
  }
  return stored === null ? null : [...stored, ...found!.filter((name) => !stored.includes(name))];
}
