import { UnknownCodecError, expectNonEmptyString, invalidOption, type Codec } from '@imgstore/core';
import { lz4Codec } from './lz4-codec.js';
import { rawCodec } from './raw-codec.js';

/** A set of codecs by id. The default registry holds the built-in codecs; users may add their own. */
export class CodecRegistry {
  readonly #codecs = new Map<string, Codec>();

  constructor(codecs: Iterable<Codec> = []) {
    for (const codec of codecs) this.register(codec);
  }

  /** Adds a codec. Registering a different codec under an existing id is an error. */
  register(codec: Codec): this {
    if (typeof codec !== 'object' || codec === null) throw invalidOption('codec', 'codec object', codec);
    expectNonEmptyString('codec.id', codec.id);
    if (typeof codec.encode !== 'function') throw invalidOption('codec.encode', 'function', codec.encode);
    if (typeof codec.decode !== 'function') throw invalidOption('codec.decode', 'function', codec.decode);
    const existing = this.#codecs.get(codec.id);
    if (existing && existing !== codec) {
      throw invalidOption('codec.id', `an id not already registered (${this.ids().join(', ')})`, codec.id);
    }
    this.#codecs.set(codec.id, codec);
    return this;
  }

  has(id: string): boolean {
    return this.#codecs.has(id);
  }

  /** The codec registered under `id`; throws UnknownCodecError listing the registered ids. */
  get(id: string): Codec {
    const codec = this.#codecs.get(id);
    if (!codec) throw new UnknownCodecError(id, this.ids(), providerHint(id));
    return codec;
  }

  ids(): string[] {
    return [...this.#codecs.keys()];
  }
}

/** Codecs that other imgstore packages provide (they need more than this package's dependencies). */
const PROVIDED_ELSEWHERE: Record<string, string> = {
  jpeg:
    'Codec "jpeg" stores JPEG-encoded pixels and is provided by @imgstore/codec-jpeg: install it (npm install @imgstore/codec-jpeg), ' +
    'then call its registerJpegCodec() before opening the store',
};

function providerHint(id: string): string | undefined {
  return Object.hasOwn(PROVIDED_ELSEWHERE, id) ? PROVIDED_ELSEWHERE[id] : undefined;
}

/** The id new stores are written with unless told otherwise: raw reads ~10× faster than lz4 for ~5–13% more bytes on photos. */
export const DEFAULT_CODEC_ID = 'raw';

/** The process-wide registry that readers and writers use by default. */
export const defaultCodecs = new CodecRegistry([lz4Codec, rawCodec]);

export function registerCodec(codec: Codec): void {
  defaultCodecs.register(codec);
}

export function getCodec(id: string): Codec {
  return defaultCodecs.get(id);
}
