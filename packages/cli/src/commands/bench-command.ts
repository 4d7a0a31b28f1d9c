import { Command, InvalidArgumentError, Option } from 'commander';
import { openDataset, VERIFY_MODES, type VerifyMode } from '@imgstore/store';
import { InvalidOptionError, isVariableShape } from '@imgstore/core';
import { parseSize, type SizeSpec } from '../parse-size.js';

interface BenchFlags {
  epochs: number;
  batchSize: number;
  workers: WorkerChoice[];
  dtype: Dtype[];
  verify: VerifyMode;
  json: boolean;
  crop?: [number, number];
}

type WorkerChoice = number | 'auto';
const DTYPES = ['uint8', 'float32', 'float32-shared'] as const;
type Dtype = (typeof DTYPES)[number];

/** `--workers 0,1,2,auto`: the worker counts to try. */
function workerList(text: string): WorkerChoice[] {
  const items = text.split(',').map((t) => t.trim());
  if (!items.every((t) => t === 'auto' || /^\d+$/.test(t))) {
    throw new InvalidArgumentError("--workers must be worker counts or 'auto', separated by commas, e.g. 0,1,2");
  }
  return items.map((t) => (t === 'auto' ? 'auto' : Number(t)));
}

/** `--dtype uint8,float32,float32-shared`. */
function dtypeList(text: string): Dtype[] {
  const items = text.split(',').map((t) => t.trim());
  if (!items.every((t): t is Dtype => (DTYPES as readonly string[]).includes(t))) {
    throw new InvalidArgumentError(`--dtype must be one or more of ${DTYPES.join(', ')}, separated by commas`);
  }
  return items;
}

/** `--crop 224` or `--crop 224x192` (width × height, as --size): [height, width]. */
function cropValue(text: string): [number, number] {
  let size: SizeSpec | null = null;
  try {
    size = parseSize(text);
  } catch {
    // reported below, in --crop's words
  }
  if (!size || !('width' in size)) throw new InvalidArgumentError('--crop must be WIDTHxHEIGHT or one number, e.g. 224');
  return [size.height, size.width];
}

