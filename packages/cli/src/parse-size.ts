import { InvalidOptionError } from '@imgstore/core';

/** Parses `--size`: `WIDTHxHEIGHT` (`256x192`) or one number for a square (`224`). */
export function parseSize(text: string): { width: number; height: number } {
  const match = /^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(text);
  const width = match ? Number(match[1]) : NaN;
  const height = match ? Number(match[2] ?? match[1]) : NaN;
  const limit = 16384;
  if (!(width >= 1 && width <= limit && height >= 1 && height <= limit)) {
    throw new InvalidOptionError(
      'size',
      `Expected WIDTHxHEIGHT with each side from 1 to ${limit} (e.g. 256x256) for --size but received ${JSON.stringify(text)}`,
    );
  }
  return { width, height };
}
