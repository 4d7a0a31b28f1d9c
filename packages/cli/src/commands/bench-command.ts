import { Command, InvalidArgumentError, Option } from 'commander';
import { openDataset, VERIFY_MODES, type VerifyMode } from '@imgstore/store';
import { InvalidOptionError, isVariableShape } from '@imgstore/core';
import { parseSize, type SizeSpec } from '../parse-size.js';

interface BenchFlags {
  epochs: number;
  batchSize: number;
  workers: number;
  verify: VerifyMode;
  json: boolean;
  crop?: [number, number];
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
    .option('--workers <n>', 'worker threads (0: read in the main thread)', positiveInt('--workers', 0), 0)
    .addOption(new Option('--verify <mode>', 'when record checksums are checked').choices(VERIFY_MODES).default('always'))
    .option('--crop <size>', 'random crop of every sample (WIDTHxHEIGHT or one number); needed for variable-size stores', cropValue)
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      `
Reads full shuffled epochs of batches as training would and prints samples/s and GB/s per epoch and their
median. The first epoch is a warm-up (page cache, worker start) and is not counted. For the comparison with
other loaders and the copy ceiling, see npm run bench:read in the imgstore repository.

Example:
  imgstore bench ./train.lmdb --workers 2 --epochs 5`,
    )
    .action(async (path: string, flags: BenchFlags) => {
      const dataset = openDataset(path, { verify: flags.verify });
      if (isVariableShape(dataset.sampleShape) && !flags.crop) {
        await dataset.close();
        throw new InvalidOptionError('--crop', `${path} holds samples of varying size: give --crop (e.g. --crop 224) to batch them`);
      }
      // Imported here, not at the top: every other command starts without it.
      const { DataLoader } = await import('@imgstore/dataset');
      const loader = new DataLoader(dataset, {
        batchSize: flags.batchSize,
        workers: flags.workers,
        shuffle: true,
        seed: 1,
        ...(flags.crop ? { augment: { crop: flags.crop } } : {}),
      });
      // Which LMDB reader reads (every shard opens with the same one).
      const engine = dataset.shards[0]!.engine;
      if (!flags.json) console.error(`bench ${path}: engine ${engine}, ${dataset.length} records`);
      const [h, w, c] = flags.crop ? [...flags.crop, dataset.sampleShape[2]] : dataset.sampleShape;
      const sampleBytes = h * w * c;
      const perSecond: number[] = [];
      try {
        for (let epoch = 0; epoch <= flags.epochs; epoch++) {
          loader.setEpoch(epoch);
          const started = performance.now();
          let samples = 0;
          for await (const batch of loader) samples += batch.shape[0];
          const rate = samples / Math.max(1e-6, (performance.now() - started) / 1000);
          if (epoch === 0) continue; // warm-up
          perSecond.push(rate);
          if (!flags.json) console.error(`epoch ${epoch}: ${rate.toFixed(0)} samples/s`);
        }
      } finally {
        await loader.close();
        await dataset.close();
      }
      const best = median(perSecond);
      const result = {
        path,
        engine,
        records: dataset.length,
        shape: dataset.sampleShape,
        batchSize: flags.batchSize,
        workers: flags.workers,
        verify: flags.verify,
        epochs: perSecond.map((r) => Math.round(r)),
        samplesPerSecond: Math.round(best),
        gigabytesPerSecond: Number(((best * sampleBytes) / 1e9).toFixed(3)),
      };
      if (flags.json) console.log(JSON.stringify(result, null, 2));
      else {
        console.log(
          `${path}: ${result.samplesPerSecond} samples/s, ${result.gigabytesPerSecond} GB/s (median of ${flags.epochs} shuffled epochs, ` +
            `batch ${flags.batchSize}, ${flags.workers} worker${flags.workers === 1 ? '' : 's'}, verify ${flags.verify})`,
        );
      }
    });
}
