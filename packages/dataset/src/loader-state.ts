import {
  InvalidOptionError,
  expectKnownKeys,
  expectNonNegativeInteger,
  expectPositiveInteger,
  invalidOption,
} from '@imgstore/core';
import type { Sampler, SamplerState } from './samplers.js';

/**
 * Where a DataLoader is in its epochs, as small JSON (`JSON.stringify` it into a checkpoint).
 * `loadStateDict` makes the next iteration yield exactly the batches this one had not yet yielded.
 */
export interface LoaderState {
  version: 1;
  /** The epoch in progress, or the next one when `batches` is 0. */
  epoch: number;
  /** Batches of that epoch already yielded to the consumer. */
  batches: number;
  /** Sampler indices those batches took (on this rank); a resume skips this many (or, elastically, see DistributedSampler). */
  samples: number;
  /** The loader's seed: the shuffle and the augmentation draws follow it. */
  seed: number;
  batchSize: number;
  sampler: SamplerState;
}

export const LOADER_STATE_VERSION = 1;

/** The sampler's own description, or its type and length for a sampler without `stateDict()`. */
export function samplerState(sampler: Sampler): SamplerState {
  return sampler.stateDict?.() ?? { type: 'custom', length: sampler.length };
}

/** Where to start after loading `state`: the epoch, and how many of its sampler indices to skip. */
export interface ResumePoint {
  epoch: number;
  skip: number;
  batches: number;
}

/**
 * Checks a saved state against the loader that will resume it and returns where to start. The sampler
 * must describe the same order (type, length, seed, ...); only a DistributedSampler's world size (and
 * rank) may differ, when the positions consumed split evenly over the new world size.
 */
export function resumePoint(state: unknown, loader: { seed: number; sampler: Sampler }): ResumePoint {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw invalidOption('state', 'a DataLoader state (from stateDict())', state);
  const s = state as Partial<LoaderState>;
  expectKnownKeys('state', s, ['version', 'epoch', 'batches', 'samples', 'seed', 'batchSize', 'sampler']);
  if (s.version !== LOADER_STATE_VERSION) throw invalidOption('state.version', `${LOADER_STATE_VERSION}`, s.version);
  const epoch = expectNonNegativeInteger('state.epoch', s.epoch);
  const batches = expectNonNegativeInteger('state.batches', s.batches);
  const samples = expectNonNegativeInteger('state.samples', s.samples);
  expectPositiveInteger('state.batchSize', s.batchSize);
  const seed = expectNonNegativeInteger('state.seed', s.seed);
  if (seed !== loader.seed) {
    throw new InvalidOptionError(
      'state.seed',
      `The state was saved by a loader with seed ${seed}; this loader has seed ${loader.seed} (the shuffle and augmentations follow the seed)`,
    );
  }
  const saved = s.sampler;
  if (typeof saved !== 'object' || saved === null || typeof saved.type !== 'string') {
    throw invalidOption('state.sampler', 'a sampler state ({ type, length, ... })', saved);
  }
  const mine = samplerState(loader.sampler);
  for (const key of new Set([...Object.keys(saved), ...Object.keys(mine)])) {
    if (key === 'worldSize' || key === 'rank') continue;
    if (saved[key] !== mine[key]) {
      throw new InvalidOptionError(
        `state.sampler.${key}`,
        `The state was saved with ${key} ${JSON.stringify(saved[key])} in its sampler (${saved.type}); ` +
          `this loader's sampler (${mine.type}) has ${JSON.stringify(mine[key])}`,
      );
    }
  }
  // Positions of the global order consumed; a DistributedSampler deals them out round-robin.
  const savedWorld = expectPositiveInteger('state.sampler.worldSize', saved.worldSize ?? 1);
  const world = mine.worldSize ?? 1;
  const consumed = samples * savedWorld;
  if (consumed % world !== 0) {
    throw new InvalidOptionError(
      'state.samples',
      `The state consumed ${consumed} positions of epoch ${epoch} at world size ${savedWorld}, which ${world} ranks cannot ` +
        `split evenly; resume with the same global batch (batchSize × worldSize = ${s.batchSize! * savedWorld})`,
    );
  }
  const skip = consumed / world;
  if (skip > loader.sampler.length) {
    throw new InvalidOptionError(
      'state.samples',
      `The state consumed ${skip} indices per rank of epoch ${epoch}, but this loader's sampler yields ${loader.sampler.length} per epoch`,
    );
  }
  return { epoch, skip, batches };
}
