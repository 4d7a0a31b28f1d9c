import { describe, expect, it } from 'vitest';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { ImgstoreError, StoreDamagedError, StoreFormatError, deserializeError, serializeError } from '@imgstore/core';

/** What another thread receives: the serialized error through a real message port (structured clone). */
function acrossThreads(error: unknown): Error {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(serializeError(error));
  const received = receiveMessageOnPort(port2)!.message;
  port1.close();
  return deserializeError(received);
}

describe('errors across threads', () => {
  it('keep their core class, code, message and fields', () => {
    const error = acrossThreads(new StoreDamagedError('/s.lmdb', 7, 'Store /s.lmdb record 7 is damaged'));
    expect(error).toBeInstanceOf(StoreDamagedError);
    expect(error).toBeInstanceOf(ImgstoreError);
    expect(error).toMatchObject({ name: 'StoreDamagedError', code: 'ERR_IMGSTORE_STORE_DAMAGED', path: '/s.lmdb', index: 7 });
    expect(error.message).toBe('Store /s.lmdb record 7 is damaged');
  });

  it("a subclass defined in another package comes back as its code's core class, with its own name and fields", () => {
    class UnsupportedFeatureError extends StoreFormatError {
      readonly feature = 'MDB_DUPSORT';
    }
    const error = acrossThreads(new UnsupportedFeatureError('/s.lmdb', 'not-a-store', 'DUPSORT is not read'));
    expect(error).toBeInstanceOf(StoreFormatError);
    expect(error).toMatchObject({ name: 'UnsupportedFeatureError', reason: 'not-a-store', feature: 'MDB_DUPSORT' });
  });

  it('anything else comes back as a plain Error with its message', () => {
    const error = acrossThreads(new TypeError('x is not a function'));
    expect(error).not.toBeInstanceOf(ImgstoreError);
    expect(error).toMatchObject({ name: 'TypeError', message: 'x is not a function' });
  });
});
