import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { packPlain, unpackPlain } from '@imgstore/codec';
import { createStoreWriter } from '@imgstore/store';
import { makeTempDir, runImgstore, runProcess, uniquePixels } from '../../../tools/test-support/index.js';

// Stores whose header was edited after the fact with py-lmdb, as a user (or a flipped bit, or a buggy
// writer) would: the CLI must say what is wrong in one line, exit 1, and not size memory or time from the lie.

const COUNT = 12;
const shape: [number, number, number] = [16, 16, 3];
let tmp: ReturnType<typeof makeTempDir>;
let pristine: string;

beforeAll(async () => {
  tmp = makeTempDir('imgstore-hostile-stores-');
  pristine = join(tmp.dir, 'pristine.lmdb');
  const writer = createStoreWriter(pristine, { shape, labelNames: ['a', 'b'] });
  for (let i = 0; i < COUNT; i++) await writer.append({ name: `${i}.png`, label: i % 2, shape, dtype: 'uint8', data: uniquePixels(16 * 16 * 3, i) });
  await writer.finish();
});
afterAll(() => tmp.cleanup());

/**
 * A copy of the pristine store whose header fields are replaced by `fields` (JSON), written back with
 * py-lmdb; with `dropCrc` the header checksum goes too (as in a store written before it existed, or an
 * editor who knew to remove it).
 */
async function editedCopy(name: string, fields: Record<string, unknown>, dropCrc: boolean): Promise<string> {
  const path = join(tmp.dir, `${name}.lmdb`);
  cpSync(pristine, path, { recursive: true });
  // The header is re-encoded here; py-lmdb writes it back (as a user's script would), dropping the CRC if asked.
  const env = open({ path, noSubdir: false, maxDbs: 8, readOnly: true });
  const header = unpackPlain(env.openDB({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' }).getBinary(Buffer.from('header'))!);
  await env.close();
  const bytes = packPlain({ ...(header as object), ...fields });
  const script = `
import sys, lmdb
env = lmdb.open(sys.argv[1], max_dbs=8)
meta = env.open_db(b"meta")
with env.begin(write=True) as txn:
    txn.put(b"header", bytes.fromhex(sys.argv[2]), db=meta)
    if sys.argv[3] == "drop":
        txn.delete(b"header-crc32", db=meta)
env.close()
`;
  const run = await runProcess('/usr/bin/python3', ['-c', script, path, bytes.toString('hex'), dropCrc ? 'drop' : 'keep']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return path;
}

/** The CLI in a child whose heap is capped: a lie that sizes memory fails the run instead of the machine. */
function cli(args: string[]) {
  return runImgstore(args, { env: { NODE_OPTIONS: '--max-old-space-size=512' } });
}

function expectOneLineRefusal(run: { code: number | null; stdout: string; stderr: string }, path: string, field: RegExp) {
  expect(run.stderr).not.toMatch(/unexpected error|RangeError|\n\s+at /);
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(path);
  expect(lines[0]).toMatch(field);
}

describe('a store whose header was edited', () => {
  // Each case with the header CRC dropped, so that the cross-checks (not the checksum) must catch the lie.
  it('shape larger than its records: info, verify and bench refuse it in one line naming the field', async () => {
    const path = await editedCopy('huge-shape', { shape: [100000, 100000, 3] }, true);
    for (const command of [['info', path], ['verify', path, '-q'], ['bench', path, '--epochs', '1']]) {
      expectOneLineRefusal(await cli(command), path, /field "shape"/);
    }
    // Within the hard bounds (1 GiB per sample), still larger than the records hold: the records are witnesses.
    const large = await editedCopy('large-shape', { shape: [8000, 8000, 3] }, true);
    for (const command of [['info', large], ['verify', large, '-q'], ['bench', large, '--epochs', '1']]) {
      const run = await cli(command);
      expectOneLineRefusal(run, large, /field "shape" says \[8000,8000,3\] but the store holds record 0 of shape \[16,16,3\]/);
    }
  }, 120_000);

  it('a record count far larger than the records database: refused at once, not minutes of reading', async () => {
    const path = await editedCopy('huge-count', { count: 4_000_000_000, labelCounts: [2_000_000_000, 2_000_000_000] }, true);
    for (const command of [['info', path], ['verify', path, '-q'], ['bench', path, '--epochs', '1'], ['export', path, join(tmp.dir, 'out')]]) {
      const run = await cli(command);
      expectOneLineRefusal(run, path, new RegExp(`field "count" says 4000000000 but the store holds ${COUNT} records`));
    }
  }, 120_000);

  it('with its checksum kept, any edit is refused as a checksum mismatch', async () => {
    const path = await editedCopy('kept-crc', { rejected: 0, provenance: { tool: 'x', toolVersion: '1', createdAt: 'now' } }, false);
    expectOneLineRefusal(await cli(['info', path]), path, /damaged header: checksum mismatch/);
  }, 60_000);
});
