import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError, InvalidOptionError } from '@imgstore/core';
import { readLabelFile, readMetaFile } from '../src/label-file.js';
import { scanInputs } from '../src/input-source.js';
import type { InputFile } from '../src/scan-folder.js';
import { makeTempDir } from '../../../tools/test-support/index.js';

// Label and metadata files, parsed and matched with a real folder (no decoding: the files are stubs).

const tmp = makeTempDir('imgstore-labels-');
afterAll(tmp.cleanup);
let n = 0;

/** A folder holding `files` (empty stubs) and, beside it, `labels` named `name`. */
function setup(files: string[], name: string, labels: string): { folder: string; file: string } {
  const root = join(tmp.dir, `case-${n++}`);
  const folder = join(root, 'images');
  mkdirSync(folder, { recursive: true });
  for (const f of files) {
    mkdirSync(dirname(join(folder, f)), { recursive: true });
    writeFileSync(join(folder, f), 'stub');
  }
  const file = join(root, name);
  writeFileSync(file, labels);
  return { folder, file };
}

const inputs = (scan: { files(): Generator<InputFile> }) =>
  [...scan.files()].map(({ name, label, labels, meta, reject }) => ({ name, label, ...(labels ? { labels } : {}), ...(meta !== undefined ? { meta } : {}), ...(reject ? { reject } : {}) }));

describe('label files: CSV and JSONL, names, integers, multi-label', () => {
  it('CSV with names: label names sorted, whatever the row order; other columns become metadata', () => {
    const { folder, file } = setup(['a.jpg', 'b.jpg', 'sub/c.jpg'], 'labels.csv', 'path,label,caption\nsub/c.jpg,dog,"a dog, running"\n./a.jpg,cat,a cat\nb.jpg,ant,\n');
    const scan = scanInputs({ input: folder, labels: file });
    expect(scan.layout).toBe('label-file');
    expect(scan.labelNames).toEqual(['ant', 'cat', 'dog']);
    expect(scan.multiLabel).toBe(false);
    expect(inputs(scan)).toEqual([
      { name: 'a.jpg', label: 1, meta: { caption: 'a cat' } },
      { name: 'b.jpg', label: 0, meta: { caption: '' } },
      { name: 'sub/c.jpg', label: 2, meta: { caption: 'a dog, running' } },
    ]);
  });

  it('CSV with integers: indices kept, names "0" … max; chosen columns; BOM and CRLF', () => {
    const { folder, file } = setup(['x.png', 'y.png'], 'val.csv', '\uFEFFImageId,Class\r\nx.png,3\r\ny.png,0\r\n');
    const scan = scanInputs({ input: folder, labels: { file, pathColumn: 'ImageId', labelColumn: 'Class' } });
    expect(scan.labelNames).toEqual(['0', '1', '2', '3']);
    expect(inputs(scan)).toEqual([
      { name: 'x.png', label: 3 },
      { name: 'y.png', label: 0 },
    ]);
  });

  it('CSV multi-label with a separator; a row with no labels is an empty list', () => {
    const { folder, file } = setup(['1.jpg', '2.jpg', '3.jpg'], 'tags.csv', 'image,labels\n1.jpg,sky water sky\n2.jpg,\n3.jpg,cloud\n');
    const scan = scanInputs({ input: folder, labels: { file, labelSeparator: ' ' } });
    expect(scan.labelNames).toEqual(['cloud', 'sky', 'water']);
    expect(scan.multiLabel).toBe(true);
    expect(inputs(scan)).toEqual([
      { name: '1.jpg', label: null, labels: [1, 2] },
      { name: '2.jpg', label: null, labels: [] },
      { name: '3.jpg', label: null, labels: [0] },
    ]);
  });

  it('JSONL: names, integers, arrays (multi-label) and any JSON value as metadata', () => {
    const names = setup(['a.jpg', 'b.jpg'], 'l.jsonl', '{"file":"b.jpg","class":"zebra","boxes":[[1,2,3,4]]}\n\n{"file":"a.jpg","class":"ape","id":7}\n');
    expect(inputs(scanInputs({ input: names.folder, labels: names.file }))).toEqual([
      { name: 'a.jpg', label: 0, meta: { id: 7 } },
      { name: 'b.jpg', label: 1, meta: { boxes: [[1, 2, 3, 4]] } },
    ]);
    const ints = setup(['a.jpg', 'b.jpg'], 'l.jsonl', '{"path":"a.jpg","label":2}\n{"path":"b.jpg","label":0}\n');
    const intScan = scanInputs({ input: ints.folder, labels: ints.file });
    expect([intScan.labelNames, inputs(intScan)]).toEqual([['0', '1', '2'], [{ name: 'a.jpg', label: 2 }, { name: 'b.jpg', label: 0 }]]);
    const multi = setup(['a.jpg', 'b.jpg'], 'l.jsonl', '{"path":"a.jpg","labels":["x","y"]}\n{"path":"b.jpg","labels":"y"}\n');
    const multiScan = scanInputs({ input: multi.folder, labels: multi.file });
    expect([multiScan.multiLabel, multiScan.labelNames, inputs(multiScan)]).toEqual([
      true,
      ['x', 'y'],
      [{ name: 'a.jpg', label: null, labels: [0, 1] }, { name: 'b.jpg', label: null, labels: [1] }],
    ]);
  });

  it('a metadata file alone keeps the folder layout (ImageFolder labels) and adds meta by path', () => {
    const { folder, file } = setup(['cat/1.jpg', 'dog/2.jpg'], 'meta.jsonl', '{"path":"dog/2.jpg","caption":"woof","box":[0,0,5,5]}\n');
    const scan = scanInputs({ input: folder, meta: file });
    expect([scan.layout, scan.labelNames]).toEqual(['imagefolder', ['cat', 'dog']]);
    expect(inputs(scan)).toEqual([
      { name: 'cat/1.jpg', label: 0 },
      { name: 'dog/2.jpg', label: 1, meta: { caption: 'woof', box: [0, 0, 5, 5] } },
    ]);
    expect(readMetaFile({ file }).rows.get('dog/2.jpg')!.line).toBe(1);
  });
});

