import { opendirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import braces from 'braces';
import { InputError } from '@imgstore/core';

/** More shards than any real dataset has; a guard against a pattern like `{0..99999999999}`. */
const MAX_SHARDS = 1_000_000;

/** True for a tar file name (`.tar`, any case). */
export function isTarName(name: string): boolean {
  return /\.tar$/i.test(name);
}

/**
 * The tar shards an input names, in order, or null when the input is not WebDataset (an image folder):
 * a brace pattern (`shards-{0000..0099}.tar`, expanded as the shell would; every shard must exist), one
 * `.tar` file, or a folder whose visible entries are all `.tar` files (sorted by name), besides an
 * optional `classes.txt`.
 */
export function resolveWebDatasetShards(input: string): string[] | null {
  if (/\{[^{}]*(\.\.|,)[^{}]*\}/.test(input)) {
    let shards: string[];
    try {
      shards = braces(input, { expand: true, rangeLimit: MAX_SHARDS });
    } catch (error) {
      throw new InputError(input, `Cannot expand the shard pattern ${input}: ${(error as Error).message}`, { cause: error });
    }
    if (shards.length > MAX_SHARDS) throw new InputError(input, `Shard pattern ${input} names ${shards.length} files; at most ${MAX_SHARDS}`);
    const missing = shards.filter((shard) => !isFile(shard));
    if (missing.length > 0) {
      throw new InputError(
        input,
        `Shard pattern ${input} names ${missing.length} of ${shards.length} files that do not exist or are not files: ` +
          missing.slice(0, 3).join(', ') + (missing.length > 3 ? ', ...' : ''),
      );
    }
    return shards;
  }
  let stat;
  try {
    stat = statSync(input);
  } catch {
    return null; // not there: the folder scan reports it
  }
  if (stat.isFile()) return isTarName(input) ? [input] : null;
  if (!stat.isDirectory()) return null;
  const names: string[] = [];
  const handle = opendirSync(input);
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      if (entry.name.startsWith('.') || entry.name === CLASSES_FILE) continue;
      // One entry that is not a tar file makes it an image folder (whose tar files are rejected as such).
      if (!isTarName(entry.name) || !isFile(join(input, entry.name))) return null;
      names.push(entry.name);
    }
  } finally {
    handle.closeSync();
  }
  if (names.length === 0) return null;
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => join(input, name));
}

/** Label names of a WebDataset, one per line (line i names class i), beside its shards. */
export const CLASSES_FILE = 'classes.txt';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
