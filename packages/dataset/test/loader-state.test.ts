import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Dataset, Shape } from '@imgstore/core';
import { DataLoader, DistributedSampler, SafeDataset, type BatchableSample, type LoaderState } from '@imgstore/dataset';
import { createPatternDataset } from './fixtures/pattern-dataset.mjs';

const shape: Shape = [2, 2, 3];

/** Sample i: every byte i % 256, label i % 5; indices in `bad` throw. */
function pixels(length: number, bad: number[] = []): Dataset<BatchableSample> & { sampleShape: Shape } {
  return {
    length,
    sampleShape: shape,
    get(index) {
      if (bad.includes(index)) throw new Error(`corrupt ${index}`);
      return { label: index % 5, shape, data: new Uint8Array(12).fill(index % 256) };
    },
  };
}

/** One entry per batch: its indices, labels and pixels, copied (the loader reuses its buffers). */
async function epochOf(loader: DataLoader, stopAfter = Infinity): Promise<string[]> {
  const out: string[] = [];
  if (stopAfter === 0) return out;
  for await (const b of loader) {
    out.push(`${[...b.indices]}|${[...b.labels]}|${Buffer.from(b.data).toString('hex')}`);
    if (out.length === stopAfter) break;
  }
  return out;
}

/** A JSON round trip, as through a checkpoint file. */
const roundTrip = (state: LoaderState): LoaderState => JSON.parse(JSON.stringify(state)) as LoaderState;

