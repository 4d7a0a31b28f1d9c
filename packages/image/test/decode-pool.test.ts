import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DecodeFailedError, ImgstoreError, InvalidOptionError } from '@imgstore/core';
import { DecodePool, decodeImage, type DecodeImageOptions } from '@imgstore/image';
import { makeImage, makeTempDir, repoRoot, runProcess, samplesDir } from '../../../tools/test-support/index.js';

const samples = readdirSync(samplesDir, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.includes('.'))
  .map((name) => join(samplesDir, name));

let tmp: ReturnType<typeof makeTempDir>;
let pool: DecodePool;
beforeAll(() => {
  tmp = makeTempDir();
  pool = new DecodePool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

async function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

describe('DecodePool', () => {
  it.each<[string, DecodeImageOptions]>([
    ['cover', { width: 64, height: 48 }],
    ['fill', { width: 33, height: 33, fit: 'fill' }],
    ['contain', { width: 40, height: 56, fit: 'contain' }],
    ['shorter side', { shorterSide: 40 }],
    ['original size', { originalSize: true }],
    ['grey', { width: 24, height: 20, channels: 1 }],
    ['RGBA', { width: 24, height: 20, channels: 4 }],
  ])('gives exactly decodeImage\'s pixels for every sample file (%s)', async (_, options) => {
    const results = await Promise.all(samples.map((path) => pool.decode(path, options)));
    for (const [i, path] of samples.entries()) {
      const expected = await decodeImage(path, options);
      const got = results[i]!;
      expect([got.width, got.height, got.channels], path).toEqual([expected.width, expected.height, expected.channels]);
      expect(Buffer.from(got.data).equals(Buffer.from(expected.data)), path).toBe(true);
    }
  });

  it('decodes bytes as well as paths', async () => {
    const path = samples.find((p) => p.endsWith('.jpg'))!;
    const fromBytes = await pool.decode(readFileSync(path), { width: 50, height: 30 });
    const fromPath = await pool.decode(path, { width: 50, height: 30 });
    expect(Buffer.from(fromBytes.data).equals(Buffer.from(fromPath.data))).toBe(true);
  });

  it('rejects bad inputs with decodeImage\'s DecodeFailedError and reason', async () => {
    const jpeg = await makeImage(120, 90, 'jpeg');
    const bad = {
      missing: join(tmp.dir, 'missing.jpg'),
      folder: join(tmp.dir, 'folder.jpg'),
      empty: join(tmp.dir, 'empty.jpg'),
      truncated: join(tmp.dir, 'truncated.jpg'),
      text: join(tmp.dir, 'notes.jpg'),
      huge: join(tmp.dir, 'huge.jpg'),
    };
    mkdirSync(bad.folder);
    writeFileSync(bad.empty, '');
    writeFileSync(bad.truncated, jpeg.subarray(0, jpeg.length >> 1));
    writeFileSync(bad.text, 'not an image');
    writeFileSync(bad.huge, jpeg);
    for (const [what, path] of Object.entries(bad)) {
      const options = what === 'huge' ? { width: 32, height: 32, limitInputPixels: 100 } : { width: 32, height: 32 };
      const expected = await settle(decodeImage(path, options));
      const got = await settle(pool.decode(path, options));
      expect(expected, what).toBeInstanceOf(DecodeFailedError);
      expect(got, what).toBeInstanceOf(DecodeFailedError);
      expect((got as Error).message, what).toBe((expected as Error).message);
    }
  });

  it('names a mistyped option, and refuses work once closed', async () => {
    expect(() => new DecodePool({ thread: 2 } as never)).toThrow(/thread/);
    expect(() => new DecodePool({ threads: 0 })).toThrow(InvalidOptionError);
    await expect(pool.decode(samples[0]!, { width: 8, heigth: 8 } as never)).rejects.toThrow(/heigth/);
    const closed = new DecodePool({ threads: 1 });
    await closed.decode(samples[0]!, { width: 8, height: 8 });
    await closed.close();
    const error = await settle(closed.decode(samples[0]!, { width: 8, height: 8 }));
    expect(error).toBeInstanceOf(ImgstoreError);
    expect((error as ImgstoreError).code).toBe('ERR_IMGSTORE_CLOSED');
  });

  it('closing while decodes are in flight ends the workers cleanly (never inside a native call)', async () => {
    // Terminating a worker thread inside libjpeg-turbo aborts the whole process ("terminate called after
    // throwing an instance of 'Napi::Error'"): a child process closes pools mid-flight, round after round.
    // Large photos, so that much of a worker's time is inside libjpeg-turbo.
    const jpegs: string[] = [];
    for (let i = 0; i < 4; i++) {
      jpegs.push(join(tmp.dir, `large-${i}.jpg`));
      writeFileSync(jpegs[i]!, await makeImage(1400, 1000, 'jpeg', { seed: i }));
    }
    const script = join(tmp.dir, 'close-mid-flight.mjs');
    writeFileSync(
      script,
      `import { DecodePool } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'packages/image/dist/index.js')).href)};\n` +
        `const files = ${JSON.stringify(jpegs)};\n` +
        `for (let round = 0; round < 25; round++) {\n` +
        `  const pool = new DecodePool({ threads: 2 });\n` +
        `  const all = [];\n` +
        `  for (let i = 0; i < 8; i++) for (const f of files) all.push(pool.decode(f, { width: 400, height: 400 }).then(() => 'done', (e) => e.code));\n` +
        `  await all[0];\n` + // the workers are busy decoding now
        `  await new Promise((resolve) => setTimeout(resolve, round % 6));\n` +
        `  await pool.close();\n` +
        `  const outcomes = new Set(await Promise.all(all));\n` +
        `  for (const o of outcomes) if (o !== 'done' && o !== 'ERR_IMGSTORE_CLOSED') throw new Error('unexpected ' + o);\n` +
        `}\n` +
        `console.log('ok');\n`,
    );
    const run = await runProcess(process.execPath, [script]);
    expect(run.stderr).toBe('');
    expect([run.code, run.stdout.trim()]).toEqual([0, 'ok']);
  });

  it('does not keep a process alive when it is left open', async () => {
    const script = join(tmp.dir, 'left-open.mjs');
    writeFileSync(
      script,
      `import { DecodePool } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'packages/image/dist/index.js')).href)};\n` +
        `const pool = new DecodePool({ threads: 2 });\n` +
        `const image = await pool.decode(${JSON.stringify(samples[0])}, { width: 8, height: 8 });\n` +
        `console.log(image.width);\n`,
    );
    // The process must end on its own (the test times out otherwise).
    const run = await runProcess(process.execPath, [script]);
    expect(run.stderr).toBe('');
    expect([run.code, run.stdout.trim()]).toEqual([0, '8']);
  });
});
