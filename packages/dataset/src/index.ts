export { DataLoader } from './data-loader.js';
export type { Batch, BatchableSample, DataLoaderOptions } from './data-loader.js';
export { SafeDataset, SAFE_POLICIES, reopenSafeDataset } from './safe-dataset.js';
export { loadDataset } from './load-dataset.js';
export type { SafePolicy, SafeDatasetOptions, SkippedSample } from './safe-dataset.js';
export { SequentialSampler, RandomSampler, DistributedSampler } from './samplers.js';
export type { Sampler, DistributedSamplerOptions } from './samplers.js';
export { seededPermutation, createRandom, mixSeed } from './seeded-shuffle.js';
export type { Dataset } from '@imgstore/core';
