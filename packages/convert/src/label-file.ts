import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError, MAX_META_BYTES, expectKnownKeys, invalidOption } from '@imgstore/core';
import { packPlain } from '@imgstore/codec';

/** Where labels (and metadata) come from instead of the folder's layout: a CSV or JSON Lines file. */
export interface LabelFileOptions {
  /** `.csv` (a header row, then one row per image) or `.jsonl` / `.ndjson` (one JSON object per line). */
  file: string;
  /** Column (CSV) or key (JSONL) holding the image's path relative to the folder. Default: the first of `path`, `file`, `filename`, `image`, `name` present. */
  pathColumn?: string;
  /** Column or key holding the label. Default: the first of `label`, `labels`, `class`, `category` present (none: metadata only). */
  labelColumn?: string;
  /**
   * CSV only: a label cell lists several labels separated by this string (multi-label, e.g. `' '` or
   * `'|'`). JSONL needs none: an array is a list of labels. Default: one label per cell.
   */
  labelSeparator?: string;
}

/** A per-sample metadata file (`.jsonl`, or `.csv`): every key or column but the path is the sample's `meta`. */
export interface MetaFileOptions {
  file: string;
  /** As LabelFileOptions.pathColumn. */
  pathColumn?: string;
}

/** One image's row: its labels and metadata, or why the row cannot be used. */
export interface LabelRow {
  /** 1-based line of the row in its file. */
  line: number;
  label: number | null;
  /** Multi-label tables: class indices, ascending, without repeats. */
  labels?: number[];
  meta?: unknown;
  /** A problem with this row (duplicate, no label, metadata too large): its image becomes a reject with this reason. */
  problem?: string;
  /** Set while scanning when a file of the folder matches the row. */
  seen?: boolean;
}

/** A parsed label or metadata file, keyed by the image's path relative to the folder (`/`-separated). */
export interface LabelTable {
  /** The file as given. */
  file: string;
  /** Label names by index; null in a metadata-only table. */
  labelNames: string[] | null;
  /** Rows list several labels each (`labels`), and `label` is null. */
  multiLabel: boolean;
  /** `names`: labels were names, sorted into labelNames; `integers`: labels were indices, names are "0" … "max". */
  labelKind: 'names' | 'integers' | null;
  rows: Map<string, LabelRow>;
  /** SHA-256 of the file's bytes: a resumed conversion refuses another file. */
  digest: string;
}

const PATH_COLUMNS = ['path', 'file', 'filename', 'image', 'name'];
const LABEL_COLUMNS = ['label', 'labels', 'class', 'category'];
const INTEGER = /^(0|[1-9][0-9]*)$/;

type Cell = string | number | boolean | null | unknown[] | Record<string, unknown>;
interface RawRow {
  line: number;
  path: unknown;
  /** undefined: no label column, or the key is missing on this JSONL line. */
  label: unknown;
  meta?: Record<string, Cell>;
}

/**
 * Reads a label file: each row names an image (relative to the converted folder) and its label (a name
 * or an integer, or a list of them: multi-label); other columns become the sample's metadata. Label
 * names are sorted (code-unit order, as ImageFolder's folder names), so the same set of labels gives the
 * same indices whatever the row order; integer labels are kept as indices and named "0" … "max".
 * A malformed file (bad CSV or JSON, a missing column, a row without a path, labels of mixed kinds) is an
 * InputError naming the file and line; a problem with one row (listed twice, no label, metadata too
 * large) marks that row, whose image then becomes a listed reject.
 */
