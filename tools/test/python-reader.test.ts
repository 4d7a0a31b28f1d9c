import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openStore } from '@imgstore/store';
import { CodecRegistry, lz4Codec, rawCodec } from '@imgstore/codec';
import { jpegCodec } from '@imgstore/codec-jpeg';
import { makeImage, makeTempDir, repoRoot, runImgstore, runProcess } from '../test-support/index.js';

// The imgstore Python package from its sources (python/src), on Debian's Python with python3-lmdb,
// python3-msgpack, python3-lz4, python3-numpy, python3-pil (.ci/run installs them).
const python = '/usr/bin/python3';
const pythonEnv = {
  PYTHONPATH: [join(repoRoot, 'python/src'), process.env.PYTHONPATH].filter(Boolean).join(':'),
  PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in the checkout
};
const modules = ['lmdb', 'msgpack', 'lz4.block', 'numpy', 'PIL'];
const pythonReady =
  existsSync(python) && spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
// Under CI the test must run: a missing Debian package is a failure there, not a skip.
const mustRun = process.env.CI === 'true' || process.env.CI === '1';

let tmp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  tmp = makeTempDir('imgstore-py-');
});
afterAll(() => tmp.cleanup());

describe('Python reads what TypeScript wrote', () => {
  it('has the Debian Python packages under CI', () => {
    if (mustRun) expect(pythonReady, `${python} cannot import ${modules.join(', ')}`).toBe(true);
  });

  it.skipIf(!pythonReady)('returns the same pixels, names, labels and shapes for every record, with every built-in codec', async () => {
    const images = join(tmp.dir, 'images');
    for (const cls of ['a', 'b']) {
      mkdirSync(join(images, cls), { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(join(images, cls, `${i}.png`), await makeImage(50 + i, 40, 'png', { seed: i }));
    }
    for (const codec of ['lz4', 'raw', 'jpeg']) {
      const store = join(tmp.dir, `${codec}.lmdb`);
      const converted = await runImgstore(['convert', images, store, '--size', '24x16', '--codec', codec, '-q']);
      expect(converted.code, converted.stderr).toBe(0);

      const py = await runProcess(python, ['-m', 'imgstore.dump', store, '--pixels'], { env: pythonEnv });
      expect(py.code, py.stderr).toBe(0);
      const fromPython = py.stdout.trim().split('\n').map((line) => JSON.parse(line));

      // jpeg: Python decodes the stored JPEG with PIL (Debian's libjpeg-turbo), Node with the bundled one.
      const reader = openStore(store, { codecs: new CodecRegistry([rawCodec, lz4Codec, jpegCodec]) });
      const samples = [...reader];
      await reader.close();
      expect(samples).toHaveLength(6);
      const summary = (s: { index: number; name: string; label: number | null; shape: readonly number[] }) => ({
        index: s.index,
        name: s.name,
        label: s.label,
        shape: [...s.shape],
      });
      expect(fromPython.map(summary)).toEqual(samples.map(summary));
      samples.forEach((s, i) => {
        const pixels = Buffer.from(fromPython[i].pixels, 'base64');
        if (codec !== 'jpeg') {
          expect(fromPython[i].sha256).toBe(createHash('sha256').update(s.data).digest('hex'));
          return;
        }
        // Two JPEG decoders: within a few levels (IDCT rounding, chroma upsampling), never wholesale different.
        let worst = 0;
        for (let j = 0; j < pixels.length; j++) worst = Math.max(worst, Math.abs(pixels[j]! - s.data[j]!));
        expect(pixels.length).toBe(s.data.length);
        expect(worst).toBeLessThanOrEqual(6);
      });
    }
  });
});
