import { createHash } from 'node:crypto';
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '@imgstore/core';
import type { LabelTable } from './label-file.js';
import { escapeStrayBytes } from './stray-bytes.js';

/** One input file: its path on disk, its name in the store (relative, `/`-separated) and its label. */
export interface InputFile {
  path: string;
  name: string;
  label: number | null;
  /** Multi-label stores: the file's class indices. */
  labels?: number[];
  /** Metadata from a label or metadata file, stored with the sample. */
  meta?: unknown;
  /** Why this input is rejected without being read (no row in the label file, a row without a file, ...). */
  reject?: string;
  /**
   * The path's bytes, when a name on it is not valid UTF-8: `path` and `name` then show each byte that
   * is not part of a UTF-8 character as `%XX`, and the file is opened by these bytes.
   */
  rawPath?: Buffer;
}

export interface ScanFolderOptions {
  /** Labels (and metadata) from a file instead of the folder's layout (see readLabelFile). */
  labels?: LabelTable;
  /** Metadata from a file, by image path (see readMetaFile); merged over a label file's extra columns. */
  meta?: LabelTable;
  /**
   * Problems of a label or metadata file's rows (a row without a file, a file without a row, a path
   * listed twice, a row without a label) are an InputError before anything is converted, instead of
   * inputs rejected with that reason. Default false.
   */
  strict?: boolean;
}

/**
 * What a folder holds, without holding its file list: a conversion of 10,000,000 files keeps only
 * the folder being walked in memory. `files()` walks again each time it is called, in the same order.
 */
export interface FolderScan {
  /**
   * `imagefolder` when the root holds only class subfolders (labels from folder names), `label-file`
   * when labels come from a file, else `flat`.
   */
  layout: 'imagefolder' | 'flat' | 'label-file';
  labelNames: string[] | null;
  /** Each input has a list of labels (`labels`); `label` is null. */
  multiLabel: boolean;
  /** Number of input files (with a label file: also its rows that name no file, each a reject). */
  count: number;
  /** Hidden entries (names starting with `.`) left out of the walk, at any depth. */
  hidden: number;
  /** SHA-256 over the ordered input names (and the label and metadata files): a resume checks that nothing changed. */
  digest: string;
  /** The input files in stable sorted order (then, with a label file, its rows that name no file). */
  files(): Generator<InputFile>;
}

