import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Codec } from '@imgstore/core';
import { CodecRegistry } from '@imgstore/codec';
import { openStore } from '@imgstore/store';
import { jpegCodec } from '@imgstore/codec-jpeg';
import type { CodecAdviceReport } from '@imgstore/convert';
import { makeTempDir, runImgstore, samplesDir } from '../../../tools/test-support/index.js';

// A user-defined codec, defined here: msgpack records (through @imgstore/codec) compressed with
// node:zlib's raw deflate. Written to a module file so the CLI (and its worker threads) can load it.
const codecUrl = pathToFileURL(createRequire(import.meta.url).resolve('@imgstore/codec')).href;
const zlibCodecSource = `
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { packRecord, unpackRecord } from ${JSON.stringify(codecUrl)};

export const zlibCodec = {
  id: 'test-zlib',
  description: 'msgpack record, raw deflate (a user codec)',
  encode: (record) => deflateRawSync(packRecord(record), { level: 6 }),
  // Refuse output beyond what the store allows, before inflating it.
  decode: (bytes, limits) => unpackRecord(inflateRawSync(bytes, limits ? { maxOutputLength: limits.maxDecodedBytes } : {})),
};
`;

let tmp: ReturnType<typeof makeTempDir>;
let codecModule: string;
let rawStore: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-codec-option-');
  codecModule = join(tmp.dir, 'zlib-codec.mjs');
  writeFileSync(codecModule, zlibCodecSource);
  writeFileSync(join(tmp.dir, 'no-codec.mjs'), 'export const answer = 42;\n');
  rawStore = join(tmp.dir, 'raw.lmdb');
  const run = await runImgstore(['convert', samplesDir, rawStore, '--size', '32x24', '-q']);
  expect(run.code, run.stderr).toBe(0);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('convert --codec <module> (a user-defined codec)', () => {
  it('writes a store through the CLI that the API, verify and worker threads read, lossless', async () => {
    const path = join(tmp.dir, 'zlib.lmdb');
    const run = await runImgstore(['convert', samplesDir, path, '--size', '32x24', '--codec', codecModule, '-q']);
    expect(run.code, run.stderr).toBe(0);

    // Without the module, the reading commands say which codec is missing.
    const bare = await runImgstore(['info', path]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('Unknown codec "test-zlib"');
    const info = await runImgstore(['info', path, '--codec', codecModule]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain('codec test-zlib');
    const verify = await runImgstore(['verify', path, '--codec', codecModule, '-q']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/all intact/);
    // bench reads through 2 worker threads, which load the codec module themselves.
    const bench = await runImgstore(['bench', path, '--codec', codecModule, '--workers', '2', '--epochs', '1', '--batch-size', '4', '--json']);
    expect(bench.code, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout)).toMatchObject({ records: 29, workers: 2 });

    // The API: the same module's codec, registered in a registry of the caller's.
    const { zlibCodec } = (await import(pathToFileURL(codecModule).href)) as { zlibCodec: Codec };
    const store = openStore(path, { codecs: new CodecRegistry([zlibCodec]) });
    const raw = openStore(rawStore);
    expect(store.header.codec).toBe('test-zlib');
    expect(store.length).toBe(raw.length);
    for (let i = 0; i < store.length; i++) {
      const [a, b] = [store.get(i), raw.get(i)];
      expect(a.name).toBe(b.name);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    }
    // A record that does not inflate is reported by the store like any damaged record.
    expect(() => zlibCodec.decode(Buffer.from('not deflate data'))).toThrow();
    await Promise.all([store.close(), raw.close()]);
  }, 120_000);

  it('names the problem with a module that exports no codec, or a file that does not exist', async () => {
    const none = await runImgstore(['convert', samplesDir, join(tmp.dir, 'x.lmdb'), '--codec', join(tmp.dir, 'no-codec.mjs')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('expected a module exporting one codec (an object with id, encode, decode), found none');
    const missing = await runImgstore(['convert', samplesDir, join(tmp.dir, 'x.lmdb'), '--codec', './missing-codec.mjs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--codec ./missing-codec.mjs: no such file');
    const typo = await runImgstore(['convert', samplesDir, join(tmp.dir, 'x.lmdb'), '--codec', 'jpg']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--codec jpg: unknown codec; built in: lz4, raw, jpeg');
  });
});

describe('convert --codec jpeg', () => {
  it('writes a smaller, lossy store; quality changes the size; info and verify read it', async () => {
    const sizes: Record<string, number> = {};
    for (const quality of ['95', '60']) {
      const path = join(tmp.dir, `jpeg-${quality}.lmdb`);
      const run = await runImgstore(['convert', samplesDir, path, '--size', '32x24', '--codec', 'jpeg', '--quality', quality, '-q']);
      expect(run.code, run.stderr).toBe(0);
      const store = openStore(path, { codecs: new CodecRegistry([jpegCodec]) });
      expect(store.header.codec).toBe('jpeg');
      expect(store.header.provenance.settings?.codec).toContain(`quality ${quality}`);
      const raw = openStore(rawStore);
      let bytes = 0;
      let error = 0;
      for (let i = 0; i < store.length; i++) {
        bytes += store.getStoredBytes(i).length;
        const [a, b] = [store.get(i).data, raw.get(i).data];
        for (let j = 0; j < a.length; j++) error += Math.abs(a[j]! - b[j]!);
      }
      sizes[quality] = bytes;
      // Lossy, but close: mean absolute error per channel value (32×24 thumbnails of detailed photos,
      // 4:2:0 chroma: the hardest case for JPEG; measured 4.5 at q95).
      expect(error / (store.length * 32 * 24 * 3)).toBeLessThan(quality === '95' ? 6 : 12);
      await Promise.all([store.close(), raw.close()]);
      const verify = await runImgstore(['verify', path, '-q']);
      expect(verify.code, verify.stderr).toBe(0);
      expect((await runImgstore(['info', path])).stdout).toContain(`codec jpeg (JPEG-encoded pixels (lossy, quality ${quality} when written)`);
    }
    expect(sizes['60']!).toBeLessThan(sizes['95']!);
  }, 60_000);

  it('refuses RGBA, and --quality with another codec, as usage errors', async () => {
    const rgba = await runImgstore(['convert', samplesDir, join(tmp.dir, 'y.lmdb'), '--codec', 'jpeg', '--channels', '4']);
    expect(rgba.code).toBe(2);
    expect(rgba.stderr).toContain('The jpeg codec stores 1 or 3 channels, not 4');
    const quality = await runImgstore(['convert', samplesDir, join(tmp.dir, 'y.lmdb'), '--quality', '80']);
    expect(quality.code).toBe(2);
    expect(quality.stderr).toContain('--quality applies to --codec jpeg only, not to --codec raw');
    const range = await runImgstore(['convert', samplesDir, join(tmp.dir, 'y.lmdb'), '--codec', 'jpeg', '--quality', '0']);
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('--quality must be an integer from 1 to 100');
  });
});

describe('convert --advise', () => {
  it('compares every built-in codec on a sample of the folder and writes no store', async () => {
    const before = readdirSync(tmp.dir).sort();
    const run = await runImgstore(['convert', '--advise', samplesDir, '--size', '32x24', '--advise-sample', '12', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as CodecAdviceReport;
    expect(report).toMatchObject({ folderInputs: 29, sampled: 12, rejected: 0, shape: [24, 32, 3] });
    const byLabel = Object.fromEntries(report.results.map((r) => [r.label, r]));
    expect(Object.keys(byLabel)).toEqual(['raw', 'lz4', 'jpeg q95', 'jpeg q90', 'jpeg q75']);
    expect(byLabel.raw!.meanError).toBe(0);
    expect(byLabel.lz4!.meanError).toBe(0);
    expect(byLabel['jpeg q95']!.meanError).toBeGreaterThan(0);
    expect(byLabel['jpeg q75']!.meanError).toBeGreaterThan(byLabel['jpeg q95']!.meanError);
    expect(byLabel['jpeg q75']!.bytesPerImage).toBeLessThan(byLabel['jpeg q95']!.bytesPerImage);
    expect(byLabel['jpeg q95']!.bytesPerImage).toBeLessThan(byLabel.raw!.bytesPerImage);
    // Projected for the whole folder from the sample's bytes per image.
    expect(byLabel.raw!.projectedBytes).toBeCloseTo(byLabel.raw!.bytesPerImage * 29, 0);
    for (const r of report.results) expect(r.readPerSecond).toBeGreaterThan(0);
    expect(readdirSync(tmp.dir).sort()).toEqual(before);

    const table = await runImgstore(['convert', '--advise', samplesDir, '--size', '16', '--advise-sample', '4', '--channels', '4']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^codec\s+bytes\/image\s+vs source\s+projected store\s+read samples\/s\s+mean error/m);
    expect(table.stdout).not.toContain('jpeg q'); // JPEG holds no alpha: not offered for RGBA
  }, 120_000);

  it('refuses a store argument with --advise, and a missing one without it', async () => {
    const both = await runImgstore(['convert', '--advise', samplesDir, join(tmp.dir, 'z.lmdb')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--advise writes no store');
    const none = await runImgstore(['convert', samplesDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing argument <store>');
  });
});
