import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, MAX_META_BYTES } from '@imgstore/core';
import { packPlain } from '@imgstore/codec';
import { readWebDataset, UnusualTarError, type WebDatasetGroup } from './read-webdataset.js';
import { CLASSES_FILE } from './webdataset-shards.js';

/** Image members, by extension; the format itself is recognised by content when decoding. */
export const WEBDATASET_IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp'] as const;
const IMAGE = new Set<string>(WEBDATASET_IMAGE_EXTENSIONS);
/** Integer labels without classes.txt get the names '0'..max: a bound on that list. */
const MAX_CLASSES = 1_000_000;
const KNOWN = new Set<string>([...WEBDATASET_IMAGE_EXTENSIONS, 'cls', 'json']);

/**
 * One sample of a WebDataset as the conversion takes it (the fields of a folder's InputFile, plus the
 * image's bytes): the image, or why the group is no sample.
 */
export interface WebDatasetInput {
  /** `<shard>#<key>`: where the sample is, for messages. */
  path: string;
  /** The store name: the key with the image member's extension (`train/img_7.jpg`). */
  name: string;
  label: number | null;
  /** The image member's bytes (absent for a reject). */
  bytes?: Uint8Array;
  /** The `.json` member, parsed (absent when there is none). */
  meta?: unknown;
  /** Why this group is not a sample (no image, two images, an unknown member, malformed .cls/.json). */
  reject?: string;
}

/** What WebDataset shards hold, like a FolderScan: counted and fingerprinted by one streaming pass. */
export interface WebDatasetScan {
  layout: 'webdataset';
  shards: string[];
  /** Multi-label WebDatasets are not read (one .cls per sample). */
  multiLabel: false;
  /** Hidden members (a file name starting with `.`) left out, as a folder scan leaves hidden files out. */
  hidden: number;
  /** From `classes.txt` beside the first shard; else the `.cls` values (integers 0..max, or the sorted names). */
  labelNames: string[] | null;
  /** Samples (groups of members), rejects included. */
  count: number;
  /** SHA-256 over the ordered sample names: a resumed conversion checks that the shards have not changed. */
  digest: string;
  /** The samples, streamed again from the shards, in the same order. */
  files(signal?: AbortSignal): AsyncGenerator<WebDatasetInput>;
}

/**
 * Reads the shards once for the sample count, names and labels, so that a conversion knows its total
 * and label names before it stores anything. That pass reads the tar headers and `.cls` bodies only and
 * seeks past the images; a tar it does not parse itself is streamed through tar-stream instead.
 */
export async function scanWebDataset(shards: string[]): Promise<WebDatasetScan> {
  const classes = readClasses(join(dirname(shards[0]!), CLASSES_FILE));
  let counted: Counted;
  try {
    counted = await countSamples(shards, true);
  } catch (error) {
    // A tar the header reader does not take (or a damaged one) is read through tar-stream, which reports it.
    if (!(error instanceof UnusualTarError)) throw error;
    counted = await countSamples(shards, false);
  }
  const { hash, count, hidden, names, allIntegers, maxInteger } = counted;
  let labelNames: string[] | null;
  if (classes) labelNames = classes;
  else if (names.size === 0) labelNames = null;
  // Integers are class indices; names (any non-integer) make every value a name, sorted like ImageFolder's.
  else if (allIntegers && maxInteger >= MAX_CLASSES) {
    throw new InputError(shards[0]!, `A .cls member holds class index ${maxInteger}; with no ${CLASSES_FILE} beside the shards, the label names are 0 to the largest index, at most ${MAX_CLASSES}`);
  } else if (allIntegers) labelNames = Array.from({ length: maxInteger + 1 }, (_, i) => String(i));
  else labelNames = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const byName = allIntegers || !labelNames ? null : new Map(labelNames.map((name, i) => [name, i]));
  return {
    layout: 'webdataset',
    shards,
    multiLabel: false,
    hidden,
    labelNames,
    count,
    digest: hash.digest('hex'),
    async *files(signal?: AbortSignal) {
      for await (const group of readWebDataset(shards, signal ? { signal } : {})) {
        yield toInput(group, labelNames, byName);
      }
    },
  };
}

interface Counted {
  hash: ReturnType<typeof createHash>;
  count: number;
  hidden: number;
  names: Set<string>;
  allIntegers: boolean;
  maxInteger: number;
}

