import { Command } from 'commander';
import { MANIFEST_FILE } from '@imgstore/core';
import { writeManifest } from '@imgstore/store';
import { join } from 'node:path';

interface ManifestFlags {
  json: boolean;
}

export function manifestCommand(): Command {
  return new Command('manifest')
    .description(`Write ${MANIFEST_FILE} for a folder of shard stores, after checking they form one dataset`)
    .argument('<dataset-folder>', 'folder holding shard-NNNNN-of-NNNNN.lmdb stores (convert --shard-count)')
    .option('--json', 'print the manifest', false)
    .addHelpText(
      'after',
      `
Every shard of the count must be there and finished, and all must agree on shape, codec and labels.
The manifest records each shard's record count and creation time; openDataset() refuses shards that no
longer match it (converted again), so rebuild it after re-running a shard.

Example:
  imgstore manifest ./train-shards     # then: openDataset('./train-shards')`,
    )
    .action((folder: string, flags: ManifestFlags) => {
      const manifest = writeManifest(folder);
      if (flags.json) {
        console.log(JSON.stringify(manifest, null, 2));
        return;
      }
      console.log(
        `Wrote ${join(folder, MANIFEST_FILE)}: ${manifest.shards.length} shards, ${manifest.records} records, ` +
          `${manifest.rejected} rejected, shape ${manifest.shape.join('×')}, codec ${manifest.codec}`,
      );
    });
}
