import { createRequire } from 'node:module';

export interface ProgressReporter {
  /** `done` of `total` items handled so far, `problems` of them rejected or damaged. */
  update(done: number, total: number, problems: number): void;
  stop(): void;
}

export interface ProgressLabels {
  /** Names the work at the start of each line, e.g. `convert`. */
  label: string;
  /** Unit of the rate, e.g. `img` (images/s). Default `img`. */
  unit?: string;
  /** What `problems` counts, e.g. `rejects`. Default `rejects`. */
  problems?: string;
}

/**
 * A live bar on a terminal (rate, ETA, problems so far); on a pipe or in CI, a plain line every
 * `intervalMs` so logs show progress without control characters.
 */
export function createProgressReporter(stream: NodeJS.WriteStream, labels: ProgressLabels, intervalMs = 5000): ProgressReporter {
  const { label, unit = 'img', problems: problemsName = 'rejects' } = labels;
  const started = performance.now();
  const rate = (done: number) => done / Math.max(1e-3, (performance.now() - started) / 1000);
  if (stream.isTTY) {
    // Loaded here: only a terminal shows the bar, and loading it costs every command ~25 ms.
    const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
    const bar = new SingleBar({
      stream,
      format: `${label} {bar} {value}/{total} | {rate} ${unit}/s | ETA {eta_formatted} | ${problemsName} {problems}`,
      hideCursor: true,
      etaBuffer: 200,
    });
    let startedBar = false;
    return {
      update(done, total, problems) {
        if (!startedBar) {
          bar.start(total, 0, { rate: '0', problems: 0 });
          startedBar = true;
        }
        bar.update(done, { rate: rate(done).toFixed(0), problems });
      },
      stop() {
        if (startedBar) bar.stop();
      },
    };
  }
  let last = started;
  return {
    update(done, total, problems) {
      const now = performance.now();
      if (now - last < intervalMs && done !== total) return;
      last = now;
      const pct = total ? ((100 * done) / total).toFixed(1) : '100.0';
      stream.write(`${label} ${done}/${total} (${pct}%) ${rate(done).toFixed(0)} ${unit}/s, ${problems} ${problemsName}\n`);
    },
    stop() {},
  };
}
