import { adviseCodecs, type AdviseCodecsOptions } from '@imgstore/convert';
import { formatBytes } from './format-bytes.js';

/** `imgstore convert --advise`: the comparison as a table, with what each column means. */
export async function printCodecAdvice(folder: string, options: Omit<AdviseCodecsOptions, 'input'>): Promise<void> {
  console.error(`Converting a sample of ${folder} with each codec...`);
  const report = await adviseCodecs({ input: folder, ...options });
  const [h, w, c] = report.shape;
  console.log(
    `${folder}: ${report.folderInputs} inputs, ${formatBytes(report.folderBytes)}; sampled ${report.sampled}` +
      (report.rejected ? ` (${report.rejected} rejected)` : '') +
      `, stored as ${h}×${w}×${c}\n`,
  );
  const rows = [
    ['codec', 'bytes/image', 'vs source', 'projected store', 'read samples/s', 'mean error', 'what it is'],
    ...report.results.map((r) => [
      r.label,
      formatBytes(r.bytesPerImage),
      `${r.ratioToSource.toFixed(2)}×`,
      formatBytes(r.projectedBytes),
      r.readPerSecond.toFixed(0),
      r.meanError.toFixed(2),
      r.description,
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  for (const row of rows) console.log(row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  '));
  console.log(
    '\nread samples/s: one thread copying or decoding into a batch, checksum included, warm cache (DataLoader workers add threads).' +
      '\nmean error: average difference from the decoded pixels per channel value, 0-255 (0 = lossless).' +
      `\nPick with --codec <id> (and --quality for jpeg), e.g.: imgstore convert ${folder} <store> --codec jpeg --quality 90`,
  );
}