function positiveInt(name: string, min = 1) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return n;
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description("Measure read throughput of a store (or sharded dataset) on this machine with the DataLoader's defaults")
    .argument('<store>', 'store folder, or a dataset folder holding dataset.json')
    .option('--epochs <n>', 'timed epochs, after one untimed warm-up epoch', positiveInt('--epochs'), 3)
    .option('--batch-size <n>', 'samples per batch', positiveInt('--batch-size'), 64)
    .option('--workers <list>', "worker counts to try, e.g. 0,1,2 (0: read in the main thread; 'auto': one per core but one)", workerList, [0, 1, 2, 'auto'] as WorkerChoice[])
    .option(
      '--dtype <list>',
      'batch types to try: uint8 (the stored pixels), float32 (normalized CHW tensors, as models take), float32-shared ' +
        '(float32 that workers write in place in shared memory: the float32.shared option)',
      dtypeList,
      ['uint8', 'float32'] as Dtype[],
    )
    .addOption(new Option('--verify <mode>', 'when record checksums are checked').choices(VERIFY_MODES).default('always'))
    .option('--crop <size>', 'random crop of every sample (WIDTHxHEIGHT or one number); needed for variable-size stores', cropValue)
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      `
Reads full shuffled epochs of batches as training would, once per round for each worker count and batch
type tried (rounds alternate them, so a busy machine slows all alike), and prints the median samples/s and
GB/s (of stored pixels) of each, with ratios: pick the fastest for your machine and store. One untimed
warm-up epoch fills the page cache, and every measured loader first reads a few untimed batches (worker
start, first writes of its batch buffers).
For the comparison with other loaders and the copy ceiling, see npm run bench:read in the imgstore repository.

Examples:
  imgstore bench ./train.lmdb                          # workers 0, 1, 2 and auto; uint8 and float32
  imgstore bench ./train.lmdb --workers 2 --dtype uint8 --epochs 5
  imgstore bench ./train.lmdb --workers 0,2 --dtype float32,float32-shared   # does float32.shared pay off here?`,
    )
    .action(async (path: string, flags: BenchFlags) => {
      const dataset = openDataset(path, { verify: flags.verify });
      if (isVariableShape(dataset.sampleShape) && !flags.crop) {
        await dataset.close();
        throw new InvalidOptionError('--crop', `${path} holds samples of varying size: give --crop (e.g. --crop 224) to batch them`);
      }
      // Imported here, not at the top: every other command starts without it.
      const { DataLoader } = await import('@imgstore/dataset');
      // Which LMDB reader reads (every shard opens with the same one).
      const engine = dataset.shards[0]!.engine;
      if (!flags.json) console.error(`bench ${path}: engine ${engine}, ${dataset.length} records`);
      const [h, w, c] = flags.crop ? [...flags.crop, dataset.sampleShape[2]] : dataset.sampleShape;
      const sampleBytes = h * w * c;
      const loaderFor = (workers: WorkerChoice, dtype: Dtype) =>
        new DataLoader(dataset, {
          batchSize: flags.batchSize,
          workers,
          shuffle: true,
          seed: 1,
          ...(flags.crop ? { augment: { crop: flags.crop } } : {}),
          ...(dtype === 'float32' ? { float32: {} } : dtype === 'float32-shared' ? { float32: { shared: true } } : {}),
        });
      // 'auto' is tried once, as the count it stands for, unless that count is in the list anyway.
      const counts = [...new Set(flags.workers.map((choice) => loaderFor(choice, 'uint8').workers))];
      const runs = counts.flatMap((workers) => flags.dtype.map((dtype) => ({ workers, dtype, epochs: [] as number[], filledIn: [] as string[] })));
      const timeEpoch = async (loader: InstanceType<typeof DataLoader>) => {
        const started = performance.now();
        let samples = 0;
        for await (const batch of loader) samples += batch.shape[0];
        return samples / Math.max(1e-6, (performance.now() - started) / 1000);
      };
      try {
        // Warm-up: the page cache, and this thread's code.
        const warm = loaderFor(0, flags.dtype[0]!);
        await timeEpoch(warm);
        await warm.close();
        for (let epoch = 1; epoch <= flags.epochs; epoch++) {
          for (const run of epoch % 2 ? runs : [...runs].reverse()) {
            const loader = loaderFor(run.workers, run.dtype);
            try {
              loader.setEpoch(epoch);
              // Untimed: worker start, the first write of every batch buffer (allocated once per loader), and
              // with workers the loader's first measurement of whether they help (a few batches each way).
              let warmBatches = 0;
              const warmed = () => warmBatches >= loader.workers * loader.prefetch + 4 && (loader.workers === 0 || (loader.placement?.probes ?? 0) > 0);
              for await (const _ of loader) if ((++warmBatches, warmed())) break;
              loader.setEpoch(epoch);
              const rate = await timeEpoch(loader);
              run.epochs.push(rate);
              run.filledIn.push(loader.placement?.placement === 'workers' ? 'workers' : 'this thread');
              if (!flags.json) console.error(`epoch ${epoch}, ${plural(run.workers, 'worker')}, ${run.dtype}: ${rate.toFixed(0)} samples/s`);
            } finally {
              await loader.close();
            }
          }
        }
      } finally {
        await dataset.close();
      }
      const summary = runs.map((run) => {
        const rate = median(run.epochs);
        return {
          workers: run.workers,
          dtype: run.dtype,
          epochs: run.epochs.map((r) => Math.round(r)),
          // Where the loader filled the batches at the end of each timed epoch: with workers it measures
          // whether they help and fills batches in this thread alone when that is faster.
          filledIn: [...new Set(run.filledIn)].join(', '),
          samplesPerSecond: Math.round(rate),
          gigabytesPerSecond: Number(((rate * sampleBytes) / 1e9).toFixed(3)),
        };
      });
      // The headline: the fastest run of the first batch type asked for.
      const primary = summary.filter((r) => r.dtype === flags.dtype[0]).reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
      const result = {
        path,
        engine,
        records: dataset.length,
        shape: dataset.sampleShape,
        batchSize: flags.batchSize,
        workers: primary.workers,
        dtype: primary.dtype,
        verify: flags.verify,
        epochs: primary.epochs,
        samplesPerSecond: primary.samplesPerSecond,
        gigabytesPerSecond: primary.gigabytesPerSecond,
        runs: summary,
      };
      if (flags.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      const of = (workers: number, dtype: Dtype) => summary.find((r) => r.workers === workers && r.dtype === dtype);
      const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : '-');
      console.log(`${path}: samples/s, median of ${flags.epochs} shuffled epochs, batch ${flags.batchSize}, verify ${flags.verify}`);
      const rows = [
        ['workers', 'dtype', 'samples/s', 'GB/s', `vs ${counts[0]} workers`, ...(flags.dtype.length > 1 ? ['vs uint8'] : []), 'filled in'],
        ...summary.map((r) => [
          String(r.workers),
          r.dtype,
          String(r.samplesPerSecond),
          r.gigabytesPerSecond.toFixed(3),
          r.workers === counts[0] ? '-' : ratio(r.samplesPerSecond, of(counts[0]!, r.dtype)?.samplesPerSecond),
          ...(flags.dtype.length > 1 ? [r.dtype === 'uint8' ? '-' : ratio(r.samplesPerSecond, of(r.workers, 'uint8')?.samplesPerSecond)] : []),
          r.filledIn,
        ]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      for (const row of rows) console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
      console.log(
        `fastest ${primary.dtype}: ${primary.samplesPerSecond} samples/s, ${primary.gigabytesPerSecond} GB/s (median of ${flags.epochs} shuffled epochs, ` +
          `batch ${flags.batchSize}, ${plural(primary.workers, 'worker')}, verify ${flags.verify})`,
      );
    });
}
