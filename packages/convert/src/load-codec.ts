import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidOptionError, isCodec, type Codec } from '@imgstore/core';
import { defaultCodecs } from '@imgstore/codec';
import { createJpegCodec, registerJpegCodec } from '@imgstore/codec-jpeg';

/** The codecs every command knows without being told: @imgstore/codec's built-ins and "jpeg". */
export function registerBuiltInCodecs(): void {
  registerJpegCodec();
}

/** True when `spec` names a module file rather than a codec id. */
export function isModuleSpec(spec: string): boolean {
  return /[\\/]/.test(spec) || /\.[cm]?js$/.test(spec);
}

/**
 * Imports a module file that exports a codec (as its default export or any named export) and registers
 * it, with `module` set so that worker threads can load it too. Returns the codec.
 */
export async function loadCodecModule(spec: string, option = '--codec'): Promise<Codec> {
  const path = isAbsolute(spec) ? spec : resolve(spec);
  if (!existsSync(path)) throw new InvalidOptionError(option, `${option} ${spec}: no such file (expected a codec id or a module file)`);
  const url = pathToFileURL(path).href;
  const exports = (await import(url)) as Record<string, unknown>;
  const codecs = Object.values(exports).filter(isCodec);
  const unique = [...new Map(codecs.map((c) => [c.id, c])).values()];
  if (unique.length !== 1) {
    throw new InvalidOptionError(
      option,
      `${option} ${spec}: expected a module exporting one codec (an object with id, encode, decode), found ${unique.length === 0 ? 'none' : unique.map((c) => c.id).join(', ')}`,
    );
  }
  const codec: Codec = { ...unique[0]!, module: unique[0]!.module ?? url };
  if (!defaultCodecs.has(codec.id)) defaultCodecs.register(codec);
  return codec;
}

/**
 * What `convert --codec X [--quality Q]` writes with: a registered id, or a module file's codec.
 * `--quality` applies to the jpeg codec only.
 */
export async function resolveWriteCodec(spec: string, quality: number | undefined): Promise<Codec> {
  if (isModuleSpec(spec)) {
    if (quality !== undefined) throw new InvalidOptionError('--quality', '--quality applies to --codec jpeg only');
    return loadCodecModule(spec);
  }
  if (!defaultCodecs.has(spec)) {
    throw new InvalidOptionError(
      '--codec',
      `--codec ${spec}: unknown codec; built in: ${defaultCodecs.ids().join(', ')}, or a path to a module exporting a codec (e.g. ./my-codec.mjs)`,
    );
  }
  if (spec === 'jpeg') return quality === undefined ? defaultCodecs.get('jpeg') : createJpegCodec({ quality });
  if (quality !== undefined) throw new InvalidOptionError('--quality', `--quality applies to --codec jpeg only, not to --codec ${spec}`);
  return defaultCodecs.get(spec);
}
