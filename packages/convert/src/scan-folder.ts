import { createHash } from 'node:crypto';
import { opendirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@imgstore/core';

/** One input file: its path on disk, its name in the store (relative, `/`-separated) and its label. */
export interface InputFile {
  path: string;
  name: string;
  label: number | null;
}

/**
 * What a folder holds, without holding its file list: a conversion of 10,000,000 files keeps only
 * the folder being walked in memory. `files()` walks again each time it is called, in the same order.
 */
export interface FolderScan {
  /** `imagefolder` when the root holds only class subfolders (labels from folder names), else `flat`. */
  layout: 'imagefolder' | 'flat';
  labelNames: string[] | null;
  /** Number of input files. */
  count: number;
  /** SHA-256 over the ordered input names: a resumed conversion checks that the folder has not changed. */
  digest: string;
  /** The input files in stable sorted order. */
  files(): Generator<InputFile>;
}

/** Code-unit order: the same on every platform and locale, so conversions are reproducible. */
function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Entries of a folder without hidden ones (`.DS_Store`, `.git`, ...), sorted. */
function visibleEntries(dir: string): Dirent[] {
  const entries: Dirent[] = [];
  const handle = opendirSync(dir);
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      if (!entry.name.startsWith('.')) entries.push(entry);
    }
  } finally {
    handle.closeSync();
  }
  return entries.sort(byName);
}

/**
 * Scans `root`: decides the layout and counts and fingerprints the inputs in one streaming pass.
 * Every entry that is not a folder is a candidate: formats are recognised by content when decoding, so
 * non-images (and FIFOs, sockets, devices, dangling or looping links) are reported as rejects rather than
 * silently ignored. Symbolic links to files are followed; links to folders are not (so a link loop cannot
 * trap the walk).
 */
export function scanFolder(root: string): FolderScan {
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    throw new InputError(root, `Input folder ${root} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new InputError(root, `Input ${root} is not a folder`);
  const top = visibleEntries(root);
  const isImageFolder = top.length > 0 && top.every((entry) => entry.isDirectory());
  const labelNames = isImageFolder ? top.map((entry) => entry.name) : null;
  const files = isImageFolder
    ? function* () {
        for (const [label, entry] of top.entries()) yield* walk(join(root, entry.name), `${entry.name}/`, label);
      }
    : () => walk(root, '', null);
  const hash = createHash('sha256');
  let count = 0;
  for (const file of files()) {
    hash.update(file.name).update('\0');
    count++;
  }
  return { layout: isImageFolder ? 'imagefolder' : 'flat', labelNames, count, digest: hash.digest('hex'), files };
}

function* walk(dir: string, prefix: string, label: number | null): Generator<InputFile> {
  for (const entry of visibleEntries(dir)) {
    const path = join(dir, entry.name);
    const name = prefix + entry.name;
    if (entry.isDirectory()) yield* walk(path, `${name}/`, label);
    else if (!(entry.isSymbolicLink() && isFolderTarget(path))) yield { path, name, label };
  }
}

function isFolderTarget(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling or looping link is still an input: it is reported as unreadable
  }
}