/** Code-unit order: the same on every platform and locale, so conversions are reproducible. */
function byName(a: Entry, b: Entry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A folder entry: its name as text (see InputFile.rawPath), and its bytes when they are not UTF-8. */
interface Entry {
  name: string;
  bytes: Buffer | null;
  dirent: Pick<Dirent, 'isDirectory' | 'isSymbolicLink'>;
}

/** A folder's path as text, and as bytes when a name on it is not UTF-8. */
interface Dir {
  path: string;
  bytes: Buffer | null;
}

/**
 * A name as text. Names are bytes: one that is not valid UTF-8 (written by another system's encoding)
 * shows each stray byte as `%XX`, so its file is stored under a readable name instead of being lost to
 * a lossy decode that no longer opens it.
 */
function nameOf(bytes: Buffer): { name: string; odd: boolean } {
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD') || Buffer.from(text).equals(bytes)) return { name: text, odd: false };
  return { name: escapeStrayBytes(bytes), odd: true };
}

/** Entries of a folder without hidden ones (`.DS_Store`, `.git`, ...), sorted, and how many were hidden. */
function visibleEntries(dir: Dir): { entries: Entry[]; hidden: number } {
  const entries: Entry[] = [];
  let hidden = 0;
  if (dir.bytes === null) {
    // Names as text (the common case, and faster): a name that is not UTF-8 shows as U+FFFD, and only
    // such a folder is read again by its names' bytes.
    const dirents = readdirSync(dir.path, { withFileTypes: true });
    if (!dirents.some((d) => d.name.includes('\uFFFD'))) {
      for (const dirent of dirents) {
        if (dirent.name.startsWith('.')) hidden++;
        else entries.push({ name: dirent.name, bytes: null, dirent });
      }
      return { entries: entries.sort(byName), hidden };
    }
  }
  for (const dirent of readdirSync(dir.bytes ?? dir.path, { withFileTypes: true, encoding: 'buffer' })) {
    if (dirent.name[0] === 0x2e) {
      hidden++;
      continue;
    }
    const { name, odd } = nameOf(dirent.name);
    entries.push({ name, bytes: odd || dir.bytes ? dirent.name : null, dirent });
  }
  return { entries: entries.sort(byName), hidden };
}

function child(dir: Dir, entry: Entry): Dir {
  const path = join(dir.path, entry.name);
  if (entry.bytes === null) return { path, bytes: null };
  return { path, bytes: Buffer.concat([dir.bytes ?? Buffer.from(dir.path), Buffer.from('/'), entry.bytes]) };
}

/**
 * Scans `root`: decides the layout and counts and fingerprints the inputs in one streaming pass.
 * Every entry that is not a folder is a candidate: formats are recognised by content when decoding, so
 * non-images (and FIFOs, sockets, devices, dangling or looping links) are reported as rejects rather than
 * silently ignored. Symbolic links to files are followed; links to folders are not (so a link loop cannot
 * trap the walk). A label or metadata file inside the folder is not an input.
 */
export function scanFolder(root: string, options: ScanFolderOptions = {}): FolderScan {
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    throw new InputError(root, `Input folder ${root} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new InputError(root, `Input ${root} is not a folder`);
  const { labels, meta, strict = false } = options;
  const rootDir: Dir = { path: root, bytes: null };
  const { entries: top, hidden: topHidden } = visibleEntries(rootDir);
  const isImageFolder = labels === undefined && top.length > 0 && top.every((entry) => entry.dirent.isDirectory());
  const labelNames = labels ? labels.labelNames : isImageFolder ? top.map((entry) => entry.name) : null;
  const multiLabel = labels?.multiLabel ?? false;
  const skip = new Set([labels?.file, meta?.file].filter((f) => f !== undefined).map((f) => resolve(f!)));
  const counter = { hidden: 0 };
  const walked = isImageFolder
    ? function* (count: { hidden: number }) {
        count.hidden += topHidden;
        for (const [label, entry] of top.entries()) yield* walk(child(rootDir, entry), `${entry.name}/`, label, count);
      }
    : (count: { hidden: number }) => walk(rootDir, '', null, count);

  // Rows of the label and metadata files that no file of the folder matches: known after one pass.
  let missing: InputFile[] = [];
  const problems: string[] = [];
  const withRows = (count: { hidden: number }) =>
    function* (): Generator<InputFile> {
      for (const file of walked(count)) {
        if (skip.has(resolve(file.path))) continue;
        yield attachRows(file, labels, meta);
      }
      yield* missing;
    };
  const hash = createHash('sha256');
  let count = 0;
  for (const file of withRows(counter)()) {
    hash.update(file.name).update('\0');
    if (file.reject !== undefined) problems.push(`${file.name}: ${file.reject}`);
    count++;
  }
  missing = [...missingRows(root, labels), ...missingRows(root, meta)];
  for (const file of missing) {
    hash.update(file.name).update('\0');
    problems.push(`${file.name}: ${file.reject}`);
    count++;
  }
  // A changed label or metadata file changes what is stored: a resume must see it.
  for (const table of [labels, meta]) if (table) hash.update(`${table.file}\0${table.digest}\0`);
  if (strict && problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => `  ${p}`);
    throw new InputError(
      root,
      `${problems.length} input${problems.length === 1 ? '' : 's'} of ${root} cannot be matched with ${[labels?.file, meta?.file].filter(Boolean).join(' and ')} (strict):\n${shown.join('\n')}` +
        (problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : ''),
    );
  }
  return {
    layout: labels ? 'label-file' : isImageFolder ? 'imagefolder' : 'flat',
    labelNames,
    multiLabel,
    count,
    hidden: counter.hidden,
    digest: hash.digest('hex'),
    files: withRows({ hidden: 0 }),
  };
}

/** A walked file with its label file row (labels, meta, or why it is rejected) and its metadata row. */
function attachRows(file: InputFile, labels: LabelTable | undefined, meta: LabelTable | undefined): InputFile {
  if (labels) {
    const row = labels.rows.get(file.name);
    if (row === undefined) return { ...file, reject: `no row in ${basenameOf(labels.file)}` };
    row.seen = true;
    if (row.problem !== undefined) return { ...file, reject: row.problem };
    file.label = row.label;
    if (row.labels !== undefined) file.labels = row.labels;
    if (row.meta !== undefined) file.meta = row.meta;
  }
  if (meta) {
    const row = meta.rows.get(file.name);
    if (row !== undefined) {
      row.seen = true;
      if (row.problem !== undefined) return { ...file, reject: row.problem };
      file.meta = isPlainObject(file.meta) && isPlainObject(row.meta) ? { ...file.meta, ...row.meta } : row.meta;
    }
  }
  return file;
}

function missingRows(root: string, table: LabelTable | undefined): InputFile[] {
  if (!table) return [];
  const out: InputFile[] = [];
  for (const [name, row] of table.rows) {
    if (row.seen) continue;
    const listed = `listed in ${basenameOf(table.file)} line ${row.line}`;
    // Something is there that the walk left out: say what, rather than "no such file".
    let there = null;
    try {
      there = statSync(join(root, name));
    } catch {
      // nothing there
    }
    const reason = there === null
      ? 'but the folder has no such file'
      : there.isDirectory()
        ? 'but that is a folder'
        : name.split('/').some((part) => part.startsWith('.'))
          ? 'but hidden files and folders (names starting with ".") are left out'
          : 'but the folder walk does not reach it (a link to a folder on its path)';
    out.push({ path: join(root, name), name, label: null, reject: `${listed}, ${reason}` });
  }
  return out;
}

const basenameOf = (file: string) => file.split(/[\\/]/).pop()!;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function* walk(dir: Dir, prefix: string, label: number | null, count: { hidden: number }): Generator<InputFile> {
  const { entries, hidden } = visibleEntries(dir);
  count.hidden += hidden;
  for (const entry of entries) {
    const path = child(dir, entry);
    const name = prefix + entry.name;
    if (entry.dirent.isDirectory()) yield* walk(path, `${name}/`, label, count);
    else if (!(entry.dirent.isSymbolicLink() && isFolderTarget(path.bytes ?? path.path))) {
      yield { path: path.path, name, label, ...(path.bytes ? { rawPath: path.bytes } : {}) };
    }
  }
}

function isFolderTarget(path: string | Buffer): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling or looping link is still an input: it is reported as unreadable
  }
}
