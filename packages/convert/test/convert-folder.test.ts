import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, InterruptedError, ResumeMismatchError } from '@imgstore/core';
import { openStore } from '@imgstore/store';
import { convertFolder, resolveWriteCodec, scanFolder } from '@imgstore/convert';
import { makeTempDir, samplesDir } from '../../../tools/test-support/index.js';

const tmp = makeTempDir('imgstore-convert-');
afterAll(tmp.cleanup);

describe('convertFolder, from code', () => {
  it('converts the sample folder with a codec id: jpeg is known without registering it first', async () => {
    const output = join(tmp.dir, 'jpeg.lmdb');
    const summary = await convertFolder({ input: samplesDir, output, width: 32, height: 24, codec: 'jpeg' });
    expect([summary.read, summary.stored, summary.rejects]).toEqual([29, 29, []]);
    expect(summary.header.codec).toBe('jpeg');
    expect(summary.header.provenance.tool).toBe('@imgstore/convert');
    const store = openStore(output);
    try {
      expect(store.length).toBe(29);
      expect(store.get(0).shape).toEqual([24, 32, 3]);
    } finally {
      await store.close();
    }
  });

  it('resumes only at the quality the conversion started with', async () => {
    const path = join(tmp.dir, 'resume-quality.lmdb');
    const options = { input: samplesDir, output: path, width: 32, height: 24 };
    const controller = new AbortController();
    const stopAfterFive = (p: { done: number }) => {
      if (p.done === 5) controller.abort();
    };
    const q80 = await resolveWriteCodec('jpeg', 80);
    await expect(convertFolder({ ...options, codec: q80, signal: controller.signal, onProgress: stopAfterFive })).rejects.toThrow(InterruptedError);
    await expect(convertFolder({ ...options, codec: await resolveWriteCodec('jpeg', 90), resume: true })).rejects.toThrow(ResumeMismatchError);
    const resumed = await convertFolder({ ...options, codec: q80, resume: true });
    expect([resumed.resumedAt, resumed.stored]).toEqual([5, 29]);
  });

  it('a missing input folder, or a file instead of a folder: InputError naming the path', async () => {
    const missing = join(tmp.dir, 'no-such-folder');
    const error = await convertFolder({ input: missing, output: join(tmp.dir, 'x.lmdb') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ code: 'ERR_IMGSTORE_INPUT', path: missing, message: `Input folder ${missing} does not exist` });
    const file = join(samplesDir, 'animals', readdirSync(join(samplesDir, 'animals'))[0]!);
    expect(() => scanFolder(file)).toThrow(new InputError(file, `Input ${file} is not a folder`));
  });
});

describe('scanFolder', () => {
  it('class subfolders give labels; files come in sorted order, the same on every walk', () => {
    const scan = scanFolder(samplesDir);
    expect(scan.layout).toBe('imagefolder');
    expect(scan.labelNames).toEqual(['animals', 'landscapes', 'objects', 'sky']);
    const names = [...scan.files()].map((f) => f.name);
    expect(names).toHaveLength(scan.count);
    expect([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(names);
    expect([...scanFolder(samplesDir).files()].map((f) => f.name)).toEqual(names);
  });
});
