import { Command, InvalidArgumentError, Option } from 'commander';
import { FITS, type Fit } from '@imgstore/image';
import { defaultCodecs, DEFAULT_CODEC_ID } from '@imgstore/codec';
import { convertFolder } from '../convert-folder.js';
import { parseSize } from '../parse-size.js';
import { createProgressReporter } from '../progress-reporter.js';
import { formatBytes } from '../format-bytes.js';
import { storeSizeBytes } from '../store-size.js';
import { CliExit } from '../cli-exit.js';

function positiveInt(name: string) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

interface ConvertFlags {
  size: string;
  fit: Fit;
  codec: string;
  overwrite: boolean;
  concurrency?: number;
  maxPixels?: number;
  strict: boolean;
  quiet: boolean;
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('Convert a folder of images into a store of fixed-size RGB samples')
    .argument('<folder>', 'images: class subfolders (ImageFolder layout, gives labels) or any other layout (no labels)')
    .argument('<store>', 'store folder to create')
    .option('-s, --size <WxH>', 'output size, WIDTHxHEIGHT or one number for a square', '256x256')
    .addOption(new Option('--fit <mode>', 'how images are fitted to the size').choices(FITS).default('cover'))
    .addOption(new Option('--codec <id>', 'record codec').choices(defaultCodecs.ids()).default(DEFAULT_CODEC_ID))
    .option('--overwrite', 'replace an existing store at <store>', false)
    .option('-j, --concurrency <n>', 'images decoded at once (default: 2 × CPUs)', positiveInt('--concurrency'))
    .option('--max-pixels <n>', 'reject inputs with more pixels than this, before decoding (default 268402689)', positiveInt('--max-pixels'))
    .option('--strict', 'exit non-zero if any input was rejected', false)
    .option('-q, --quiet', 'no progress output', false)
    .addHelpText(
      'after',
      `
Inputs are recognised by content (JPEG, PNG, WebP, GIF, TIFF, AVIF), EXIF orientation is applied,
and every sample is stored as RGB uint8 (HWC). Corrupt or non-image files are listed and skipped,
never stored. Hidden files and folders (names starting with ".") are ignored.

Examples:
  imgstore convert ./images ./train.lmdb
  imgstore convert ./images ./train.lmdb --size 224 --fit contain --overwrite`,
    )
    .action(async (folder: string, store: string, flags: ConvertFlags) => {
      const { width, height } = parseSize(flags.size);
      const progress = flags.quiet ? null : createProgressReporter(process.stderr, 'convert');
      const summary = await convertFolder({
        input: folder,
        output: store,
        width,
        height,
        fit: flags.fit,
        codec: flags.codec,
        overwrite: flags.overwrite,
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
        ...(flags.maxPixels === undefined ? {} : { limitInputPixels: flags.maxPixels }),
        ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
      }).finally(() => progress?.stop());
      const rate = summary.read / Math.max(summary.seconds, 1e-3);
      console.log(
        `Stored ${summary.stored} of ${summary.read} inputs in ${store} (${formatBytes(storeSizeBytes(store))}) ` +
          `in ${summary.seconds.toFixed(1)} s, ${rate.toFixed(0)} images/s; ${summary.rejects.length} rejected`,
      );
      for (const reject of summary.rejects) console.log(`  rejected ${reject.name}: ${reject.reason}`);
      if (flags.strict && summary.rejects.length > 0) {
        throw new CliExit(1, `${summary.rejects.length} input(s) rejected and --strict was given`);
      }
    });
}
