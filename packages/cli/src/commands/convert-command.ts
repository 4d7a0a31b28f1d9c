import { Command, InvalidArgumentError, Option } from 'commander';
import { CHANNELS, FITS, type Channels, type Fit } from '@imgstore/image';
import { DEFAULT_JPEG_QUALITY } from '@imgstore/codec-jpeg';
import { defaultCodecs, DEFAULT_CODEC_ID } from '@imgstore/codec';
import { shardStoreName } from '@imgstore/store';
import { adviseCodecs, convertFolder, resolveWriteCodec, type ConvertFolderOptions } from '@imgstore/convert';
import { resolveShard, storeSizeBytes } from '@imgstore/convert/internal';
import { printCodecAdvice } from '../print-codec-advice.js';
import { parseSize } from '../parse-size.js';
import { createProgressReporter } from '../progress-reporter.js';
import { formatBytes } from '../format-bytes.js';
import { CliExit } from '../cli-exit.js';
import { InterruptedError, InvalidOptionError, StoreWriteError } from '@imgstore/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function positiveOrZeroInt(name: string) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function positiveInt(name: string) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function qualityValue(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('--quality must be an integer from 1 to 100');
  return n;
}

interface ConvertFlags {
  quality?: number;
  advise: boolean;
  adviseSample: number;
  json: boolean;
  size: string;
  fit: Fit;
  codec: string;
  overwrite: boolean;
  concurrency?: number;
  threads?: number;
  maxPixels?: number;
  strict: boolean;
  quiet: boolean;
  resume: boolean;
  append: boolean;
  progressInterval: number;
  shardIndex?: number;
  shardCount?: number;
  channels: string;
  labels?: string;
  meta?: string;
  pathColumn?: string;
  labelColumn?: string;
  labelSeparator?: string;
}

/** The command line to finish an interrupted run: the same arguments, with --resume. */
function resumeCommand(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--overwrite');
  const quoted = args.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return `imgstore ${quoted.join(' ')} --resume`;
}

