import { Command, Option } from 'commander';
import { ENCODE_FORMATS, type EncodeFormat } from '@imgstore/image';
import { exportStore } from '@imgstore/convert';
import { createProgressReporter } from '../progress-reporter.js';

interface ExportFlags {
  format: EncodeFormat;
  overwrite: boolean;
  quiet: boolean;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('Write every record back to an image file, in class folders')
    .argument('<store>', 'store folder, or a dataset folder holding dataset.json')
    .argument('<dir>', 'folder to write into (created; must be empty unless --overwrite)')
    .addOption(new Option('--format <format>', 'file format').choices(ENCODE_FORMATS).default('png'))
    .option('--overwrite', 'write into a folder that is not empty', false)
    .option('-q, --quiet', 'no progress output', false)
    .addHelpText(
      'after',
      `
Labeled records go to <dir>/<class>/<name>, unlabeled ones to <dir>/<name>, with the extension of the
format (png: the stored pixels exactly). Names from the store never lead outside <dir>: "..", absolute
paths, drive letters, backslashes and control characters are neutralized, and names that collide get
the record index appended; such renames are listed.

Example:
  imgstore export ./train.lmdb ./train-images`,
    )
    .action(async (store: string, dir: string, flags: ExportFlags) => {
      const progress = flags.quiet ? null : createProgressReporter(process.stderr, { label: 'export', unit: 'img', problems: 'errors' });
      const summary = await exportStore(store, dir, {
        format: flags.format,
        overwrite: flags.overwrite,
        ...(progress ? { onProgress: (done, total) => progress.update(done, total, 0) } : {}),
      }).finally(() => progress?.stop());
      console.log(`Wrote ${summary.written} images to ${dir}`);
      for (const r of summary.renamed) console.log(`  record ${r.index} ${JSON.stringify(r.name)} written as ${r.path}`);
    });
}
