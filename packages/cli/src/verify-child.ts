// The process `imgstore verify` starts to read a store: if a damaged data file crashes native code
// (SIGSEGV, SIGBUS), only this process dies and the command reports it.
import { ImgstoreError } from '@imgstore/core';
import { openStore, verifyStore } from '@imgstore/store';
import { seededPermutation } from '@imgstore/dataset';
import type { VerifyMessage, VerifyRequest } from './verify-protocol.js';
import { loadCodecModule } from '@imgstore/convert';
import { registerBuiltInCodecs } from '@imgstore/convert/internal';

const send = (message: VerifyMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

async function main(request: VerifyRequest): Promise<void> {
  const { path, sample, seed, codecModule } = request;
  registerBuiltInCodecs();
  if (codecModule !== null) await loadCodecModule(codecModule);
  let indices: Uint32Array | undefined;
  let records: number;
  {
    const store = openStore(path);
    records = store.length;
    await store.close();
  }
  if (sample !== null && sample < records) {
    // A random sample, checked in index order (sequential reads).
    indices = seededPermutation(records, seed).subarray(0, sample).sort();
  }
  await send({ type: 'opened', records, checking: indices ? indices.length : records });
  const pending: Promise<void>[] = [];
  const report = await verifyStore(path, {
    ...(indices ? { indices } : {}),
    onProgress: (checked) => void pending.push(send({ type: 'progress', checked })),
    onProblem: (problem) => void pending.push(send({ type: 'problem', ...problem })),
  });
  await Promise.all(pending);
  await send({ type: 'done', checked: report.checked });
}

main(JSON.parse(process.argv[2]!) as VerifyRequest)
  .catch(async (error: unknown) => {
    const code = error instanceof ImgstoreError ? error.code : null;
    await send({ type: 'failed', message: error instanceof Error ? error.message : String(error), code });
  })
  .finally(() => process.disconnect());
