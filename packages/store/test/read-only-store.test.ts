import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createStoreWriter, openStore, type StoreReader } from '@imgstore/store';
import { makeTempDir, repoRoot, runProcess } from '../../../tools/test-support/index.js';

// Reads a whole store in its own process and prints its length and a digest of every name and pixel.
const READER = `
import { createHash } from 'node:crypto';
const { openStore } = await import(process.argv[1]);
const store = openStore(process.argv[2]);
const hash = createHash('sha256');
for (const sample of store) hash.update(sample.name).update(sample.data);
console.log(JSON.stringify({ length: store.length, digest: hash.digest('hex') }));
await store.close();
`;
const storeModule = pathToFileURL(join(repoRoot, 'packages/store/dist/index.js')).href;

function digestOf(store: StoreReader): string {
  const hash = createHash('sha256');
  for (const sample of store) hash.update(sample.name).update(sample.data);
  return hash.digest('hex');
}

/** Runs READER on `path`; `unprivileged`: as user nobody when this process is root (root ignores file modes). */
function readInChild(path: string, unprivileged: boolean) {
  const asNobody = unprivileged && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return runProcess(process.execPath, ['--input-type=module', '-e', READER, storeModule, path], { cwd: tmpdir(), ...asNobody });
}

let tmp: ReturnType<typeof makeTempDir>;
let expected: { length: number; digest: string };
let storePath: string;

beforeEach(async () => {
  tmp = makeTempDir();
  chmodSync(tmp.dir, 0o755); // the unprivileged reader must reach the store inside
  storePath = join(tmp.dir, 'shared.lmdb');
  const shape: [number, number, number] = [64, 64, 3];
  const writer = createStoreWriter(storePath, { shape });
  for (let i = 0; i < 20; i++) {
    await writer.append({ name: `img-${i}`, label: null, shape, dtype: 'uint8', data: new Uint8Array(64 * 64 * 3).fill(i * 7) });
  }
  await writer.finish();
  const store = openStore(storePath);
  expected = { length: store.length, digest: digestOf(store) };
  await store.close();
});
afterEach(() => tmp.cleanup());

describe('deployment: read-only copies and many readers', () => {
  it('a read-only copy of a store (folder and files not writable, lock file included) reads in full', async () => {
    const copy = join(tmp.dir, 'read-only-copy.lmdb');
    cpSync(storePath, copy, { recursive: true });
    for (const name of readdirSync(copy)) chmodSync(join(copy, name), 0o444);
    chmodSync(copy, 0o555);
    expect(statSync(copy).mode & 0o222).toBe(0);

    const result = await readInChild(copy, true);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(expected);
    expect(readdirSync(copy).sort()).toEqual(['data.mdb', 'lock.mdb']); // nothing written next to it
    chmodSync(copy, 0o755);
  });

  it('many processes read one store at the same time, each seeing every record', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => readInChild(storePath, false)));
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(expected);
    }
  });
});
