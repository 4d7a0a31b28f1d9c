import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Sample } from '@imgstore/core';
import { openStore } from '@imgstore/store';
import { makeImage, makeTempDir, runImgstore } from '../../../tools/test-support/index.js';

// Issue 17 item 4, beside hostile-inputs.test.ts: every file of the input is stored or rejected with its
// true reason. Formats outside the README's list (JPEG, PNG, WebP, GIF, TIFF, AVIF) are refused naming
// the format, even where sharp would render them (SVG); a name of any bytes keeps its image.

const W = 8;
const H = 6;
const GREEN = { r: 20, g: 200, b: 40 };
type Expectation = { stored: true } | { rejected: RegExp };

const unsupported = (format: string) => new RegExp(`^unsupported format: ${format.replace(/[()/]/g, '\\$&')} \\(imgstore converts JPEG, PNG, WebP, GIF, TIFF and AVIF\\)$`);
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="12"><rect width="16" height="12" fill="rgb(20,200,40)"/></svg>';

/** A 2×2 24-bit BMP: 14-byte file header, 40-byte BITMAPINFOHEADER, rows padded to 4 bytes. */
function bmp(): Buffer {
  const out = Buffer.alloc(14 + 40 + 2 * 8);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(2, 18);
  out.writeInt32LE(2, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.fill(0x80, 54);
  return out;
}

/** An ISO base media file header (`ftyp` box) with a major brand and compatible brands, then filler. */
function isoMedia(major: string, compatible: string[]): Buffer {
  const box = Buffer.alloc(16 + 4 * compatible.length);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  return Buffer.concat([box, Buffer.alloc(64, 7)]);
}

/** File names as bytes, under names/: `display` is how the store names them. */
const ODD_NAMES: Array<{ bytes: Buffer; display: string; image: boolean }> = [
  { bytes: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x70, 0x6e, 0x67]), display: 'names/caf%E9.png', image: true }, // Latin-1 "café.png"
  { bytes: Buffer.concat([Buffer.from('dir-'), Buffer.from([0xff]), Buffer.from('/inside.png')]), display: 'names/dir-%FF/inside.png', image: true },
  { bytes: Buffer.concat([Buffer.from([0xe6, 0x97]), Buffer.from('-cut-utf8.png')]), display: 'names/%E6%97-cut-utf8.png', image: true },
  { bytes: Buffer.concat([Buffer.from('text-'), Buffer.from([0xfe]), Buffer.from('.jpg')]), display: 'names/text-%FE.jpg', image: false },
];