describe('DataLoader.stateDict / loadStateDict', () => {
  it('a loader given the state after k batches yields exactly the remaining batches, then the next epochs', async () => {
    const options = { batchSize: 6, shuffle: true, seed: 3 };
    const full = new DataLoader(pixels(50), options);
    const expected = [await epochOf(full), await epochOf(full), await epochOf(full)];
    for (const k of [0, 1, 4, 8]) {
      const first = new DataLoader(pixels(50), options);
      await epochOf(first); // epoch 0
      const head = await epochOf(first, k); // epoch 1, broken off after k batches
      const state = roundTrip(first.stateDict());
      expect(state).toMatchObject({ epoch: 1, batches: k, samples: k * 6 });
      expect(JSON.stringify(state).length).toBeLessThan(300);
      const resumed = new DataLoader(pixels(50), { ...options, state });
      expect([...head, ...(await epochOf(resumed))]).toEqual(expected[1]);
      expect(await epochOf(resumed)).toEqual(expected[2]);
    }
  });

  it('reports the batch the consumer holds as consumed, and the end of an epoch as the next epoch', async () => {
    const loader = new DataLoader(pixels(20), { batchSize: 8 });
    expect(loader.stateDict()).toMatchObject({ epoch: 0, batches: 0, samples: 0 });
    const seen: Array<Partial<LoaderState>> = [];
    for await (const _ of loader) seen.push(loader.stateDict());
    expect(seen.map((s) => [s.epoch, s.batches, s.samples])).toEqual([[0, 1, 8], [0, 2, 16], [1, 0, 0]]);
    expect(loader.stateDict()).toMatchObject({ epoch: 1, batches: 0, samples: 0 });
    // With dropLast the last full batch ends the epoch too.
    const dropping = new DataLoader(pixels(20), { batchSize: 8, dropLast: true });
    const states: number[] = [];
    for await (const _ of dropping) states.push(dropping.stateDict().epoch);
    expect(states).toEqual([0, 1]);
  });

  it('replays SafeDataset skips and substitutes identically, and augmentations from the same draws', async () => {
    for (const policy of ['skip', 'substitute'] as const) {
      const options = { batchSize: 5, shuffle: true, seed: 8, augment: { crop: [1, 1] as [number, number], flip: true } };
      const make = () => new SafeDataset(createPatternDataset(40, [3, 4, 3], [2, 9, 10, 33], -1, true), { policy });
      const full = await epochOf(new DataLoader(make(), options));
      const first = new DataLoader(make(), options);
      const head = await epochOf(first, 3);
      const resumedSafe = make();
      const resumed = await epochOf(new DataLoader(resumedSafe, { ...options, state: roundTrip(first.stateDict()) }));
      expect([...head, ...resumed]).toEqual(full);
      expect(resumed.length).toBe(5);
      // The resumed run met only the bad samples of the rest of the epoch.
      expect(resumedSafe.skipped.size).toBeGreaterThan(0);
    }
  });

  it('resumes with another worker count: the same batches', async () => {
    const options = { batchSize: 7, shuffle: true, seed: 5, augment: { crop: [2, 2] as [number, number], flip: true } };
    const full = await epochOf(new DataLoader(createPatternDataset(60, [3, 3, 3], [], -1, true), options));
    const first = new DataLoader(createPatternDataset(60, [3, 3, 3], [], -1, true), { ...options, workers: 2 });
    const head = await epochOf(first, 4);
    const state = roundTrip(first.stateDict());
    await first.close();
    const second = new DataLoader(createPatternDataset(60, [3, 3, 3], [], -1, true), { ...options, workers: 1 });
    second.loadStateDict(state);
    try {
      expect([...head, ...(await epochOf(second))]).toEqual(full);
    } finally {
      await second.close();
    }
  });

  it('after an early break, stateDict still says where the consumer stopped; setEpoch clears it', async () => {
    const loader = new DataLoader(pixels(30), { batchSize: 4, shuffle: true });
    await epochOf(loader, 2);
    expect(loader.stateDict()).toMatchObject({ epoch: 0, batches: 2, samples: 8 });
    loader.setEpoch(3);
    expect(loader.stateDict()).toMatchObject({ epoch: 3, batches: 0, samples: 0 });
  });

  it('refuses a state from another order or seed, naming the field', () => {
    const state = new DataLoader(pixels(30), { batchSize: 4, shuffle: true, seed: 1 }).stateDict();
    const other = (options: object) => () => new DataLoader(pixels(30), { batchSize: 4, shuffle: true, seed: 1, ...options, state });
    expect(other({ seed: 2 })).toThrow('The state was saved by a loader with seed 1; this loader has seed 2');
    expect(other({ shuffle: false })).toThrow(
      'The state was saved with type "RandomSampler" in its sampler (RandomSampler); this loader\'s sampler (SequentialSampler) has "SequentialSampler"',
    );
    expect(() => new DataLoader(pixels(31), { batchSize: 4, shuffle: true, seed: 1, state })).toThrow(
      'The state was saved with length 30 in its sampler (RandomSampler); this loader\'s sampler (RandomSampler) has 31',
    );
    expect(() => new DataLoader(pixels(30), { batchSize: 4, state: { ...state, version: 2 } as never })).toThrow(
      'Expected 1 for state.version but received 2 of type number',
    );
    expect(() => new DataLoader(pixels(30), { batchSize: 4, state: { ...state, epochs: 1 } as never })).toThrow(/Unknown option state.epochs/);
    expect(() => new DataLoader(pixels(30), { batchSize: 4, shuffle: true, seed: 1, state: { ...state, samples: 31 } })).toThrow(
      "The state consumed 31 indices per rank of epoch 0, but this loader's sampler yields 30 per epoch",
    );
    expect(() => new DataLoader(pixels(30), { batchSize: 4, state: 'x' as never })).toThrow(
      'Expected a DataLoader state (from stateDict()) for state but received "x" of type string',
    );
  });
});

/** Rank loaders over one dataset (each one the same code a separate process would run). */
function ranks(length: number, worldSize: number, batchSize: number, extra: { dropLast?: boolean; samplerDropLast?: boolean } = {}) {
  return Array.from({ length: worldSize }, (_, rank) => {
    const sampler = new DistributedSampler({ length, rank, worldSize, seed: 4, dropLast: extra.samplerDropLast ?? false });
    return new DataLoader(pixels(length), { batchSize, sampler, seed: 4, dropLast: extra.dropLast ?? false });
  });
}

async function indicesOf(loader: DataLoader, stopAfter = Infinity): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of loader) {
    out.push([...b.indices]);
    if (out.length === stopAfter) break;
  }
  return out;
}

