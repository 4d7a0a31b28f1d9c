import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { RejectRecord, Sample } from '@imgstore/core';
import { openStore } from '@imgstore/store';
import { cliBin, makeImage, makeTempDir, repoRoot, runProcess } from '../../../tools/test-support/index.js';

// One folder of hostile and unusual inputs, all generated here, converted by the real CLI in a child
// process (a crash or a hang there fails the test instead of taking the test runner with it). Each
// input must end up either stored with the store's shape and the right pixels, or rejected with its reason.

const WIDTH = 32;
const HEIGHT = 16;
type Rgb = [number, number, number];

// ---------------------------------------------------------------- hand-built PNGs

function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG from its IHDR fields and its filtered scanlines (each row starts with filter byte 0). */
function handPng(
  width: number,
  height: number,
  bitDepth: number,
  colourType: number,
  scanlines: Buffer,
  extra: Buffer[] = [],
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...extra,
    pngChunk('IDAT', deflateSync(scanlines, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Scanlines of `width` × `height` pixels of `bytesPerPixel`, each pixel written by `put`. */
function scanlines(
  width: number,
  height: number,
  bytesPerPixel: number,
  put: (out: Buffer, at: number, x: number, y: number) => void,
): Buffer {
  const stride = 1 + width * bytesPerPixel;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) put(out, y * stride + 1 + x * bytesPerPixel, x, y);
  return out;
}

/**
 * The pixel bomb: 17000 × 17000 (289 M pixels, 867 MB as RGB) in a file of about 35 KB: 1-bit grey
 * scanlines of zeros compress 1000:1. It claims more pixels than the default limit (268,402,689).
 */
const pixelBomb = () => handPng(17000, 17000, 1, 0, Buffer.alloc(17000 * (1 + 17000 / 8)));

// ---------------------------------------------------------------- images made with sharp

const solid = (width: number, height: number, [r, g, b]: Rgb) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } });

const RED: Rgb = [220, 30, 30];
const GREEN: Rgb = [30, 200, 30];
const BLUE: Rgb = [30, 30, 220];
const YELLOW: Rgb = [230, 220, 30];

/** The upright picture for the orientation fixtures: 64×32, four quadrants of different colours. */
function upright(x: number, y: number): Rgb {
  return y < 16 ? (x < 32 ? RED : GREEN) : x < 32 ? BLUE : YELLOW;
}

/**
 * A JPEG whose stored pixels, displayed as EXIF `orientation` says, are the upright picture. The stored
 * pixels are laid out here from the EXIF definition (where row 0 and column 0 of the stored image
 * belong), not with sharp's rotate/flip, so the decoder is checked against the standard.
 */
