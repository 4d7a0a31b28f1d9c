import { Command, InvalidArgumentError, Option } from 'commander';
import { ENCODE_FORMATS, type EncodeFormat } from '@imgstore/image';
import { EXPORT_FORMATS, exportStore, type ExportFormat } from '@imgstore/convert';
import { InvalidOptionError } from '@imgstore/core';
import { createProgressReporter } from '../progress-reporter.js';

interface ExportFlags {
  format: ExportFormat;
  imageFormat?: EncodeFormat;
  shardSize?: number;
  shardBytes?: number;
  overwrite: boolean;
  quiet: boolean;
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `500MB`, `1GiB`, `1000000`: a byte count. */
function byteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!(bytes >= 1)) throw new InvalidArgumentError('expected a byte size such as 500MB, 1GiB or 1000000');
  return bytes;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('Write every record back to an image file, in class folders, or to WebDataset tar shards')
    .argument('<store>', 'store folder, or a dataset folder holding dataset.json')
    .argument('<dir>', 'folder to write into (created; must be empty unless --overwrite)')
    .addOption(new Option('--format <format>', 'image files, or webdataset: tar shards').choices(EXPORT_FORMATS).default('png'))
    .addOption(new Option('--image-format <format>', 'with --format webdataset: how images are encoded (default png, lossless)').choices(ENCODE_FORMATS))
    .option('--shard-size <n>', 'with --format webdataset: samples per shard (default 10000)', positiveInt)
    .option('--shard-bytes <size>', 'with --format webdataset: bytes per shard at most, e.g. 500MB (default 1GiB)', byteSize)
    .option('--overwrite', 'write into a folder that is not empty', false)
    .option('-q, --quiet', 'no progress output', false)
    .addHelpText(
      'after',
      `
Labeled records go to <dir>/<class>/<name>, unlabeled ones to <dir>/<name>, with the extension of the
format (png: the stored pixels exactly). Names from the store never lead outside <dir>: "..", absolute
paths, drive letters, backslashes and control characters are neutralized, and names that collide get
the record index appended; such renames are listed.

--format webdataset writes <dir>/shard-000000.tar, ... : per record <key>.png (or .jpg), <key>.cls (the
label index) and <key>.json (its metadata), and the label names to <dir>/classes.txt. The key is the
record name without its extension (dots in the file name become "_"). imgstore convert reads the
shards back (the folder, or the brace pattern printed at the end).

Examples:
  imgstore export ./train.lmdb ./train-images
  imgstore export ./train.lmdb ./train-wds --format webdataset --shard-size 5000
  imgstore convert './train-wds/shard-{000000..000002}.tar' ./again.lmdb`,
    )
    .action(async (store: string, dir: string, flags: ExportFlags) => {
      const webdataset = flags.format === 'webdataset';
      const wdsFlag = (['imageFormat', 'shardSize', 'shardBytes'] as const).find((key) => flags[key] !== undefined);
      if (!webdataset && wdsFlag) {
        const name = `--${wdsFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        throw new InvalidOptionError(name, `${name} is for --format webdataset (tar shards), not image files`);
      }
      const progress = flags.quiet ? null : createProgressReporter(process.stderr, { label: 'export', unit: 'img', problems: 'errors' });
      const summary = await exportStore(store, dir, {
        format: flags.format,
        overwrite: flags.overwrite,
        ...(flags.imageFormat === undefined ? {} : { imageFormat: flags.imageFormat }),
        ...(flags.shardSize === undefined ? {} : { shardSamples: flags.shardSize }),
        ...(flags.shardBytes === undefined ? {} : { shardBytes: flags.shardBytes }),
        ...(progress ? { onProgress: (done, total) => progress.update(done, total, 0) } : {}),
      }).finally(() => progress?.stop());
      if (webdataset) {
        const shards = summary.shards ?? [];
        console.log(`Wrote ${summary.written} samples to ${shards.length} WebDataset shard${shards.length === 1 ? '' : 's'}: ${summary.pattern ?? dir}`);
      } else {
        console.log(`Wrote ${summary.written} images to ${dir}`);
      }
      for (const r of summary.renamed) console.log(`  record ${r.index} ${JSON.stringify(r.name)} written as ${r.path}`);
    });
}
