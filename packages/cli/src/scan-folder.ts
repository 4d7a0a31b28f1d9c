import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ImgstoreError } from '@imgstore/core';

/** One input file: its path on disk, its name in the store (relative, `/`-separated) and its label. */
export interface InputFile {
  path: string;
  name: string;
  label: number | null;
}

export interface FolderScan {
  /** `imagefolder` when the root holds only class subfolders (labels from folder names), else `flat`. */
  layout: 'imagefolder' | 'flat';
  labelNames: string[] | null;
  files: InputFile[];
}

/** Code-unit order: the same on every platform and locale, so conversions are reproducible. */
function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Entries of a folder without hidden ones (`.DS_Store`, `.git`, ...), sorted. */
function visibleEntries(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .sort(byName);
}

/**
 * Lists every file below `root` in a stable sorted order. Every file is a candidate: formats are
 * recognised by content when decoding, so non-images are reported as rejects rather than silently
 * ignored. Symbolic links to files are followed; links to folders are not (no loops).
 */
export function scanFolder(root: string): FolderScan {
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    throw new ImgstoreError('ERR_IMGSTORE_INPUT', `Input folder ${root} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new ImgstoreError('ERR_IMGSTORE_INPUT', `Input ${root} is not a folder`);
  const top = visibleEntries(root);
  const isImageFolder = top.length > 0 && top.every((entry) => entry.isDirectory());
  if (!isImageFolder) return { layout: 'flat', labelNames: null, files: walk(root, '', null) };
  const labelNames = top.map((entry) => entry.name);
  const files = top.flatMap((entry, label) => walk(join(root, entry.name), `${entry.name}/`, label));
  return { layout: 'imagefolder', labelNames, files };
}

function walk(dir: string, prefix: string, label: number | null): InputFile[] {
  const out: InputFile[] = [];
  for (const entry of visibleEntries(dir)) {
    const path = join(dir, entry.name);
    const name = prefix + entry.name;
    if (entry.isDirectory()) out.push(...walk(path, `${name}/`, label));
    else if (entry.isFile() || (entry.isSymbolicLink() && isFileTarget(path))) out.push({ path, name, label });
  }
  return out;
}

function isFileTarget(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true; // a dangling link is still an input: it is reported as unreadable
  }
}