describe('every image and every row accounted for', () => {
  const FILES = ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'];
  const CSV = 'path,label\na.jpg,cat\nb.jpg,dog\nmissing.jpg,cat\nb.jpg,cat\nd.jpg,\n';

  it('a row without a file, a file without a row, a path listed twice, a row without a label: each a listed reject', () => {
    const { folder, file } = setup(FILES, 'labels.csv', CSV);
    const scan = scanInputs({ input: folder, labels: file });
    expect(scan.count).toBe(5);
    expect(inputs(scan)).toEqual([
      { name: 'a.jpg', label: 0 },
      { name: 'b.jpg', label: null, reject: 'listed more than once in labels.csv (lines 3, 5)' },
      { name: 'c.jpg', label: null, reject: 'no row in labels.csv' },
      { name: 'd.jpg', label: null, reject: 'no label in labels.csv line 6' },
      { name: 'missing.jpg', label: null, reject: 'listed in labels.csv line 4, but the folder has no such file' },
    ]);
  });

  it('with strict, the same problems are one InputError before anything is converted, listing each', () => {
    const { folder, file } = setup(FILES, 'labels.csv', CSV);
    expect(() => scanInputs({ input: folder, labels: file, strict: true })).toThrow(InputError);
    expect(() => scanInputs({ input: folder, labels: file, strict: true })).toThrow(
      /4 inputs of .* cannot be matched with .*labels\.csv \(strict\):\n {2}b\.jpg: listed more than once .*\n {2}c\.jpg: no row in labels\.csv\n {2}d\.jpg: no label .*\n {2}missing\.jpg: listed in labels\.csv line 4/,
    );
  });

  it('a row naming a hidden file or a folder says so', () => {
    const { folder, file } = setup(['a.jpg', '.hidden.jpg', 'sub/b.jpg'], 'labels.csv', 'path,label\na.jpg,cat\n.hidden.jpg,cat\nsub,dog\nsub/b.jpg,dog\n');
    expect(inputs(scanInputs({ input: folder, labels: file })).filter((f) => f.reject)).toEqual([
      { name: '.hidden.jpg', label: null, reject: 'listed in labels.csv line 3, but hidden files and folders (names starting with ".") are left out' },
      { name: 'sub', label: null, reject: 'listed in labels.csv line 4, but that is a folder' },
    ]);
  });

  it('the label file inside the folder is not an input', () => {
    const { folder } = setup(['a.jpg'], 'unused.csv', '');
    writeFileSync(join(folder, 'labels.csv'), 'path,label\na.jpg,cat\n');
    const scan = scanInputs({ input: folder, labels: join(folder, 'labels.csv') });
    expect(inputs(scan)).toEqual([{ name: 'a.jpg', label: 0 }]);
  });

  it('a changed label file changes the scan digest (a resume with other labels is refused)', () => {
    const one = setup(['a.jpg'], 'labels.csv', 'path,label\na.jpg,cat\n');
    const before = scanInputs({ input: one.folder, labels: one.file }).digest;
    writeFileSync(one.file, 'path,label\na.jpg,dog\n');
    expect(scanInputs({ input: one.folder, labels: one.file }).digest).not.toBe(before);
  });
});