function orientedJpeg(orientation: number): Promise<Buffer> {
  const [w, h] = [64, 32];
  const swap = orientation >= 5;
  const [sw, sh] = swap ? [h, w] : [w, h];
  const px = Buffer.alloc(sw * sh * 3);
  for (let r = 0; r < sh; r++) {
    for (let c = 0; c < sw; c++) {
      // (x, y) in the upright picture shown at stored row r, column c.
      const [x, y] = [
        [c, r], // 1: row 0 at the top, column 0 at the left
        [w - 1 - c, r], // 2: column 0 at the right
        [w - 1 - c, h - 1 - r], // 3: row 0 at the bottom, column 0 at the right
        [c, h - 1 - r], // 4: row 0 at the bottom
        [r, c], // 5: row 0 at the left, column 0 at the top
        [w - 1 - r, c], // 6: row 0 at the right, column 0 at the top
        [w - 1 - r, h - 1 - c], // 7: row 0 at the right, column 0 at the bottom
        [r, h - 1 - c], // 8: row 0 at the left, column 0 at the bottom
      ][orientation - 1]!;
      px.set(upright(x!, y!), (r * sw + c) * 3);
    }
  }
  return sharp(px, { raw: { width: sw, height: sh, channels: 3 } })
    .withMetadata({ orientation })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** Two frames, the first red and the second blue. */
async function animated(format: 'gif' | 'webp'): Promise<Buffer> {
  const frames = await Promise.all([solid(64, 32, RED).png().toBuffer(), solid(64, 32, BLUE).png().toBuffer()]);
  return sharp(frames, { join: { animated: true } }).toFormat(format).toBuffer();
}

// ---------------------------------------------------------------- what each input must become

type Expectation =
  | { rejected: RegExp }
  /** Stored; `stored` lists points (x, y) of the stored image and the colour expected there, ± `tolerance`. */
  | { stored: Array<[x: number, y: number, colour: Rgb]>; tolerance: number };

const TRUNCATED = /^truncated or corrupt image \(/;
const NOT_AN_IMAGE = /^not an image \(/;
const UNREADABLE = /^unreadable file \(/;
const EVERYWHERE = (colour: Rgb): Array<[number, number, Rgb]> => [
  [0, 0, colour],
  [WIDTH - 1, 0, colour],
  [WIDTH >> 1, HEIGHT >> 1, colour],
  [0, HEIGHT - 1, colour],
  [WIDTH - 1, HEIGHT - 1, colour],
];
const QUADRANTS: Array<[number, number, Rgb]> = [
  [8, 4, RED],
  [24, 4, GREEN],
  [8, 12, BLUE],
  [24, 12, YELLOW],
];

const JPEG_CUTS = [4, 200, 0.25, 0.5, 0.75, -2] as const; // byte counts, fractions, or bytes short of the end
// Cut after the signature, inside IHDR, after IHDR, inside IDAT. (Only IEND missing is not damage:
// every pixel is there, and that file is stored; see png-without-iend below.)
const PNG_CUTS = [8, 20, 33, 0.5] as const;
const cutName = (cut: number) => (cut < 0 ? `${-cut}-bytes-short` : cut < 1 ? `at-${cut * 100}pct` : `at-${cut}-bytes`);
const cut = (bytes: Buffer, at: number) =>
  bytes.subarray(0, at < 0 ? bytes.length + at : at < 1 ? Math.floor(bytes.length * at) : at);

const FIXTURES: Record<string, Expectation> = {
  ...Object.fromEntries(JPEG_CUTS.map((at) => [`truncated/jpeg-cut-${cutName(at)}.jpg`, { rejected: TRUNCATED }])),
  ...Object.fromEntries(PNG_CUTS.map((at) => [`truncated/png-cut-${cutName(at)}.png`, { rejected: TRUNCATED }])),
  'truncated/png-uncut.png': { stored: [], tolerance: 0 }, // the reference for the next one
  'truncated/png-without-iend.png': { stored: [], tolerance: 0 },
  'corrupt/png-bit-flipped-in-idat.png': { rejected: TRUNCATED },
  'corrupt/jpeg-bit-flipped-in-header.jpg': { rejected: TRUNCATED },
  'corrupt/zero-bytes.jpg': { rejected: /^empty file/ },
  'corrupt/text-named.jpg': { rejected: NOT_AN_IMAGE },
  'corrupt/pixel-bomb-17000x17000.png': { rejected: /^too many pixels \(/ },
  'colour/cmyk.jpg': { stored: EVERYWHERE([200, 50, 10]), tolerance: 16 }, // CMYK→sRGB without a profile is approximate
  'colour/png-16-bit.png': { stored: EVERYWHERE([200, 50, 10]), tolerance: 1 },
  // Resizing premultiplies by alpha and divides again: a few levels of rounding where alpha is low.
  'colour/png-grey-alpha.png': { stored: EVERYWHERE([90, 90, 90]), tolerance: 4 },
  'colour/png-palette.png': { stored: [[4, 8, [10, 200, 30]], [27, 8, [250, 240, 5]]], tolerance: 0 },
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6, 7, 8].map((o) => [`orientation/exif-${o}.jpg`, { stored: QUADRANTS, tolerance: 12 }]),
  ),
  'animated/two-frames.gif': { stored: EVERYWHERE(RED), tolerance: 2 },
  'animated/two-frames.webp': { stored: EVERYWHERE(RED), tolerance: 4 },
  'size/one-pixel-1x1.png': { stored: EVERYWHERE([10, 200, 30]), tolerance: 0 },
  'size/very-wide-30000x2.png': { stored: EVERYWHERE([10, 200, 30]), tolerance: 0 },
  'size/very-tall-2x30000.png': { stored: EVERYWHERE([10, 200, 30]), tolerance: 0 },
  'names/café 日本 ☕ ünïcödé.png': { stored: EVERYWHERE(GREEN), tolerance: 0 },
  'names/  spaces  around  .png': { stored: EVERYWHERE(GREEN), tolerance: 0 },
  'names/"double" and \'single\' quotes.png': { stored: EVERYWHERE(GREEN), tolerance: 0 },
  'links/loop-a.jpg': { rejected: UNREADABLE }, // loop-a → loop-b → loop-a
  'links/loop-b.jpg': { rejected: UNREADABLE },
  'links/dangling.jpg': { rejected: UNREADABLE },
  'links/good.png': { stored: EVERYWHERE(GREEN), tolerance: 0 },
  'links/to-good.png': { stored: EVERYWHERE(GREEN), tolerance: 0 },
  'special/fifo.jpg': { rejected: /^not a regular file \(FIFO\)/ },
  'special/no-read-permission.jpg': { rejected: UNREADABLE },
};

// ---------------------------------------------------------------- the folder and its conversion

let tmp: ReturnType<typeof makeTempDir>;
let folder: string;
let store: string;
let run: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };
let records: Map<string, Sample>;
let rejects: Map<string, string>;
let rejectList: RejectRecord[];

async function buildFolder(): Promise<void> {
  const put = (name: string, bytes: Buffer | string) => {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), bytes);
  };
  const jpeg = await makeImage(96, 64, 'jpeg', { seed: 7 });
  for (const at of JPEG_CUTS) put(`truncated/jpeg-cut-${cutName(at)}.jpg`, cut(jpeg, at));
  const png = await makeImage(96, 64, 'png', { seed: 8 });
  for (const at of PNG_CUTS) put(`truncated/png-cut-${cutName(at)}.png`, cut(png, at));
  put('truncated/png-uncut.png', png);
  put('truncated/png-without-iend.png', cut(png, -12));

  // One bit flipped in the compressed pixels: the chunk CRC no longer matches.
  const flippedPng = Buffer.from(png);
  flippedPng[png.indexOf('IDAT') + 40]! ^= 0x10;
  put('corrupt/png-bit-flipped-in-idat.png', flippedPng);
  // One bit flipped in the Huffman table marker (FFC4 → FFC5, a SOF5 marker): the header is inconsistent.
  const flippedJpeg = Buffer.from(jpeg);
  flippedJpeg[jpeg.indexOf(Buffer.from([0xff, 0xc4])) + 1]! ^= 0x01;
  put('corrupt/jpeg-bit-flipped-in-header.jpg', flippedJpeg);
  put('corrupt/zero-bytes.jpg', '');
  put('corrupt/text-named.jpg', 'Dear diary, today I was named like a JPEG.\n');
  put('corrupt/pixel-bomb-17000x17000.png', pixelBomb());

  put('colour/cmyk.jpg', await solid(64, 32, [200, 50, 10]).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
  // 16 bits per channel: 200 × 257 is 200 in 8 bits, exactly.
  const rgb16 = scanlines(64, 32, 6, (b, at) => [200, 50, 10].forEach((v, i) => b.writeUInt16BE(v * 257, at + 2 * i)));
  put('colour/png-16-bit.png', handPng(64, 32, 16, 2, rgb16));
  // Grey 90 with alpha from opaque to almost transparent: alpha is dropped, the grey stays.
  put(
    'colour/png-grey-alpha.png',
    handPng(64, 32, 8, 4, scanlines(64, 32, 2, (b, at, x) => b.set([90, 255 - x * 3], at))),
  );
  put(
    'colour/png-palette.png',
    handPng(64, 32, 8, 3, scanlines(64, 32, 1, (b, at, x) => (b[at] = x < 32 ? 0 : 1)), [
      pngChunk('PLTE', Buffer.from([10, 200, 30, 250, 240, 5])),
    ]),
  );

  for (let o = 1; o <= 8; o++) put(`orientation/exif-${o}.jpg`, await orientedJpeg(o));
  put('animated/two-frames.gif', await animated('gif'));
  put('animated/two-frames.webp', await animated('webp'));

  put('size/one-pixel-1x1.png', await solid(1, 1, [10, 200, 30]).png().toBuffer());
  put('size/very-wide-30000x2.png', await solid(30000, 2, [10, 200, 30]).png().toBuffer());
  put('size/very-tall-2x30000.png', await solid(2, 30000, [10, 200, 30]).png().toBuffer());

  const green = await solid(64, 32, GREEN).png().toBuffer();
  for (const name of Object.keys(FIXTURES).filter((n) => n.startsWith('names/'))) put(name, green);

  put('links/good.png', green);
  const links = join(folder, 'links');
  symlinkSync('good.png', join(links, 'to-good.png'));
  symlinkSync('loop-b.jpg', join(links, 'loop-a.jpg'));
  symlinkSync('loop-a.jpg', join(links, 'loop-b.jpg'));
  symlinkSync('missing-target.jpg', join(links, 'dangling.jpg'));
  // Links to folders, the walk's own loops: not followed, so they name no input.
  symlinkSync('.', join(links, 'self'));
  symlinkSync('..', join(links, 'up'));
  symlinkSync(folder, join(links, 'root'));

  mkdirSync(join(folder, 'special'));
  execFileSync('mkfifo', [join(folder, 'special', 'fifo.jpg')]);
  put('special/no-read-permission.jpg', jpeg);
  chmodSync(join(folder, 'special', 'no-read-permission.jpg'), 0o000);
}

/**
 * Runs `imgstore convert` in a child process, killed if it outlives `timeoutMs` (a hang is a failure,
 * not a stuck suite). Root reads files whatever their mode, so as root the child runs as `nobody`:
 * then the file without read permission is really unreadable.
 */
function convert(args: string[], timeoutMs = 30_000): Promise<typeof run> {
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, 'convert', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asNobody,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  tmp = makeTempDir('imgstore-hostile-');
  chmodSync(tmp.dir, 0o777); // the child may run as nobody: it reads the folder and writes the store here
  folder = join(tmp.dir, 'hostile');
  await buildFolder();
  store = join(tmp.dir, 'hostile.lmdb');
  run = await convert([folder, store, '--size', `${WIDTH}x${HEIGHT}`, '--progress-interval', '0']);
  if (run.code !== 0) throw new Error(`imgstore convert ended with ${run.signal ?? `code ${run.code}`}: ${run.stderr}`);
  const reader = openStore(store);
  try {
    records = new Map([...reader].map((sample) => [sample.name, sample]));
    rejectList = reader.rejects();
    rejects = new Map(rejectList.map((r) => [r.name, r.reason]));
  } finally {
    await reader.close();
  }
}, 60_000);
afterAll(() => tmp?.cleanup());