/** The count pass: names, labels and hidden members; only .cls bodies are read. */
async function countSamples(shards: string[], headersOnly: boolean): Promise<Counted> {
  const counted: Counted = { hash: createHash('sha256'), count: 0, hidden: 0, names: new Set(), allIntegers: true, maxInteger: -1 };
  const onHidden = () => void counted.hidden++;
  for await (const group of readWebDataset(shards, { keep: (ext) => ext === 'cls', onHidden, headersOnly })) {
    counted.hash.update(sampleName(group)).update('\0');
    counted.count++;
    const cls = group.members.find((member) => member.ext === 'cls')?.data;
    if (!cls) continue;
    const text = clsText(cls);
    if (text === null) continue; // a reject later
    if (/^\d+$/.test(text)) counted.maxInteger = Math.max(counted.maxInteger, Number(text));
    else counted.allIntegers = false;
    counted.names.add(text);
  }
  return counted;
}

function toInput(group: WebDatasetGroup, labelNames: string[] | null, byName: Map<string, number> | null): WebDatasetInput {
  const input: WebDatasetInput = { path: `${group.shard}#${group.key}`, name: sampleName(group), label: null };
  const where = ` (in ${basename(group.shard)})`;
  const images = group.members.filter((member) => IMAGE.has(member.ext));
  const unknown = group.members.filter((member) => !KNOWN.has(member.ext));
  let reason = group.problem;
  if (reason === null && unknown.length > 0) {
    reason = `unsupported member ${unknown.map((m) => `.${m.ext}`).join(', ')}: a sample is one image (.jpg/.jpeg/.png/.webp), a .cls label and a .json metadata member`;
  } else if (reason === null && images.length === 0) {
    reason = `no image member (.jpg, .jpeg, .png or .webp) among ${group.members.map((m) => `.${m.ext}`).join(', ')}`;
  } else if (reason === null && images.length > 1) {
    reason = `more than one image member (${images.map((m) => `.${m.ext}`).join(', ')}); imgstore stores one image per sample`;
  }
  if (reason === null) {
    const cls = group.members.find((member) => member.ext === 'cls')?.data;
    // A labeled store labels every record, as with a label file: a sample without one is a reject.
    if (!cls && labelNames) reason = 'no .cls label, and other samples have one';
    if (cls) {
      const text = clsText(cls);
      if (text === null || text === '') reason = '.cls is not a label (expected one integer or one class name, UTF-8, on one line)';
      else if (byName === null) {
        const label = Number(text);
        if (labelNames && label < labelNames.length) input.label = label;
        else reason = `.cls ${text} is not a class index of ${CLASSES_FILE} (0 to ${(labelNames?.length ?? 0) - 1})`;
      } else {
        const label = byName.get(text);
        if (label === undefined) reason = `.cls ${JSON.stringify(text)} is not a class in ${CLASSES_FILE}`;
        else input.label = label;
      }
    }
  }
  if (reason === null) {
    const json = group.members.find((member) => member.ext === 'json')?.data;
    if (json) {
      try {
        input.meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
      } catch (error) {
        reason = `.json is not valid JSON: ${(error as Error).message}`;
      }
      // The record could not hold it (the writer would refuse it and stop the conversion).
      const bytes = reason === null ? packPlain(input.meta).length : 0;
      if (bytes > MAX_META_BYTES) reason = `.json of ${bytes} bytes as msgpack, more than the ${MAX_META_BYTES} a sample may hold`;
    }
  }
  if (reason !== null) {
    input.reject = reason + where;
    delete input.meta;
  } else input.bytes = images[0]!.data!;
  return input;
}

/** The store name of a group: its key with the image's extension (the first member's when there is no image). */
function sampleName(group: WebDatasetGroup): string {
  const image = group.members.find((member) => IMAGE.has(member.ext)) ?? group.members[0];
  return image && image.ext !== '' ? `${group.key}.${image.ext}` : group.key;
}

/** A .cls member's label text (trimmed), or null when it is not one line of UTF-8. */
function clsText(data: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data).trim();
  } catch {
    return null;
  }
  return text.includes('\n') ? null : text;
}

function readClasses(path: string): string[] | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
  } catch (error) {
    throw new InputError(path, `Cannot read ${path} (label names, one per line, UTF-8): ${(error as Error).message}`, { cause: error });
  }
  const names = text.split(/\r?\n/);
  if (names.at(-1) === '') names.pop();
  const seen = new Set<string>();
  const duplicate = names.find((name) => seen.has(name) || (seen.add(name), false));
  if (names.length === 0 || names.some((name) => name === '') || duplicate !== undefined) {
    throw new InputError(path, `${path} must hold one distinct, non-empty class name per line${duplicate === undefined ? '' : `; ${JSON.stringify(duplicate)} is there twice`}`);
  }
  return names;
}
