import { isCodec } from '@imgstore/core';
import { defaultCodecs, type CodecRegistry } from '@imgstore/codec';

/**
 * Imports `module` and registers the codecs it exports that `codecs` does not hold yet. Worker threads
 * call it before reopening a store whose codec is not built into @imgstore/codec (see Codec.module).
 */
export async function registerCodecsFrom(module: string, codecs: CodecRegistry = defaultCodecs): Promise<void> {
  const exports = (await import(module)) as Record<string, unknown>;
  for (const value of Object.values(exports)) {
    if (isCodec(value) && !codecs.has(value.id)) codecs.register(value);
  }
}