const FIXTURES: Record<string, Expectation> = {
  'formats/tiff.tiff': { stored: true },
  'formats/avif.avif': { stored: true },
  'formats/png-named.jpg': { stored: true },
  'formats/drawing.svg': { rejected: unsupported('SVG') },
  'formats/drawing-with-xml-declaration.svg': { rejected: unsupported('SVG') },
  'formats/svg-named.png': { rejected: unsupported('SVG') },
  'formats/bitmap.bmp': { rejected: unsupported('BMP') },
  'formats/photo.heic': { rejected: unsupported('HEIC/HEIF') },
  'formats/clip.mp4': { rejected: /^unsupported format: ISO media \(brand "isom", a video or other non-image\)/ },
  'formats/document.pdf': { rejected: unsupported('PDF') },
  'formats/layers.psd': { rejected: unsupported('Photoshop PSD') },
  'formats/icon.ico': { rejected: unsupported('ICO (Windows icon)') },
  'formats/pixels.ppm': { rejected: unsupported('Netpbm (PBM/PGM/PPM/PAM/PFM)') },
  'formats/next.jxl': { rejected: unsupported('JPEG XL') },
  'formats/quite-ok.qoi': { rejected: unsupported('QOI') },
  'formats/unknown.bin': { rejected: /^not an image \(unsupported or unrecognised format\)$/ },
  'names/line\nbreak.png': { stored: true },
  'names/back\\slash.png': { stored: true },
  'names/%41-percent.png': { stored: true },
  [`names/${'long-'.repeat(50)}.png`]: { stored: true }, // 254 bytes, near the usual limit of 255
  ...Object.fromEntries(ODD_NAMES.map((n) => [n.display, n.image ? { stored: true } : { rejected: /^not an image \(/ }])),
};

const tmp = makeTempDir('imgstore-accounted-');
afterAll(tmp.cleanup);
const folder = join(tmp.dir, 'inputs');
let run: { code: number | null; stdout: string; stderr: string };
let records: Map<string, Sample>;
let rejects: Map<string, string>;

beforeAll(async () => {
  const put = (name: string | Buffer, bytes: Buffer | string) => {
    const path = typeof name === 'string' ? join(folder, name) : Buffer.concat([Buffer.from(`${folder}/`), name]);
    mkdirSync(typeof path === 'string' ? dirname(path) : path.subarray(0, path.lastIndexOf(0x2f)), { recursive: true });
    writeFileSync(path, bytes);
  };
  const green = await sharp({ create: { width: 16, height: 12, channels: 3, background: GREEN } }).png().toBuffer();
  put('formats/tiff.tiff', await makeImage(16, 12, 'tiff', { seed: 3 }));
  put('formats/avif.avif', await makeImage(16, 12, 'avif', { seed: 4 }));
  put('formats/png-named.jpg', green);
  put('formats/drawing.svg', SVG);
  put('formats/drawing-with-xml-declaration.svg', `<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n${SVG}`);
  put('formats/svg-named.png', SVG);
  put('formats/bitmap.bmp', bmp());
  put('formats/photo.heic', isoMedia('heic', ['mif1', 'heic']));
  put('formats/clip.mp4', isoMedia('isom', ['isom', 'mp41']));
  put('formats/document.pdf', '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n');
  put('formats/layers.psd', Buffer.concat([Buffer.from('8BPS'), Buffer.alloc(40)]));
  put('formats/icon.ico', Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0]), Buffer.alloc(8), green]));
  put('formats/pixels.ppm', Buffer.concat([Buffer.from('P6\n4 2\n255\n'), Buffer.alloc(24, 200)]));
  put('formats/next.jxl', Buffer.concat([Buffer.from([0xff, 0x0a]), Buffer.alloc(30, 1)]));
  put('formats/quite-ok.qoi', Buffer.concat([Buffer.from('qoif'), Buffer.alloc(30, 1)]));
  put('formats/unknown.bin', Buffer.from([0x13, 0x37, 0, 1, 2, 3, 4, 5]));
  for (const name of Object.keys(FIXTURES).filter((n) => n.startsWith('names/') && !n.includes('%E') && !n.includes('%F'))) put(name, green);
  for (const odd of ODD_NAMES) put(Buffer.concat([Buffer.from('names/'), odd.bytes]), odd.image ? green : 'plain text, not an image');
  // Hidden entries are left out (README), and counted: a file and a folder with a file inside.
  put('.DS_Store', 'finder data');
  put('formats/.hidden-photo.png', green);
  put('.git/objects/x.png', green);

  const store = join(tmp.dir, 'inputs.lmdb');
  run = await runImgstore(['convert', folder, store, '--size', `${W}x${H}`, '--progress-interval', '0']);
  if (run.code !== 0) throw new Error(`imgstore convert ended with code ${run.code}: ${run.stderr}`);
  const reader = openStore(store);
  try {
    records = new Map([...reader].map((s) => [s.name, s]));
    rejects = new Map(reader.rejects().map((r) => [r.name, r.reason]));
  } finally {
    await reader.close();
  }
}, 60_000);

describe('every input accounted for', () => {
  it('every file is stored or rejected, exactly once, under its own name', () => {
    expect([...records.keys(), ...rejects.keys()].sort()).toEqual(Object.keys(FIXTURES).sort());
    expect(run.stdout).toMatch(new RegExp(`Stored ${records.size} of ${Object.keys(FIXTURES).length} inputs`));
    expect(run.stdout).toMatch(/^3 hidden entries \(names starting with "\."\) left out$/m);
  });

  it.each(Object.entries(FIXTURES))('%s', (name, expectation) => {
    if ('rejected' in expectation) {
      expect(records.has(name), `${name} must not be stored`).toBe(false);
      expect(rejects.get(name)).toMatch(expectation.rejected);
      return;
    }
    expect(rejects.get(name), `${name} must not be rejected`).toBeUndefined();
    expect(records.get(name)!.shape).toEqual([H, W, 3]);
  });

  it('a file whose name is not UTF-8 keeps its pixels (the same as the same image under a plain name)', () => {
    const plain = records.get('formats/png-named.jpg')!.data;
    for (const odd of ODD_NAMES.filter((n) => n.image)) expect(Buffer.from(records.get(odd.display)!.data)).toEqual(Buffer.from(plain));
  });
});