describe('hostile and unusual inputs, converted by the real CLI', () => {
  it('the conversion finishes by itself, without a crash, and reports the rejects', () => {
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    const rejected = Object.values(FIXTURES).filter((e) => 'rejected' in e).length;
    const summary = `Stored ${records.size} of ${records.size + rejected} inputs .* ${rejected} rejected`;
    expect(run.stdout).toMatch(new RegExp(summary));
  });

  it('every input is stored or rejected, exactly once; links to folders name nothing and are not walked', () => {
    const seen = [...records.keys(), ...rejects.keys()].sort();
    expect(seen).toEqual(Object.keys(FIXTURES).sort());
    expect(rejectList).toHaveLength(rejects.size);
    expect(seen.filter((name) => /links\/(self|up|root)/.test(name))).toEqual([]);
  });

  it('no record is empty: each has the store shape, its full bytes, and is not all black', () => {
    expect(records.size).toBeGreaterThan(0);
    for (const [name, sample] of records) {
      expect(sample.shape, name).toEqual([HEIGHT, WIDTH, 3]);
      expect(sample.data.length, name).toBe(HEIGHT * WIDTH * 3);
      expect(sample.data.some((v) => v > 0), name).toBe(true);
    }
  });

  it.each(Object.entries(FIXTURES))('%s', (name, expectation) => {
    if ('rejected' in expectation) {
      expect(records.has(name), `${name} must not be stored`).toBe(false);
      expect(rejects.get(name), name).toMatch(expectation.rejected);
      return;
    }
    expect(rejects.get(name), `${name} must not be rejected`).toBeUndefined();
    const sample = records.get(name);
    expect(sample, `${name} must be stored`).toBeDefined();
    for (const [x, y, colour] of expectation.stored) {
      const at = (y * WIDTH + x) * 3;
      const got = [...sample!.data.subarray(at, at + 3)];
      const off = Math.max(...got.map((v, i) => Math.abs(v - colour[i]!)));
      expect(off, `${name} at (${x}, ${y}): got ${got}, expected ${colour}`).toBeLessThanOrEqual(expectation.tolerance);
    }
  });

  it('a PNG missing only its IEND chunk gives exactly the pixels of the whole file', () => {
    const whole = records.get('truncated/png-uncut.png')!.data;
    expect(Buffer.from(records.get('truncated/png-without-iend.png')!.data)).toEqual(Buffer.from(whole));
  });

  it('EXIF orientations 1–8 all give the upright picture of orientation 1', () => {
    const reference = records.get('orientation/exif-1.jpg')!.data;
    for (let o = 2; o <= 8; o++) {
      const data = records.get(`orientation/exif-${o}.jpg`)!.data;
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += Math.abs(data[i]! - reference[i]!);
      expect(sum / data.length, `orientation ${o}: mean absolute difference`).toBeLessThan(3);
    }
  });
});

describe('the pixel bomb', () => {
  it('is rejected from its header, with memory bounded, in a process of its own', async () => {
    const script = `
      import { readFileSync } from 'node:fs';
      import { decodeImage } from '@imgstore/image';
      const bytes = readFileSync(process.argv[1]);
      const outcome = await decodeImage(bytes, { width: 32, height: 16 }).then(() => 'decoded', (e) => e.message);
      console.log(JSON.stringify({ outcome, bytes: bytes.length, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
    `;
    const bomb = join(folder, 'corrupt/pixel-bomb-17000x17000.png');
    const child = await runProcess(process.execPath, ['--input-type=module', '-e', script, bomb]);
    expect(child.code, child.stderr).toBe(0);
    const { outcome, bytes, maxRssMB } = JSON.parse(child.stdout) as { outcome: string; bytes: number; maxRssMB: number };
    expect(bytes).toBeLessThan(64 * 1024);
    expect(outcome).toMatch(/too many pixels/);
    // Decoding it would need 867 MB for the RGB pixels alone.
    expect(maxRssMB).toBeLessThan(300);
  });
});
