import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { CAPTION_HEIGHT, renderContactSheet } from '@imgstore/image';
import { isVariableShape } from '@imgstore/core';
import { openDataset } from '@imgstore/store';

interface PreviewFlags {
  output: string;
  count: number;
  seed: number;
  columns?: number;
}

function integer(name: string, min: number) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return n;
  };
}

/** Tiles are shown at the stored size, scaled down so the longer side is at most this. */
export const MAX_TILE_SIDE = 256;

export function previewCommand(): Command {
  return new Command('preview')
    .description('Draw a contact sheet (PNG) of random samples with their index and label')
    .argument('<store>', 'store folder, or a dataset folder holding dataset.json')
    .requiredOption('-o, --output <file>', 'PNG file to write')
    .option('--count <n>', 'samples to show (all, if the store has fewer)', integer('--count', 1), 64)
    .option('--seed <s>', 'seed of the random draw: the same seed draws the same samples', integer('--seed', 0), 0)
    .option('--columns <n>', 'tiles per row (default: a square grid)', integer('--columns', 1))
    .addHelpText(
      'after',
      `
Each tile is a stored sample as the DataLoader sees it, at its stored size (longer side scaled down to at
most ${MAX_TILE_SIDE} px), with "#index label" under it. The picture is ${CAPTION_HEIGHT} px taller per row
for the captions.

Example:
  imgstore preview ./train.lmdb -o grid.png --count 64 --seed 7`,
    )
    .action(async (store: string, flags: PreviewFlags) => {
      const dataset = openDataset(store);
      try {
        const count = Math.min(flags.count, dataset.length);
        const { seededPermutation } = await import('@imgstore/dataset'); // only this command needs it
        const indices = seededPermutation(dataset.length, flags.seed).subarray(0, count);
        // Variable-size stores ([0, 0, c]): square tiles, each sample letterboxed into its own.
        const [height, width] = isVariableShape(dataset.sampleShape) ? [MAX_TILE_SIDE, MAX_TILE_SIDE] : dataset.sampleShape;
        const scale = Math.min(1, MAX_TILE_SIDE / Math.max(height, width));
        const tiles = [...indices].map((index) => {
          const sample = dataset.get(index);
          const label = sample.label === null ? '-' : (dataset.labelNames?.[sample.label] ?? String(sample.label));
          const [h, w, c] = sample.shape;
          return { image: { data: sample.data, width: w, height: h, channels: c }, caption: `#${index} ${label}` };
        });
        const columns = flags.columns ?? Math.max(1, Math.ceil(Math.sqrt(count)));
        const png = await renderContactSheet(tiles, {
          columns,
          tileWidth: Math.max(1, Math.round(width * scale)),
          tileHeight: Math.max(1, Math.round(height * scale)),
        });
        writeFileSync(flags.output, png);
        console.log(`Wrote ${flags.output}: ${count} samples of ${dataset.length}, seed ${flags.seed}, ${columns} per row`);
      } finally {
        await dataset.close();
      }
    });
}
