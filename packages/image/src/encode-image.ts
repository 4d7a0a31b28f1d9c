import type { Sharp } from 'sharp';
import { loadSharp } from './load-sharp.js';
import { expectOneOf, type RawImage } from '@imgstore/core';

export const ENCODE_FORMATS = ['png', 'jpeg'] as const;
export type EncodeFormat = (typeof ENCODE_FORMATS)[number];

/** File extension of each format, as `export` writes it. */
export const FORMAT_EXTENSIONS: Record<EncodeFormat, string> = { png: '.png', jpeg: '.jpg' };

function fromRaw(image: RawImage): Sharp {
  return loadSharp()(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });
}

/** Encodes raw pixels (e.g. a stored sample) as PNG (lossless) or JPEG (quality 95). */
export async function encodeImage(image: RawImage, format: EncodeFormat = 'png'): Promise<Buffer> {
  const checked = expectOneOf('format', format, ENCODE_FORMATS);
  const pipeline = fromRaw(image);
  return checked === 'png' ? pipeline.png().toBuffer() : pipeline.jpeg({ quality: 95 }).toBuffer();
}

export interface ContactSheetTile {
  image: RawImage;
  /** One line under the tile, e.g. `#12 cat`. */
  caption: string;
}

export interface ContactSheetOptions {
  columns: number;
  /** Every tile is shown at this size (images of another size are resized to fit, letterboxed). */
  tileWidth: number;
  tileHeight: number;
}

/** Height of the caption strip under each tile, in pixels. */
export const CAPTION_HEIGHT = 16;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * A PNG grid of tiles with a caption strip under each: `columns` × ceil(n / columns) cells of
 * tileWidth × (tileHeight + CAPTION_HEIGHT) pixels, on a dark background. Captions are drawn as SVG
 * text (librsvg, inside sharp), so no font files are needed.
 */
export async function renderContactSheet(tiles: ContactSheetTile[], options: ContactSheetOptions): Promise<Buffer> {
  const { columns, tileWidth, tileHeight } = options;
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const cellHeight = tileHeight + CAPTION_HEIGHT;
  const width = columns * tileWidth;
  const height = rows * cellHeight;
  const pictures = await Promise.all(
    tiles.map(({ image }) =>
      fromRaw(image).resize(tileWidth, tileHeight, { fit: 'contain', background: { r: 0, g: 0, b: 0 } }).png().toBuffer(),
    ),
  );
  const fontSize = Math.min(12, Math.max(6, Math.floor(tileWidth / 8)));
  const captions = tiles
    .map(({ caption }, k) => {
      const x = (k % columns) * tileWidth + 2;
      const y = Math.floor(k / columns) * cellHeight + tileHeight + CAPTION_HEIGHT - 4;
      return `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${fontSize}" fill="#eeeeee">${escapeXml(caption)}</text>`;
    })
    .join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${captions}</svg>`);
  return loadSharp()({ create: { width, height, channels: 3, background: { r: 24, g: 24, b: 24 } } })
    .composite([
      ...pictures.map((input, k) => ({ input, left: (k % columns) * tileWidth, top: Math.floor(k / columns) * cellHeight })),
      { input: svg, left: 0, top: 0 },
    ])
    .png()
    .toBuffer();
}
