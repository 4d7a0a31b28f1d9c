import { Command } from 'commander';
import { openStore } from '@imgstore/store';
import { formatBytes } from '../format-bytes.js';
import { storeSizeBytes } from '../store-size.js';

interface InfoFlags {
  json: boolean;
  rejects: boolean;
}

export function infoCommand(): Command {
  return new Command('info')
    .description('Print a store header, its record count and size on disk')
    .argument('<store>', 'store folder')
    .option('--json', 'print machine-readable JSON', false)
    .option('--rejects', 'also list the inputs the conversion rejected, with reasons', false)
    .action(async (path: string, flags: InfoFlags) => {
      const store = openStore(path);
      try {
        const { header } = store;
        const bytes = storeSizeBytes(path);
        const rejects = flags.rejects ? store.rejects() : undefined;
        if (flags.json) {
          console.log(JSON.stringify({ path, records: store.length, bytes, header, ...(rejects ? { rejects } : {}) }, null, 2));
          return;
        }
        const [h, w, c] = header.shape;
        const lines = [
          `store       ${path}`,
          `format      ${header.format} v${header.version}, codec ${header.codec}`,
          `records     ${store.length}`,
          `rejected    ${header.rejected}`,
          `shape       ${h}×${w}×${c} ${header.dtype} ${header.layout} (${header.colorSpace})`,
          `labels      ${header.labelNames ? `${header.labelNames.length}: ${header.labelNames.join(', ')}` : 'none'}`,
          `size        ${formatBytes(bytes)} (${store.length ? formatBytes(bytes / store.length) : '0 B'} per record)`,
          `created     ${header.provenance.createdAt} by ${header.provenance.tool} ${header.provenance.toolVersion}`,
        ];
        if (header.provenance.source !== undefined) lines.push(`source      ${header.provenance.source}`);
        console.log(lines.join('\n'));
        if (rejects) for (const r of rejects) console.log(`  rejected ${r.name}: ${r.reason}`);
      } finally {
        await store.close();
      }
    });
}
