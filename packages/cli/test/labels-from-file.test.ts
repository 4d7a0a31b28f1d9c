import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FORMAT_MINOR_VERSION, type Sample } from '@imgstore/core';
import { openStore } from '@imgstore/store';
import { DataLoader } from '@imgstore/dataset';
import { makeImage, makeTempDir, runImgstore } from '../../../tools/test-support/index.js';

// `imgstore convert --labels/--meta`, end to end through the real CLI and the TypeScript reader.

const tmp = makeTempDir('imgstore-cli-labels-');
afterAll(tmp.cleanup);
const folder = join(tmp.dir, 'photos');
const FILES = ['a.jpg', 'b.png', 'sub/c.jpg', 'sub/d.jpg', 'e.jpg'];

beforeAll(async () => {
  for (const [i, name] of FILES.entries()) {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), await makeImage(12, 10, name.endsWith('.png') ? 'png' : 'jpeg', { seed: i + 1 }));
  }
});

function write(name: string, text: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
}

async function read(store: string): Promise<{ samples: Map<string, Sample>; header: ReturnType<typeof openStore>['header']; rejects: Map<string, string> }> {
  const reader = openStore(store);
  try {
    return { samples: new Map([...reader].map((s) => [s.name, s])), header: reader.header, rejects: new Map(reader.rejects().map((r) => [r.name, r.reason])) };
  } finally {
    await reader.close();
  }
}

describe('imgstore convert --labels', () => {
  it('CSV with label names and a caption column: sorted names, labels, metadata; each unmatched input a listed reject', async () => {
    const labels = write(
      'labels.csv',
      'filename,species,caption\nsub/c.jpg,dog,"a dog, running"\na.jpg,cat,a cat\nb.png,ant,tiny\nmissing.jpg,cat,gone\nsub/d.jpg,dog,first\nsub/d.jpg,cat,second\n',
    );
    const store = join(tmp.dir, 'csv.lmdb');
    const run = await runImgstore(['convert', folder, store, '--labels', labels, '--label-column', 'species', '--size', '8x8', '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Stored 3 of 6 inputs .* 3 rejected/);
    const { samples, header, rejects } = await read(store);
    expect(header.labelNames).toEqual(['ant', 'cat', 'dog']);
    expect([header.version, header.minorVersion, header.multiLabel]).toEqual([1, FORMAT_MINOR_VERSION, undefined]);
    expect(header.labelCounts).toEqual([1, 1, 1]);
    expect(header.provenance.settings).toMatchObject({ layout: 'label-file', labels: labels });
    expect([...samples.values()].map(({ name, label, meta }) => ({ name, label, meta }))).toEqual([
      { name: 'a.jpg', label: 1, meta: { caption: 'a cat' } },
      { name: 'b.png', label: 0, meta: { caption: 'tiny' } },
      { name: 'sub/c.jpg', label: 2, meta: { caption: 'a dog, running' } },
    ]);
    expect(Object.fromEntries(rejects)).toEqual({
      'e.jpg': 'no row in labels.csv',
      'sub/d.jpg': 'listed more than once in labels.csv (lines 6, 7)',
      'missing.jpg': 'listed in labels.csv line 5, but the folder has no such file',
    });
  });

  it('JSONL multi-label with --meta: labels lists, any JSON metadata merged by path, a format 1.1 multi-label header', async () => {
    const labels = write(
      'tags.jsonl',
      FILES.map((name, i) => JSON.stringify({ image: name, labels: i === 4 ? [] : i % 2 ? ['sky'] : ['sky', 'water'], id: i })).join('\n'),
    );
    const meta = write('boxes.jsonl', `${JSON.stringify({ image: 'sub/c.jpg', boxes: [[1, 2, 3.5, 4]], caption: null })}\n`);
    const store = join(tmp.dir, 'multi.lmdb');
    const run = await runImgstore(['convert', folder, store, '--labels', labels, '--meta', meta, '--path-column', 'image', '--size', '8x8', '-q', '--strict']);
    expect(run.code, run.stderr).toBe(0);
    const { samples, header } = await read(store);
    expect([header.labelNames, header.multiLabel, header.labelCounts]).toEqual([['sky', 'water'], true, undefined]);
    expect([...samples.values()].map(({ name, label, labels: many, meta: m }) => ({ name, label, labels: many, meta: m }))).toEqual([
      { name: 'a.jpg', label: null, labels: [0, 1], meta: { id: 0 } },
      { name: 'b.png', label: null, labels: [0], meta: { id: 1 } },
      { name: 'e.jpg', label: null, labels: [], meta: { id: 4 } },
      { name: 'sub/c.jpg', label: null, labels: [0, 1], meta: { id: 2, boxes: [[1, 2, 3.5, 4]], caption: null } },
      { name: 'sub/d.jpg', label: null, labels: [0], meta: { id: 3 } },
    ]);
    const info = await runImgstore(['info', store]);
    expect(info.stdout).toMatch(/format\s+imgstore v1\.1, codec raw \(.*\), multi-label\n/);
    // The DataLoader batches pixels of a multi-label store; its single-label column is -1.
    const reader = openStore(store);
    const loader = new DataLoader(reader, { batchSize: 5 });
    for await (const batch of loader) expect([...batch.labels]).toEqual([-1, -1, -1, -1, -1]);
    await loader.close();
    await reader.close();
  });

  it('integer labels stay indices, named "0" … max', async () => {
    const labels = write('ints.csv', FILES.map((name, i) => `${name},${[2, 0, 2, 1, 0][i]}`).join('\n').replace(/^/, 'path,label\n'));
    const store = join(tmp.dir, 'ints.lmdb');
    const run = await runImgstore(['convert', folder, store, '--labels', labels, '--size', '8x8', '-q']);
    expect(run.code, run.stderr).toBe(0);
    const { samples, header } = await read(store);
    expect(header.labelNames).toEqual(['0', '1', '2']);
    expect([...samples.values()].map((s) => s.label)).toEqual([2, 0, 0, 2, 1]);
  });

  it('--strict stops before converting when a row and a file do not match, listing them; no store is written', async () => {
    const labels = write('strict.csv', 'path,label\na.jpg,cat\nb.png,cat\nmissing.jpg,dog\n');
    const store = join(tmp.dir, 'strict.lmdb');
    const run = await runImgstore(['convert', folder, store, '--labels', labels, '--strict', '--size', '8x8', '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/4 inputs of .* cannot be matched with .*strict\.csv \(strict\)/);
    expect(run.stderr).toMatch(/e\.jpg: no row in strict\.csv/);
    expect(run.stderr).toMatch(/missing\.jpg: listed in strict\.csv line 4, but the folder has no such file/);
    expect(existsSync(join(store, 'data.mdb'))).toBe(false);
  });

  it('a malformed file is exit 1 naming the file and line; column options without --labels are usage errors', async () => {
    const labels = write('bad.csv', 'path,label\na.jpg,"cat\nb.png,dog\n');
    const run = await runImgstore(['convert', folder, join(tmp.dir, 'bad.lmdb'), '--labels', labels, '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad\.csv line \d+ is not valid CSV/);
    const usage = await runImgstore(['convert', folder, join(tmp.dir, 'usage.lmdb'), '--label-column', 'x', '-q']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--label-column applies to --labels or --meta/);
  });
});
