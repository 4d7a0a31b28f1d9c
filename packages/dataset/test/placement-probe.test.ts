import { describe, expect, it } from 'vitest';
import { createPatternDataset } from './fixtures/pattern-dataset.mjs';
import { DataLoader } from '@imgstore/dataset';
import { PROBE_BATCHES, PROBE_EVERY, PlacementProbe, type Placement } from '../src/placement-probe.js';

/** Feeds the probe batches whose wait depends on the placement in force, as a loader would; returns the placements used. */
function drive(probe: PlacementProbe, batches: number, waitOf: Record<Placement, number>): Placement[] {
  const used: Placement[] = [];
  for (let i = 0; i < batches; i++) {
    const p = probe.placement;
    used.push(p);
    probe.record(p === 'here', waitOf[p]);
  }
  return used;
}

describe('PlacementProbe', () => {
  it('measures workers, then this thread, and keeps the placement the consumer waits less with', () => {
    const probe = new PlacementProbe();
    // Two unmeasured batches while the workers' pipeline fills, then PROBE_BATCHES of each.
    const used = drive(probe, 2 + 2 * PROBE_BATCHES, { workers: 9, here: 4 });
    expect(used).toEqual([...Array<Placement>(2 + PROBE_BATCHES).fill('workers'), ...Array<Placement>(PROBE_BATCHES).fill('here')]);
    expect(probe.probes).toBe(1);
    expect(probe.placement).toBe('here');
    const workersFaster = new PlacementProbe();
    drive(workersFaster, 2 + 2 * PROBE_BATCHES, { workers: 2, here: 4 });
    expect(workersFaster.placement).toBe('workers');
  });

  it('measures again every PROBE_EVERY batches and follows a change (the page cache warms, the load moves)', () => {
    const probe = new PlacementProbe();
    drive(probe, 2 + 2 * PROBE_BATCHES, { workers: 9, here: 4 });
    expect(drive(probe, PROBE_EVERY, { workers: 9, here: 4 })).toEqual(Array<Placement>(PROBE_EVERY).fill('here'));
    // Now workers pay off (e.g. the consumer got busy): the next probe finds it.
    drive(probe, 2 + 2 * PROBE_BATCHES, { workers: 1, here: 4 });
    expect(probe.probes).toBe(2);
    expect(probe.placement).toBe('workers');
  });

  it("does not count, in this thread's probe, batches that workers filled before the switch", () => {
    const probe = new PlacementProbe();
    drive(probe, 2 + PROBE_BATCHES, { workers: 5, here: 0 });
    expect(probe.placement).toBe('here');
    // Four leftover worker batches arrive at once (no wait): they say nothing about this thread.
    for (let i = 0; i < 4; i++) probe.record(false, 0);
    expect(probe.probes).toBe(0);
    drive(probe, PROBE_BATCHES, { workers: 5, here: 6 });
    expect(probe.placement).toBe('workers');
  });
});

describe('DataLoader placement', () => {
  it('probes both placements and yields the same batches as workers: 0 through the switches', async () => {
    const options = { batchSize: 3, shuffle: true, seed: 5 } as const;
    const collect = async (loader: DataLoader) => {
      const out: string[] = [];
      try {
        for (let e = 0; e < 3; e++) for await (const b of loader) out.push(`${b.indices.join(',')}:${Buffer.from(b.data).toString('hex')}`);
      } finally {
        await loader.close();
      }
      return out;
    };
    const alone = await collect(new DataLoader(createPatternDataset(60), options));
    const loader = new DataLoader(createPatternDataset(60), { ...options, workers: 2 });
    const threaded = collect(loader);
    expect(await threaded).toEqual(alone);
    expect(loader.placement?.probes).toBeGreaterThanOrEqual(1);
  });
});