/** Ctrl-C / SIGTERM: the first one stops the conversion cleanly, a second one exits at once. */
function abortOnSignals(): { signal: AbortSignal; exitCode: () => number; dispose: () => void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (name: NodeJS.Signals) => {
    if (received) process.exit(name === 'SIGINT' ? 130 : 143);
    received = name;
    process.stderr.write(`\n${name}: committing what is done (press Ctrl-C again to stop at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received === 'SIGTERM' ? 143 : 130),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** --labels, --meta and their column options as convertFolder's `labels`, `meta` and `strict`. */
function labelOptions(flags: ConvertFlags): Pick<ConvertFolderOptions, 'labels' | 'meta' | 'strict'> {
  const pathColumn = flags.pathColumn === undefined ? {} : { pathColumn: flags.pathColumn };
  if (flags.labels === undefined && flags.meta === undefined) {
    for (const [flag, value] of [['--path-column', flags.pathColumn], ['--label-column', flags.labelColumn], ['--label-separator', flags.labelSeparator]] as const) {
      if (value !== undefined) throw new InvalidOptionError(flag, `${flag} applies to --labels or --meta, and neither was given`);
    }
  }
  if (flags.labels === undefined && (flags.labelColumn !== undefined || flags.labelSeparator !== undefined)) {
    throw new InvalidOptionError(flags.labelColumn !== undefined ? '--label-column' : '--label-separator', 'this option applies to --labels, which was not given');
  }
  return {
    ...(flags.labels === undefined
      ? {}
      : {
          labels: {
            file: flags.labels,
            ...pathColumn,
            ...(flags.labelColumn === undefined ? {} : { labelColumn: flags.labelColumn }),
            ...(flags.labelSeparator === undefined ? {} : { labelSeparator: flags.labelSeparator }),
          },
        }),
    ...(flags.meta === undefined ? {} : { meta: { file: flags.meta, ...pathColumn } }),
    ...(flags.strict && (flags.labels !== undefined || flags.meta !== undefined) ? { strict: true } : {}),
  };
}

export function convertCommand(): Command {
  return new Command('convert')
    .description("Convert a folder of images into a store of decoded samples (fixed size by default)")
    .argument('<folder>', "images: class subfolders (ImageFolder layout, gives labels) or any other layout (no labels); or WebDataset tar shards: 'shards-{0000..0099}.tar' (quoted), a .tar file or a folder of them")
    .argument('[store]', 'store folder to create (not with --advise)')
    .option('-s, --size <size>', 'output size: WIDTHxHEIGHT, one number for a square, shorter:N (keep aspect ratio) or original', '256x256')
    .addOption(new Option('--fit <mode>', 'how images are fitted to the size').choices(FITS).default('cover'))
    .option('--codec <id|module>', `record codec: ${defaultCodecs.ids().join(', ')}, or a module file exporting a codec`, DEFAULT_CODEC_ID)
    .option('--quality <q>', `JPEG quality for --codec jpeg, 1-100 (default ${DEFAULT_JPEG_QUALITY})`, qualityValue)
    .addOption(new Option('--channels <n>', 'stored channels: 3 RGB, 1 grey, 4 RGBA').choices(CHANNELS.map(String)).default('3'))
    .addOption(new Option('--overwrite', 'replace an existing store at <store>').default(false).conflicts('resume'))
    .option('--resume', 'finish an interrupted conversion into <store> (same folder and options); committed inputs are not decoded again', false)
    .addOption(new Option('--append', 'add the folder to the finished store <store> (its size, fit, channels and codec); names it holds are skipped; with --resume, finish an interrupted append').default(false).conflicts(['overwrite', 'shardCount']))
    .option('-j, --concurrency <n>', 'images decoded or waiting to be written at once (default: 16 per thread, fewer for large images)', positiveInt('--concurrency'))
    .option('--threads <n>', 'worker threads that read and decode inputs (default: CPU count)', positiveInt('--threads'))
    .option('--max-pixels <n>', 'reject inputs with more pixels than this, before decoding (default 268402689)', positiveInt('--max-pixels'))
    .option('--strict', 'exit non-zero if any input was rejected; with --labels or --meta, a row without a file, a file without a row, a path listed twice or a row without a label stops the conversion before it starts', false)
    .option('--labels <file>', 'labels from a .csv or .jsonl file (a path column relative to <folder> and a label column: names, integers or lists) instead of the folder layout; other columns become metadata')
    .option('--meta <file>', 'per-sample metadata (any JSON value) from a .jsonl or .csv file with a path column: every other key is stored with the sample')
    .option('--path-column <name>', 'column of --labels/--meta holding the image path (default: path, file, filename, image or name)')
    .option('--label-column <name>', 'column of --labels holding the label (default: label, labels, class or category)')
    .option('--label-separator <sep>', "multi-label CSV: a label cell lists labels separated by this (e.g. ' ' or '|')")
    .option('--shard-count <n>', 'convert one of n shards of the sorted inputs; <store> is then the dataset folder of all shards', positiveInt('--shard-count'))
    .option('--shard-index <i>', 'which shard (0-based); default JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID', positiveOrZeroInt('--shard-index'))
    .option('--advise', 'convert a sample of <folder> with each built-in codec and compare size, read speed and loss; writes no store', false)
    .option('--advise-sample <n>', 'inputs --advise converts, spread over the folder', positiveInt('--advise-sample'), 200)
    .option('--json', 'with --advise: print the comparison as JSON', false)
    .option('-q, --quiet', 'no progress output', false)
    .option('--progress-interval <ms>', 'when not on a terminal, milliseconds between progress lines', positiveOrZeroInt('--progress-interval'), 5000)
    .addHelpText(
      'after',
      `
Inputs are recognised by content (JPEG, PNG, WebP, GIF, TIFF, AVIF), EXIF orientation is applied,
and every sample is stored as RGB uint8 (HWC), or grey / RGBA with --channels 1 / 4. Corrupt or
non-image files are listed and skipped, never stored. Hidden files and folders (names starting with
".") are ignored. With --size shorter:N or original, records keep their aspect ratio and differ in
size; the DataLoader then needs augment: { crop: [h, w] } to batch them.

Examples:
  imgstore convert ./images ./train.lmdb
  imgstore convert ./images ./train.lmdb --size 224 --fit contain --overwrite
  imgstore convert ./val ./val.lmdb --labels val.csv                         # labels (and metadata) from a file
  imgstore convert ./photos ./coco.lmdb --labels tags.jsonl --meta boxes.jsonl
  imgstore convert 'shards/train-{0000..0099}.tar' ./train.lmdb             # WebDataset shards (.jpg/.png/.webp, .cls, .json)
  imgstore convert ./images ./small.lmdb --codec jpeg --quality 90          # ~10x smaller, lossy
  imgstore convert ./images ./train.lmdb --size shorter:256                 # aspect ratio kept
  imgstore convert ./images ./custom.lmdb --codec ./my-codec.mjs             # a codec of your own
  imgstore convert --advise ./images                                        # compare codecs first
  imgstore convert ./images ./train-shards --shard-count 8 --shard-index 3   # one task of 8
  imgstore manifest ./train-shards                                          # once all 8 are done
  imgstore convert ./new-images ./train.lmdb --append                       # add images to a store`,
    )
    .action(async (folder: string, output: string | undefined, flags: ConvertFlags, command: Command) => {
      // --append takes the store's settings: only options given on the command line are passed (and checked).
      const given = (name: keyof ConvertFlags) => !flags.append || command.getOptionValueSource(name) !== 'default';
      const size = parseSize(flags.size);
      if (flags.advise) {
        if (output !== undefined) throw new InvalidOptionError('--advise', '--advise writes no store: give only the folder');
        if (!('width' in size)) throw new InvalidOptionError('--size', '--advise compares codecs at one size: give --size WIDTHxHEIGHT');
        const adviceOptions = { width: size.width, height: size.height, fit: flags.fit, channels: Number(flags.channels) as Channels, sample: flags.adviseSample };
        if (flags.json) console.log(JSON.stringify(await adviseCodecs({ input: folder, ...adviceOptions }), null, 2));
        else await printCodecAdvice(folder, adviceOptions);
        return;
      }
      if (output === undefined) throw new InvalidOptionError('store', 'missing argument <store>: the store folder to create (or use --advise)');
      const codec = given('codec') || flags.quality !== undefined ? await resolveWriteCodec(flags.codec, flags.quality) : undefined;
      const shard = resolveShard(flags);
      // Sharded: every task writes its own store inside the dataset folder; `imgstore manifest` joins them.
      const store = shard ? join(output, shardStoreName(shard.index, shard.count)) : output;
      if (shard && !flags.quiet) {
        console.error(`Shard ${shard.index} of ${shard.count} (index from ${shard.source}) into ${store}`);
      }
      const progress = flags.quiet ? null : createProgressReporter(process.stderr, { label: 'convert' }, flags.progressInterval);
      const interrupt = abortOnSignals();
      const summary = await convertFolder({
        input: folder,
        output: store,
        ...(given('size') ? size : {}),
        ...(given('fit') ? { fit: flags.fit } : {}),
        ...(codec ? { codec } : {}),
        overwrite: flags.overwrite,
        resume: flags.resume,
        ...(flags.append ? { append: true } : {}),
        signal: interrupt.signal,
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        ...(flags.maxPixels === undefined ? {} : { limitInputPixels: flags.maxPixels }),
        ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
        ...labelOptions(flags),
        ...(given('channels') ? { channels: Number(flags.channels) as Channels } : {}),
        ...(progress ? { onProgress: (p) => progress.update(p.done, p.total, p.rejected) } : {}),
      })
        .catch((error: unknown) => {
          if (error instanceof InterruptedError) {
            throw new CliExit(interrupt.exitCode(), `${error.message}.\nResume with: ${resumeCommand()}`);
          }
          if (error instanceof StoreWriteError && existsSync(join(store, 'data.mdb'))) {
            // Disk full, quota, I/O error: what was committed is intact and resumable.
            throw new CliExit(1, `${error.message}\nRecords committed before the failure are intact. Once the cause is fixed (e.g. space freed), resume with: ${resumeCommand()}`);
          }
          throw error;
        })
        .finally(() => {
          progress?.stop();
          interrupt.dispose();
        });
      if (summary.alreadyComplete) {
        console.log(`Store ${store} is already complete (${summary.stored} records); nothing to resume`);
        return;
      }
      const handled = summary.read - summary.resumedAt;
      const rate = handled / Math.max(summary.seconds, 1e-3);
      if (summary.resumedAt > 0) console.log(`Resumed after ${summary.resumedAt} inputs already committed`);
      if (flags.append) {
        console.log(
          `Appended ${summary.stored} of ${summary.read} inputs to ${store} (now ${summary.header.count} records, ${formatBytes(storeSizeBytes(store))}) ` +
            `in ${summary.seconds.toFixed(1)} s; ${summary.skipped ?? 0} already in the store (skipped), ${summary.rejects.length} rejected`,
        );
      } else {
        console.log(
          `Stored ${summary.stored} of ${summary.read} inputs in ${store} (${formatBytes(storeSizeBytes(store))}) ` +
            `in ${summary.seconds.toFixed(1)} s, ${rate.toFixed(0)} images/s; ${summary.rejects.length} rejected`,
        );
      }
      for (const reject of summary.rejects) console.log(`  rejected ${reject.name}: ${reject.reason}`);
      // Accounted for too: what the walk left out, so that every entry of the input is either counted or listed.
      if (summary.hidden) console.log(`${summary.hidden} hidden entr${summary.hidden === 1 ? 'y' : 'ies'} (names starting with ".") left out`);
      if (flags.strict && summary.rejects.length > 0) {
        throw new CliExit(1, `${summary.rejects.length} input(s) rejected and --strict was given`);
      }
    });
}
