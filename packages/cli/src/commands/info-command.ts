import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { MANIFEST_FILE, isVariableShape, type StoreHeader } from '@imgstore/core';
import { openDataset, openStore } from '@imgstore/store';
import { formatBytes } from '../format-bytes.js';
import { storeSizeBytes } from '@imgstore/convert/internal';

interface InfoFlags {
  json: boolean;
  rejects: boolean;
}

/** "ant 23 (33.3%), bee 23 (33.3%)": the label distribution, or the names alone when counts are not recorded. */
function describeLabels(labelNames: string[] | null, labelCounts: number[] | null | undefined, total: number): string {
  if (!labelNames) return 'none';
  if (!labelCounts) return `${labelNames.length}: ${labelNames.join(', ')} (counts not recorded by this store's writer)`;
  const pct = (n: number) => (total ? ((100 * n) / total).toFixed(1) : '0.0');
  return `${labelNames.length}: ${labelNames.map((name, i) => `${name} ${labelCounts[i]} (${pct(labelCounts[i]!)}%)`).join(', ')}`;
}

/** What the writer recorded of its codec's settings (a JPEG quality), when it differs from the id alone. */
function codecDetail(header: StoreHeader): string {
  const described = header.provenance.settings?.codec;
  return typeof described === 'string' ? ` (${described})` : '';
}

function headerLines(header: StoreHeader): string[] {
  const [h, w, c] = header.shape;
  const size = header.provenance.settings?.size;
  const shape = isVariableShape(header.shape)
    ? `height×width×${c}, varying per record (${typeof size === 'string' ? `--size ${size}` : 'variable size'})`
    : `${h}×${w}×${c}`;
  return [
    // A 1.0 store has no minorVersion (FORMAT.md section 7).
    `format      ${header.format} v${header.version}.${header.minorVersion ?? 0}, codec ${header.codec}` +
      codecDetail(header) +
      (header.multiLabel ? ', multi-label' : ''),
    `shape       ${shape} ${header.dtype} ${header.layout} (${header.colorSpace})`,
  ];
}

export function infoCommand(): Command {
  return new Command('info')
    .description('Print a store (or sharded dataset) header, record count, label distribution and size on disk')
    .argument('<store>', `store folder, or a dataset folder holding ${MANIFEST_FILE}`)
    .option('--json', 'print machine-readable JSON', false)
    .option('--rejects', 'also list the inputs the conversion rejected, with reasons', false)
    .action(async (path: string, flags: InfoFlags) => {
      if (existsSync(join(path, MANIFEST_FILE))) return datasetInfo(path, flags);
      const store = openStore(path);
      try {
        const { header } = store;
        const bytes = storeSizeBytes(path);
        const rejects = flags.rejects ? store.rejects() : undefined;
        if (flags.json) {
          console.log(JSON.stringify({ path, engine: store.engine, records: store.length, bytes, header, ...(rejects ? { rejects } : {}) }, null, 2));
          return;
        }
        const lines = [
          `store       ${path}`,
          ...headerLines(header),
          `records     ${store.length}`,
          `rejected    ${header.rejected}`,
          `labels      ${describeLabels(header.labelNames, header.labelCounts, store.length)}`,
          `size        ${formatBytes(bytes)} (${store.length ? formatBytes(bytes / store.length) : '0 B'} per record)`,
          `created     ${header.provenance.createdAt} by ${header.provenance.tool} ${header.provenance.toolVersion}`,
          `engine      ${store.engine}`,
        ];
        if (header.provenance.source !== undefined) lines.push(`source      ${header.provenance.source}`);
        console.log(lines.join('\n'));
        if (rejects) for (const r of rejects) console.log(`  rejected ${r.name}: ${r.reason}`);
      } finally {
        await store.close();
      }
    });
}

async function datasetInfo(path: string, flags: InfoFlags): Promise<void> {
  const dataset = openDataset(path);
  try {
    const shards = dataset.shards.map((s) => ({ path: s.path, records: s.length, rejected: s.header.rejected, bytes: storeSizeBytes(s.path) }));
    const bytes = shards.reduce((n, s) => n + s.bytes, 0);
    const rejects = flags.rejects ? dataset.rejects() : undefined;
    if (flags.json) {
      const summary = { path, engine: dataset.shards[0]!.engine, records: dataset.length, bytes, labelNames: dataset.labelNames, labelCounts: dataset.labelCounts, shards };
      console.log(JSON.stringify({ ...summary, ...(rejects ? { rejects } : {}) }, null, 2));
      return;
    }
    const rejected = shards.reduce((n, s) => n + s.rejected, 0);
    console.log(
      [
        `dataset     ${path} (${shards.length} shards)`,
        ...headerLines(dataset.shards[0]!.header),
        `records     ${dataset.length}`,
        `rejected    ${rejected}`,
        `labels      ${describeLabels(dataset.labelNames, dataset.labelCounts, dataset.length)}`,
        `size        ${formatBytes(bytes)} (${dataset.length ? formatBytes(bytes / dataset.length) : '0 B'} per record)`,
        `engine      ${dataset.shards[0]!.engine}`,
        ...shards.map((s, i) => `  shard ${i}  ${s.records} records, ${s.rejected} rejected, ${formatBytes(s.bytes)}`),
      ].join('\n'),
    );
    if (rejects) for (const r of rejects) console.log(`  rejected ${r.name}: ${r.reason}`);
  } finally {
    await dataset.close();
  }
}
