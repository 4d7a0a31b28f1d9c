/** What a JPEG's headers say, when nothing in them needs more than a plain decode to sRGB. */
export interface PlainJpeg {
  width: number;
  height: number;
  /** 1 (grey) or 3 (YCbCr/RGB). */
  components: number;
}

// Start-of-frame markers libjpeg-turbo decodes to the same pixels as libvips' loader: baseline,
// extended sequential and progressive Huffman. Lossless, hierarchical and arithmetic-coded ones go to sharp.
const PLAIN_FRAMES = new Set([0xc0, 0xc1, 0xc2]);

/**
 * Reads the marker segments of a JPEG up to its scan and returns its size if decoding it needs no
 * more than libjpeg-turbo to RGB: 8-bit, 1 or 3 components, no EXIF rotation (orientation absent or 1),
 * no ICC profile (sharp would convert colours). Anything else, or anything malformed, is null: sharp
 * then decodes it (and reports what is wrong with it).
 */
export function plainJpeg(bytes: Uint8Array): PlainJpeg | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let pos = 2;
  let frame: PlainJpeg | null = null;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xda) return frame; // start of scan: every header has been seen
    if (marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) return null;
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    const start = pos + 4;
    const end = pos + 2 + length;
    if (length < 2 || end > bytes.length) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (!PLAIN_FRAMES.has(marker) || frame || end - start < 6) return null;
      const precision = bytes[start]!;
      const height = (bytes[start + 1]! << 8) | bytes[start + 2]!;
      const width = (bytes[start + 3]! << 8) | bytes[start + 4]!;
      const components = bytes[start + 5]!;
      if (precision !== 8 || width === 0 || height === 0 || (components !== 1 && components !== 3)) return null;
      frame = { width, height, components };
    } else if (marker === 0xe1 && hasPrefix(bytes, start, end, EXIF)) {
      const orientation = exifOrientation(bytes, start + EXIF.length, end);
      if (orientation === null || orientation !== 1) return null;
    } else if (marker === 0xe2 && hasPrefix(bytes, start, end, ICC)) {
      return null;
    }
    pos = end;
  }
  return null;
}

const EXIF = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"
const ICC = [0x49, 0x43, 0x43, 0x5f, 0x50, 0x52, 0x4f, 0x46, 0x49, 0x4c, 0x45, 0x00]; // "ICC_PROFILE\0"

function hasPrefix(bytes: Uint8Array, start: number, end: number, prefix: number[]): boolean {
  if (end - start < prefix.length) return false;
  return prefix.every((b, i) => bytes[start + i] === b);
}

/**
 * The EXIF orientation tag (0x0112) of IFD0 in the TIFF structure at `tiff`..`end`: 1 when absent, null
 * when the structure is malformed (the caller lets sharp deal with it).
 */
function exifOrientation(bytes: Uint8Array, tiff: number, end: number): number | null {
  if (end - tiff < 8) return null;
  const little = bytes[tiff] === 0x49 && bytes[tiff + 1] === 0x49;
  if (!little && !(bytes[tiff] === 0x4d && bytes[tiff + 1] === 0x4d)) return null;
  const u16 = (at: number) => (little ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!);
  const u32 = (at: number) => (little ? u16(at) + u16(at + 2) * 0x10000 : u16(at) * 0x10000 + u16(at + 2));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return null;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return null;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return 1;
}
