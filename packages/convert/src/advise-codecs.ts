import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectKnownKeys, expectPositiveInteger, invalidOption, shapeByteLength, type Codec, type RawImage } from '@imgstore/core';
import { CodecRegistry, lz4Codec, rawCodec } from '@imgstore/codec';
import { checkDecodeOptions, decodeImage, type Channels, type Fit } from '@imgstore/image';
import { createJpegCodec } from '@imgstore/codec-jpeg';
import { createStoreWriter, openStore } from '@imgstore/store';
import { scanFolder, type InputFile } from './scan-folder.js';
import { storeSizeBytes } from './store-size.js';

export interface AdviseCodecsOptions {
  /** Folder of images, as `convertFolder` takes it. */
  input: string;
  /** Inputs converted for the comparison, spread evenly over the folder. Default 200. */
  sample?: number;
  width?: number;
  height?: number;
  fit?: Fit;
  channels?: Channels;
  /** Codecs to compare, each with a label. Default: raw, lz4, jpeg at quality 95, 90 and 75 (jpeg: 1 or 3 channels). */
  codecs?: { label: string; codec: Codec }[];
  /** Minimum seconds of reading timed per codec (repeated passes). Default 0.5. */
  readSeconds?: number;
}

export interface CodecAdvice {
  /** "raw", "lz4", "jpeg q90", ... */
  label: string;
  codec: string;
  description: string;
  /** Bytes on disk per stored image (store file size over the sample, LMDB pages included). */
  bytesPerImage: number;
  /** Those bytes over the source files' bytes: 0.25 = a store a quarter the size of the folder. */
  ratioToSource: number;
  /** bytesPerImage × the folder's inputs (less the sample's reject rate). */
  projectedBytes: number;
  /** Samples per second one thread reads into a batch buffer (checksum, decode), warm cache. */
  readPerSecond: number;
  /** Mean absolute difference from the decoded pixels, per channel value (0 for lossless codecs). */
  meanError: number;
}

export interface CodecAdviceReport {
  folderInputs: number;
  folderBytes: number;
  sampled: number;
  rejected: number;
  shape: [number, number, number];
  results: CodecAdvice[];
}

const KNOWN = ['input', 'sample', 'width', 'height', 'fit', 'channels', 'codecs', 'readSeconds'];

/**
 * Converts an even sample of a folder with each codec into a temporary store, then reads each back:
 * bytes per image, projected store size for the whole folder, read speed on this machine, and loss.
 */
export async function adviseCodecs(options: AdviseCodecsOptions): Promise<CodecAdviceReport> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  expectKnownKeys('', options, KNOWN);
  const decode = checkDecodeOptions({
    width: options.width ?? 256,
    height: options.height ?? 256,
    fit: options.fit ?? 'cover',
    channels: options.channels ?? 3,
  });
  const sample = expectPositiveInteger('sample', options.sample ?? 200);
  const readSeconds = options.readSeconds ?? 0.5;
  const shape: [number, number, number] = [decode.height, decode.width, decode.channels];
  const codecs = options.codecs ?? [
    { label: 'raw', codec: rawCodec },
    { label: 'lz4', codec: lz4Codec },
    ...(decode.channels === 4 ? [] : [95, 90, 75].map((quality) => ({ label: `jpeg q${quality}`, codec: createJpegCodec({ quality }) }))),
  ];

  // The folder's size, and an evenly spread sample of its inputs (deterministic).
  const scan = scanFolder(options.input);
  const step = Math.max(1, scan.count / sample);
  const picked: InputFile[] = [];
  let folderBytes = 0;
  let i = 0;
  let next = 0;
  for (const file of scan.files()) {
    folderBytes += statSync(file.path).size;
    if (i === Math.floor(next) && picked.length < sample) {
      picked.push(file);
      next += step;
    }
    i++;
  }
  const images: RawImage[] = [];
  let sampledBytes = 0;
  for (let start = 0; start < picked.length; start += 8) {
    const batch = picked.slice(start, start + 8);
    const decoded = await Promise.all(batch.map((f) => decodeImage(f.path, decode).catch(() => null)));
    decoded.forEach((image, k) => {
      if (!image) return;
      images.push(image);
      sampledBytes += statSync(batch[k]!.path).size;
    });
  }
  const rejected = picked.length - images.length;
  const storedShare = picked.length ? images.length / picked.length : 0;

  const work = mkdtempSync(join(tmpdir(), 'imgstore-advise-'));
  const results: CodecAdvice[] = [];
  try {
    for (const [n, { label, codec }] of codecs.entries()) {
      const path = join(work, `${n}.lmdb`);
      // A private registry: codecs at several JPEG qualities share the id "jpeg".
      const writer = createStoreWriter(path, { shape, codec, codecs: new CodecRegistry() });
      for (const [k, image] of images.entries()) {
        await writer.append({ name: String(k), label: null, shape, dtype: 'uint8', data: image.data });
      }
      await writer.finish();
      const bytesPerImage = images.length ? storeSizeBytes(path) / images.length : 0;
      const { readPerSecond, meanError } = measureReads(path, codec, images, readSeconds);
      results.push({
        label,
        codec: codec.id,
        description: codec.description,
        bytesPerImage,
        ratioToSource: sampledBytes ? (bytesPerImage * images.length) / sampledBytes : 0,
        projectedBytes: bytesPerImage * scan.count * storedShare,
        readPerSecond,
        meanError,
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { folderInputs: scan.count, folderBytes, sampled: picked.length, rejected, shape, results };
}

/** Reads every record into one batch slot, pass after pass, as a DataLoader would in one thread. */
function measureReads(path: string, codec: Codec, images: RawImage[], seconds: number): { readPerSecond: number; meanError: number } {
  const store = openStore(path, { codecs: new CodecRegistry([codec]) });
  try {
    const slot = new Uint8Array(shapeByteLength(store.header.shape));
    let error = 0;
    for (let k = 0; k < store.length; k++) {
      store.readInto(k, slot, 0);
      const original = images[k]!.data;
      for (let j = 0; j < slot.length; j++) error += Math.abs(slot[j]! - original[j]!);
    }
    const meanError = store.length ? error / (store.length * slot.length) : 0;
    let reads = 0;
    const started = performance.now();
    let elapsed = 0;
    while (store.length > 0 && elapsed < seconds * 1000) {
      for (let k = 0; k < store.length; k++) store.readInto(k, slot, 0);
      reads += store.length;
      elapsed = performance.now() - started;
    }
    return { readPerSecond: elapsed > 0 ? (reads * 1000) / elapsed : 0, meanError };
  } finally {
    void store.close();
  }
}
