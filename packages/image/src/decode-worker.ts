// The worker thread of a DecodePool (decode-pool.ts): reads a file and, for a plain JPEG, decodes and
// resamples it here; anything else goes back to the pool as bytes for sharp.
import { parentPort, workerData } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decode-pool.js';
import { readInputFileSync } from './input-file.js';
import { decodePlainJpegSync } from './plain-jpeg-decode.js';
import { Resampler } from './resample.js';

const resampler = new Resampler();
const port = parentPort!;
/** Set when the pool closes: what is still queued is skipped. */
const stop = (workerData as { stop: Int32Array }).stop;

/** Moved, not copied, when the bytes own their whole buffer (small reads may share Node's pool). */
function transferable(bytes: Uint8Array): ArrayBuffer[] {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
}

port.on('message', (request: DecodeRequest | 'close') => {
  // Closing the port ends the thread once this message is handled: never inside a native call.
  if (request === 'close') return port.close();
  if (Atomics.load(stop, 0)) return;
  const { seq, input, options } = request;
  let reply: DecodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = typeof input === 'string' ? readInputFileSync(input) : input;
    const image = typeof bytes === 'string' ? null : decodePlainJpegSync(bytes, options, resampler);
    if (image) {
      reply = { seq, kind: 'pixels', data: image.data, width: image.width, height: image.height };
      transfer = transferable(image.data);
    } else {
      reply = { seq, kind: 'sharp', input: bytes };
      if (typeof bytes !== 'string') transfer = transferable(bytes);
    }
  } catch (error) {
    const { message, code } = error as NodeJS.ErrnoException;
    reply = { seq, kind: 'failed', message: String(message ?? error), code };
  }
  port.postMessage(reply, transfer);
});
