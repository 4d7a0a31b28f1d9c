import { InvalidOptionError, MAX_RECORDS, invalidOption } from '@imgstore/core';

/**
 * Deterministic shuffling. The generator is splitmix32, seeded from (seed, epoch) so every epoch gets
 * its own permutation and the same (seed, epoch) always gives the same one, on any platform.
 */
export function mixSeed(seed: number, epoch: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(epoch | 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uint32 generator (splitmix32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A permutation of 0..length-1 (Fisher–Yates with an unbiased bounded draw). */
export function seededPermutation(length: number, seed: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORDS) throw invalidOption('length', `integer from 0 to ${MAX_RECORDS}`, length);
  let order: Uint32Array;
  try {
    order = new Uint32Array(length);
  } catch (cause) {
    // 4 bytes per index: a length that memory cannot hold is refused with a message, not a RangeError.
    if (!(cause instanceof RangeError)) throw cause;
    throw new InvalidOptionError('length', `Cannot allocate a permutation of ${length} indices (${length * 4} bytes): ${cause.message}`);
  }
  for (let i = 0; i < length; i++) order[i] = i;
  const next = createRandom(seed);
  for (let i = length - 1; i > 0; i--) {
    const j = boundedRandom(next, i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Uniform integer in [0, bound) by rejection, so no index is favoured. */
export function boundedRandom(next: () => number, bound: number): number {
  const limit = 0x100000000 - (0x100000000 % bound);
  let x = next();
  while (x >= limit) x = next();
  return x % bound;
}
