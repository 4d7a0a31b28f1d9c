import { SingleBar } from 'cli-progress';
import type { ConvertProgress } from './convert-folder.js';

export interface ProgressReporter {
  update(progress: ConvertProgress): void;
  stop(): void;
}

/**
 * A live bar on a terminal (images/s, ETA, rejects); on a pipe or in CI, a plain line every
 * `intervalMs` so logs show progress without control characters.
 */
export function createProgressReporter(stream: NodeJS.WriteStream, label: string, intervalMs = 5000): ProgressReporter {
  const started = performance.now();
  const rate = (done: number) => done / Math.max(1e-3, (performance.now() - started) / 1000);
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format: `${label} {bar} {value}/{total} | {rate} img/s | ETA {eta_formatted} | rejects {rejected}`,
      hideCursor: true,
      etaBuffer: 200,
    });
    let startedBar = false;
    return {
      update(p) {
        if (!startedBar) {
          bar.start(p.total, 0, { rate: '0', rejected: 0 });
          startedBar = true;
        }
        bar.update(p.done, { rate: rate(p.done).toFixed(0), rejected: p.rejected });
      },
      stop() {
        if (startedBar) bar.stop();
      },
    };
  }
  let last = started;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < intervalMs && p.done !== p.total) return;
      last = now;
      const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '100.0';
      stream.write(`${label} ${p.done}/${p.total} (${pct}%) ${rate(p.done).toFixed(0)} img/s, ${p.rejected} rejected\n`);
    },
    stop() {},
  };
}