describe('elastic resume: DistributedSampler state saved at world size W, resumed at W′ with the same global batch', () => {
  it.each([
    [4, 4, 2, 8],
    [2, 8, 4, 4],
  ])('W=%i (batch %i) → W′=%i (batch %i): the new ranks cover the rest of the epoch exactly once', async (w, b, w2, b2) => {
    const length = 96; // no padding: every sample exactly once per epoch
    const k = 2;
    const before = ranks(length, w, b);
    const consumed = (await Promise.all(before.map((l) => indicesOf(l, k)))).flat(2);
    const states = before.map((l) => roundTrip(l.stateDict()));
    expect(states.every((s) => s.batches === k && s.samples === k * b && s.sampler.worldSize === w)).toBe(true);
    const after = ranks(length, w2, b2);
    after.forEach((l) => l.loadStateDict(states[0]!));
    const rest = await Promise.all(after.map((l) => indicesOf(l)));
    // Every new rank yields the same number of batches (no rank waits forever in an all-reduce).
    expect(new Set(rest.map((r) => r.length)).size).toBe(1);
    const yielded = rest.flat(2);
    expect(new Set(yielded).size).toBe(yielded.length);
    expect([...consumed, ...yielded].sort((x, y) => x - y)).toEqual([...Array(length).keys()]);
    // The global batches after the resume are the uninterrupted run's global batches, as sets.
    const full = await Promise.all(ranks(length, w, b).map((l) => indicesOf(l)));
    const globalBatch = (perRank: number[][][], j: number) => perRank.flatMap((r) => r[j] ?? []).sort((x, y) => x - y);
    for (let j = 0; j < rest[0]!.length; j++) expect(globalBatch(rest, j)).toEqual(globalBatch(full, j + k));
  });

  it('with padding (a length no world size divides), the rest of the epoch comes once, plus only the new world size’s padding', async () => {
    const length = 53;
    const before = ranks(length, 4, 3);
    const consumed = (await Promise.all(before.map((l) => indicesOf(l, 2)))).flat(2);
    const state = before[0]!.stateDict();
    const after = ranks(length, 2, 6);
    after.forEach((l) => l.loadStateDict(state));
    const yielded = (await Promise.all(after.map((l) => indicesOf(l)))).flat(2);
    const unseen = [...Array(length).keys()].filter((i) => !consumed.includes(i));
    const counts = new Map<number, number>();
    for (const i of yielded) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect(unseen.every((i) => counts.get(i) === 1)).toBe(true);
    // World size 2 pads 53 to 54: one repeat, of a sample from the epoch's start.
    expect(yielded.length - unseen.length).toBe(1);
  });

  it('refuses a world size that cannot split the positions consumed, naming the global batch', async () => {
    const before = ranks(40, 4, 3);
    await indicesOf(before[0]!, 1);
    const state = before[0]!.stateDict(); // 3 × 4 = 12 positions consumed
    const [wrong] = ranks(40, 5, 3);
    expect(() => wrong!.loadStateDict(state)).toThrow(
      'The state consumed 12 positions of epoch 0 at world size 4, which 5 ranks cannot split evenly; resume with the same global batch (batchSize × worldSize = 12)',
    );
  });

  it('property: every rank yields the same number of batches for any length, world size, batch size and dropLast, also after an elastic resume', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        async (length, worldSize, batchSize, dropLast, samplerDropLast, k, newWorld) => {
          const extra = { dropLast, samplerDropLast };
          const loaders = ranks(length, worldSize, batchSize, extra);
          const counts = await Promise.all(loaders.map(async (l) => (await indicesOf(l)).length));
          expect(new Set(counts).size).toBe(1);
          expect(counts[0]).toBe(loaders[0]!.length);
          // Resume after k batches at newWorld, with the global batch kept when it divides.
          const global = batchSize * worldSize;
          if (global % newWorld !== 0) return;
          for (const l of loaders) await indicesOf(l, k);
          const state = loaders[0]!.stateDict();
          const after = ranks(length, newWorld, global / newWorld, extra);
          after.forEach((l) => l.loadStateDict(state));
          const resumed = await Promise.all(after.map(async (l) => (await indicesOf(l)).length));
          expect(new Set(resumed).size).toBe(1);
        },
      ),
      { numRuns: 150 },
    );
  });
});
