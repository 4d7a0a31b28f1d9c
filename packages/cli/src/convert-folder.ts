import { availableParallelism } from 'node:os';
import {
  DecodeFailedError,
  expectBoolean,
  expectKnownKeys,
  expectPositiveInteger,
  invalidOption,
  type RejectRecord,
  type StoreHeader,
} from '@imgstore/core';
import { checkDecodeOptions, decodeImage, type Fit, type RawImage } from '@imgstore/image';
import { createStoreWriter } from '@imgstore/store';
import { scanFolder, type InputFile } from './scan-folder.js';
import { version } from '../package.json';

export interface ConvertFolderOptions {
  /** Folder of images: class subfolders (labels) or any other layout (no labels). */
  input: string;
  /** Store folder to create. */
  output: string;
  /** Output width. Default 256. */
  width?: number;
  /** Output height. Default 256. */
  height?: number;
  /** Default `'cover'`. */
  fit?: Fit;
  /** Replace an existing store. Default false. */
  overwrite?: boolean;
  /** Codec id. Default `'lz4'`. */
  codec?: string;
  /** Images decoded at once. Default: twice the CPU count, at least 2. */
  concurrency?: number;
  /** Inputs with more pixels are rejected before decoding. Default: sharp's 268,402,689. */
  limitInputPixels?: number;
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
  /** Inputs found in the folder. */
  read: number;
  /** Records written. */
  stored: number;
  /** Inputs that did not become records, with the reason. */
  rejects: RejectRecord[];
  header: StoreHeader;
  seconds: number;
}

const KNOWN = ['input', 'output', 'width', 'height', 'fit', 'overwrite', 'codec', 'concurrency', 'limitInputPixels', 'onProgress'];

type Decoded = { file: InputFile; image: RawImage } | { file: InputFile; reason: string };

/**
 * Converts a folder into a store: files in sorted order, several decoded at once, records written in
 * input order (so the result does not depend on concurrency), bad inputs listed and never stored.
 */
export async function convertFolder(options: ConvertFolderOptions): Promise<ConvertSummary> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, KNOWN);
  const decodeOptions = checkDecodeOptions({
    width: options.width ?? 256,
    height: options.height ?? 256,
    fit: options.fit ?? 'cover',
    ...(options.limitInputPixels === undefined ? {} : { limitInputPixels: options.limitInputPixels }),
  });
  const concurrency = expectPositiveInteger('concurrency', options.concurrency ?? Math.max(2, availableParallelism() * 2));
  const overwrite = expectBoolean('overwrite', options.overwrite ?? false);
  const started = performance.now();

  const scan = scanFolder(options.input);
  const writer = createStoreWriter(options.output, {
    shape: [decodeOptions.height, decodeOptions.width, 3],
    labelNames: scan.labelNames,
    overwrite,
    ...(options.codec === undefined ? {} : { codec: options.codec }),
    provenance: {
      tool: '@imgstore/cli',
      toolVersion: version,
      source: options.input,
      settings: { size: [decodeOptions.width, decodeOptions.height], fit: decodeOptions.fit, layout: scan.layout },
    },
  });

  const decode = (file: InputFile): Promise<Decoded> =>
    decodeImage(file.path, decodeOptions).then(
      (image) => ({ file, image }),
      (error: unknown) => ({ file, reason: error instanceof DecodeFailedError ? stripSource(error) : String(error) }),
    );

  const rejects: RejectRecord[] = [];
  const total = scan.files.length;
  // A window of decodes in flight, consumed in input order: deterministic output, bounded memory.
  const inFlight: Promise<Decoded>[] = [];
  let next = 0;
  try {
    for (let done = 1; done <= total; done++) {
      while (inFlight.length < concurrency && next < total) inFlight.push(decode(scan.files[next++]!));
      const result = await inFlight.shift()!;
      if ('image' in result) {
        const { image, file } = result;
        await writer.append({
          name: file.name,
          label: file.label,
          shape: [image.height, image.width, image.channels],
          dtype: 'uint8',
          data: image.data,
        });
      } else {
        rejects.push({ name: result.file.name, reason: result.reason });
        await writer.reject(result.file.name, result.reason);
      }
      options.onProgress?.({ done, total, stored: writer.count, rejected: rejects.length });
    }
  } catch (error) {
    await Promise.allSettled(inFlight);
    await writer.close().catch(() => undefined);
    throw error;
  }
  const header = await writer.finish();
  return { read: total, stored: header.count, rejects, header, seconds: (performance.now() - started) / 1000 };
}

/** The reason without the "Cannot decode <path>: " prefix, since reject lists already name the file. */
function stripSource(error: DecodeFailedError): string {
  const prefix = `Cannot decode ${error.source}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}