export function readLabelFile(options: LabelFileOptions): LabelTable {
  expectKnownKeys('labels', options, ['file', 'pathColumn', 'labelColumn', 'labelSeparator']);
  const separator = options.labelSeparator;
  if (separator !== undefined && (typeof separator !== 'string' || separator.length === 0)) {
    throw invalidOption('labels.labelSeparator', 'non-empty string', separator);
  }
  const { raw, digest, file } = readRows(options.file, 'labels', options.pathColumn, options.labelColumn ?? null, true);
  if (separator !== undefined && !isCsv(file)) throw invalidOption('labels.labelSeparator', 'used with a .csv file only (JSONL lists labels as arrays)', separator);
  const fileName = basename(file);

  // Each row's labels as strings or numbers; a list when multi-label.
  const multiLabel = separator !== undefined || raw.some((r) => Array.isArray(r.label));
  const hasLabels = raw.some((r) => r.label !== undefined);
  const values: Array<Array<string | number> | null> = raw.map((r) => {
    const { label } = r;
    if (label === undefined || label === null || label === '') return null;
    const list = Array.isArray(label) ? label : typeof label === 'string' && separator !== undefined ? label.split(separator).filter((s) => s !== '') : [label];
    for (const value of list) {
      const ok = typeof value === 'string' ? value.length > 0 : typeof value === 'number' && Number.isInteger(value) && value >= 0;
      if (!ok) {
        throw new InputError(file, `${fileName} line ${r.line}: a label must be a name (non-empty string) or an integer of at least 0, found ${JSON.stringify(value)}`);
      }
    }
    return list as Array<string | number>;
  });
  // CSV cells are strings: a column of decimal integers is integer labels. JSON says which it is.
  const all = values.flatMap((v) => v ?? []);
  const jsonNumbers = all.some((v) => typeof v === 'number');
  const jsonNames = all.some((v) => typeof v === 'string');
  if (jsonNumbers && jsonNames) {
    const line = raw[values.findIndex((v) => v?.some((x) => typeof x === 'number'))]!.line;
    throw new InputError(file, `${fileName} mixes integer labels (line ${line}) and label names: use one kind`);
  }
  const integers = all.length > 0 && (jsonNumbers || (isCsv(file) && all.every((v) => INTEGER.test(v as string))));
  let labelNames: string[] | null = null;
  let index: (value: string | number) => number = Number;
  if (hasLabels && integers) {
    const max = all.reduce<number>((m, v) => Math.max(m, Number(v)), 0);
    if (max >= 1_000_000) throw new InputError(file, `${fileName}: integer label ${max} is over 999999; give labels as names instead`);
    labelNames = Array.from({ length: max + 1 }, (_, i) => String(i));
  } else if (hasLabels) {
    labelNames = [...new Set(all as string[])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byName = new Map(labelNames.map((name, i) => [name, i]));
    index = (value) => byName.get(value as string)!;
  }

  const rows = new Map<string, LabelRow>();
  raw.forEach((r, i) => {
    const list = values[i]!;
    const row: LabelRow = { line: r.line, label: null };
    if (multiLabel) row.labels = list === null ? [] : [...new Set(list.map(index))].sort((a, b) => a - b);
    else if (list !== null) row.label = index(list[0]!);
    else if (labelNames !== null) row.problem = `no label in ${fileName} line ${r.line}`;
    if (r.meta !== undefined) setMeta(row, r.meta, fileName);
    addRow(rows, relativePath(r, file, fileName), row, fileName);
  });
  return { file, labelNames, multiLabel: labelNames !== null && multiLabel, labelKind: labelNames === null ? null : integers ? 'integers' : 'names', rows, digest };
}

/** Reads a metadata file: every column or key but the path is the sample's `meta` (an object). */
export function readMetaFile(options: MetaFileOptions): LabelTable {
  expectKnownKeys('meta', options, ['file', 'pathColumn']);
  const { raw, digest, file } = readRows(options.file, 'meta', options.pathColumn, null, false);
  const fileName = basename(file);
  const rows = new Map<string, LabelRow>();
  for (const r of raw) {
    const row: LabelRow = { line: r.line, label: null };
    setMeta(row, r.meta ?? {}, fileName);
    addRow(rows, relativePath(r, file, fileName), row, fileName);
  }
  return { file, labelNames: null, multiLabel: false, labelKind: null, rows, digest };
}

function setMeta(row: LabelRow, meta: Record<string, Cell>, fileName: string): void {
  if (Object.keys(meta).length === 0) return;
  const bytes = packPlain(meta).length;
  if (bytes > MAX_META_BYTES) row.problem ??= `metadata of ${bytes} bytes in ${fileName} line ${row.line}, more than the ${MAX_META_BYTES} a sample may hold`;
  else row.meta = meta;
}

function addRow(rows: Map<string, LabelRow>, path: string, row: LabelRow, fileName: string): void {
  const earlier = rows.get(path);
  if (earlier === undefined) {
    rows.set(path, row);
    return;
  }
  // Two rows for one image: which label is meant cannot be known, so the image is not stored.
  const lines = earlier.problem?.startsWith('listed more than once') ? earlier.problem.replace(/\)$/, `, ${row.line})`) : `listed more than once in ${fileName} (lines ${earlier.line}, ${row.line})`;
  earlier.problem = lines;
  delete earlier.meta;
}

/** The row's path as the folder walk names files: relative, `/`-separated, without `./`. */
function relativePath(r: RawRow, file: string, fileName: string): string {
  const { path } = r;
  if (typeof path !== 'string' || path.length === 0) {
    throw new InputError(file, `${fileName} line ${r.line}: the path is ${path === undefined ? 'missing' : `not a non-empty string (${JSON.stringify(path)})`}`);
  }
  let name = path;
  while (name.startsWith('./')) name = name.slice(2);
  if (name.startsWith('/') || name.split('/').includes('..')) {
    throw new InputError(file, `${fileName} line ${r.line}: path ${JSON.stringify(path)} is not inside the folder (give it relative to the folder)`);
  }
  return name;
}

const isCsv = (file: string) => extname(file).toLowerCase() === '.csv' || extname(file).toLowerCase() === '.tsv';

