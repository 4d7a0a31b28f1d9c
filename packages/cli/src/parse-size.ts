import { InvalidOptionError } from '@imgstore/core';

/** What `--size` asks for: an exact size, the shorter side (aspect ratio kept), or the original size. */
export type SizeSpec = { width: number; height: number } | { shorterSide: number } | { originalSize: true };

const LIMIT = 16384;

/**
 * Parses `--size`: `WIDTHxHEIGHT` (`256x192`) or one number for a square (`224`) give every record that
 * size; `shorter:256` keeps each image's aspect ratio with its shorter side 256; `original` keeps sizes.
 * The last two make a variable-size store.
 */
export function parseSize(text: string): SizeSpec {
  if (/^\s*original\s*$/i.test(text)) return { originalSize: true };
  const shorter = /^\s*shorter\s*[:=]\s*(\d+)\s*$/i.exec(text);
  if (shorter) {
    const side = Number(shorter[1]);
    if (side >= 1 && side <= LIMIT) return { shorterSide: side };
  }
  const match = shorter ? null : /^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(text);
  const width = match ? Number(match[1]) : NaN;
  const height = match ? Number(match[2] ?? match[1]) : NaN;
  if (!(width >= 1 && width <= LIMIT && height >= 1 && height <= LIMIT)) {
    throw new InvalidOptionError(
      'size',
      `Expected WIDTHxHEIGHT with each side from 1 to ${LIMIT} (e.g. 256x256), shorter:N or original for --size but received ${JSON.stringify(text)}`,
    );
  }
  return { width, height };
}