describe('malformed label files are an InputError naming the file and line', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['unclosed quote', 'l.csv', 'path,label\na.jpg,"cat\n', /l\.csv line \d+ is not valid CSV \(.*[Qq]uote/],
    ['a row with too many fields', 'l.csv', 'path,label\na.jpg,cat,extra\n', /l\.csv line 2 is not valid CSV \(Invalid Record Length/],
    ['a column named twice', 'l.csv', 'path,label,label\na.jpg,cat,dog\n', /l\.csv line 1 names column "label" twice/],
    ['no path column', 'l.csv', 'img,label\na.jpg,cat\n', /l\.csv has none of the path columns path, file, filename, image, name/],
    ['an empty path', 'l.csv', 'path,label\n,cat\n', /l\.csv line 2: the path is not a non-empty string/],
    ['a path outside the folder', 'l.csv', 'path,label\n../a.jpg,cat\n', /l\.csv line 2: path "\.\.\/a\.jpg" is not inside the folder/],
    ['no rows', 'l.csv', 'path,label\n', /l\.csv has no rows/],
    ['a JSONL line that is not JSON', 'l.jsonl', '{"path":"a.jpg","label":"cat"}\n{"path": "b.jpg",\n', /l\.jsonl line 2 is not valid JSON/],
    ['a JSONL line that is not an object', 'l.jsonl', '["a.jpg","cat"]\n', /l\.jsonl line 1 is not a JSON object/],
    ['integers mixed with names', 'l.jsonl', '{"path":"a.jpg","label":"cat"}\n{"path":"b.jpg","label":3}\n', /l\.jsonl mixes integer labels \(line 2\) and label names/],
    ['a fractional label', 'l.jsonl', '{"path":"a.jpg","label":1.5}\n', /l\.jsonl line 1: a label must be a name .* found 1\.5/],
    ['another extension', 'l.txt', 'a.jpg cat\n', /a label or metadata file is \.csv, \.tsv or \.jsonl/],
  ];
  it.each(cases)('%s', (_what, name, text, message) => {
    const { folder, file } = setup(['a.jpg', 'b.jpg'], name, text);
    expect(() => scanInputs({ input: folder, labels: file })).toThrow(InputError);
    expect(() => scanInputs({ input: folder, labels: file })).toThrow(message);
  });

  it('a label column that is not there, and options with a typo, name what was asked', () => {
    const { folder, file } = setup(['a.jpg'], 'l.csv', 'path,label\na.jpg,cat\n');
    expect(() => readLabelFile({ file, labelColumn: 'klass' })).toThrow(/l\.csv has no label column "klass"; its columns: path, label/);
    expect(() => readLabelFile({ file, labelSeperator: ' ' } as never)).toThrow(InvalidOptionError);
    expect(() => readLabelFile({ file, labelSeparator: '' })).toThrow(InvalidOptionError);
    expect(() => scanInputs({ input: folder, labels: file, strict: 'yes' as never })).toThrow(InvalidOptionError);
  });
});