/** The rows of a CSV or JSONL file: path, label (when a label column is asked for or found) and the other columns. */
function readRows(
  file: unknown,
  option: 'labels' | 'meta',
  pathColumn: unknown,
  labelColumn: unknown,
  findLabel: boolean,
): { raw: RawRow[]; digest: string; file: string } {
  if (typeof file !== 'string' || file.length === 0) throw invalidOption(`${option}.file`, 'path of a .csv or .jsonl file', file);
  if (pathColumn !== undefined && (typeof pathColumn !== 'string' || pathColumn.length === 0)) throw invalidOption(`${option}.pathColumn`, 'non-empty string', pathColumn);
  if (labelColumn !== null && (typeof labelColumn !== 'string' || labelColumn.length === 0)) throw invalidOption(`${option}.labelColumn`, 'non-empty string', labelColumn);
  const ext = extname(file).toLowerCase();
  if (!['.csv', '.tsv', '.jsonl', '.ndjson'].includes(ext)) {
    throw new InputError(file, `${file}: a label or metadata file is .csv, .tsv or .jsonl (one JSON object per line), not ${ext || 'a file without extension'}`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new InputError(file, `Cannot read ${file}: ${(cause as Error).message}`);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  const fileName = basename(file);
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text).equals(bytes)) throw new InputError(file, `${fileName} is not UTF-8 text`);
  const records = ext === '.jsonl' || ext === '.ndjson' ? jsonLines(text, file) : csvRows(text, file, ext === '.tsv' ? '\t' : ',');
  if (records.length === 0) throw new InputError(file, `${fileName} has no rows`);
  const keys = new Set(records.flatMap((r) => Object.keys(r.value)));
  const pick = (asked: unknown, defaults: string[], what: string, required: boolean): string | null => {
    if (typeof asked === 'string') {
      if (!keys.has(asked)) throw new InputError(file, `${fileName} has no ${what} column "${asked}"; its columns: ${[...keys].join(', ')}`);
      return asked;
    }
    const found = defaults.find((k) => keys.has(k)) ?? null;
    if (found === null && required) {
      throw new InputError(file, `${fileName} has none of the ${what} columns ${defaults.join(', ')}; name one (its columns: ${[...keys].join(', ')})`);
    }
    return found;
  };
  const pathKey = pick(pathColumn, PATH_COLUMNS, 'path', true)!;
  const labelKey = findLabel ? pick(labelColumn, LABEL_COLUMNS, 'label', false) : null;
  const raw = records.map(({ line, value }) => {
    const meta: Record<string, Cell> = {};
    for (const [k, v] of Object.entries(value)) if (k !== pathKey && k !== labelKey) meta[k] = v;
    return { line, path: value[pathKey], label: labelKey === null ? undefined : value[labelKey], ...(Object.keys(meta).length ? { meta } : {}) };
  });
  return { raw, digest, file };
}

function jsonLines(text: string, file: string): Array<{ line: number; value: Record<string, Cell> }> {
  const out: Array<{ line: number; value: Record<string, Cell> }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\uFEFF/, '').trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new InputError(file, `${basename(file)} line ${i + 1} is not valid JSON (${(cause as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(file, `${basename(file)} line ${i + 1} is not a JSON object`);
    }
    // msgpack readers drop or rename a "__proto__" key: refused rather than stored differently.
    if (line.includes('"__proto__"')) throw new InputError(file, `${basename(file)} line ${i + 1} has a "__proto__" key`);
    out.push({ line: i + 1, value: value as Record<string, Cell> });
  }
  return out;
}

function csvRows(text: string, file: string, delimiter: string): Array<{ line: number; value: Record<string, Cell> }> {
  let header: string[] | null = null;
  let parsed: Array<{ line: number; value: Record<string, Cell> }>;
  try {
    // Each record becomes its row as it is parsed: no second array of every record with its parse info.
    parsed = parseCsv(text, {
      // (typed loosely: csv-parse's overloads do not describe on_record returning another type)
      bom: true,
      delimiter,
      skip_empty_lines: true,
      on_record: (record: string[], context: { lines: number }) => {
        if (header === null) {
          header = record;
          const duplicate = record.find((name, i) => record.indexOf(name) !== i);
          if (duplicate !== undefined) throw new InputError(file, `${basename(file)} line 1 names column "${duplicate}" twice`);
          if (record.includes('__proto__')) throw new InputError(file, `${basename(file)} line 1 has a column "__proto__"`);
          return null; // the header row is no image's row
        }
        const value: Record<string, Cell> = {};
        for (let i = 0; i < header.length; i++) value[header[i]!] = record[i]!;
        return { line: context.lines, value };
      },
    } as never) as unknown as typeof parsed;
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    const { lines } = cause as { lines?: number };
    const where = lines === undefined ? '' : ` line ${lines}`;
    throw new InputError(file, `${basename(file)}${where} is not valid CSV (${(cause as Error).message})`);
  }
  return parsed;
}
