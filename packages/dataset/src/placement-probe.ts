/** Where a DataLoader with workers fills its batches: in the workers, or all in the loader's own thread. */
export type Placement = 'workers' | 'here';

/** Batches measured per probe of a placement (after the batches that only refill the pipeline). */
export const PROBE_BATCHES = 4;
/** Batches between two probes: how long a choice holds before it is measured again. */
export const PROBE_EVERY = 200;
/** Batches that follow a switch to workers and are not measured: the workers' pipeline is still empty. */
const SETTLE_BATCHES = 2;

interface Segment {
  placement: Placement;
  /** Batches still to let pass unmeasured. */
  settle: number;
  /** Batches still to measure (or, while running a choice, to run). */
  left: number;
  waited: number;
  measured: number;
  probe: boolean;
}

/**
 * Chooses by measurement whether workers help, so that `workers: N` is never slower than `workers: 0`.
 * Workers pay off when a sample costs computation (decoding JPEG or LZ4, augmenting) or when the
 * consumer is busy between batches; they cost when a sample is a copy at memory speed (a raw store),
 * where threads only share the memory bandwidth and add transfers. Which holds depends on the codec,
 * the machine, its load and the consumer, so the loader measures the one thing that counts: how long
 * the consumer waits for each batch. It runs a few batches with each placement, keeps the one with the
 * shorter mean wait, and measures again every PROBE_EVERY batches (the page cache warms, the load
 * changes). Batches are the same bytes wherever they are filled, so switching changes no batch.
 */
export class PlacementProbe {
  #segment: Segment = probeOf('workers');
  /** The probe segment that follows the current one. */
  #next: Segment | null = probeOf('here');
  #mean: Record<Placement, number> = { workers: Number.NaN, here: Number.NaN };
  #probes = 0;

  /** The placement for the next batches. */
  get placement(): Placement {
    return this.#segment.placement;
  }

  /** Probes completed (each measured both placements). */
  get probes(): number {
    return this.#probes;
  }

  /**
   * One batch the consumer received after waiting `waitMs` for it. `filledHere`: this thread filled it
   * (a batch a worker filled before a switch to 'here' says nothing about 'here').
   */
  record(filledHere: boolean, waitMs: number): void {
    const s = this.#segment;
    if (s.settle > 0) {
      s.settle--;
      return;
    }
    if (s.probe && s.placement === 'here' && !filledHere) return;
    s.waited += waitMs;
    s.measured++;
    if (--s.left > 0) return;
    if (!s.probe) {
      // A choice has run its course: measure the other placement, then this one again.
      this.#segment = probeOf(other(s.placement));
      this.#next = probeOf(s.placement);
      return;
    }
    this.#mean[s.placement] = s.waited / s.measured;
    if (this.#next) {
      this.#segment = this.#next;
      this.#next = null;
      return;
    }
    this.#probes++;
    // Workers on a tie: they also keep this thread free for the consumer's own work.
    const best: Placement = this.#mean.here < this.#mean.workers ? 'here' : 'workers';
    this.#segment = { placement: best, settle: 0, left: PROBE_EVERY, waited: 0, measured: 0, probe: false };
  }
}

function probeOf(placement: Placement): Segment {
  return { placement, settle: placement === 'workers' ? SETTLE_BATCHES : 0, left: PROBE_BATCHES, waited: 0, measured: 0, probe: true };
}

function other(placement: Placement): Placement {
  return placement === 'workers' ? 'here' : 'workers';
}
