import { closeSync, openSync, readSync } from 'node:fs';

/** The formats imgstore converts (README "Convert"); sharp can render more, which are refused. */
export const SUPPORTED_FORMATS = 'JPEG, PNG, WebP, GIF, TIFF and AVIF';

const ascii = (bytes: Uint8Array, at: number, text: string) => {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};
const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.length <= bytes.length && prefix.every((b, i) => bytes[i] === b);

/** The brands of an ISO base media file (`ftyp` box): AVIF, HEIC, MP4, ... */
function isoBrands(bytes: Uint8Array): string[] | null {
  if (!ascii(bytes, 4, 'ftyp') || bytes.length < 16) return null;
  const size = Math.min(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0, bytes.length);
  const brands = [String.fromCharCode(...bytes.subarray(8, 12))];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(String.fromCharCode(...bytes.subarray(at, at + 4)));
  return brands;
}

/**
 * What a file's first bytes say it is: null for one of the supported formats; otherwise the reason it is
 * refused, naming the format when it is one we know (SVG, BMP, HEIC, PDF, ...). sharp would render some
 * of these (an SVG, an ICO's guess at a frame) or give a misleading error for the others; a format outside
 * the list is never stored as a guess.
 */
export function refuseFormat(bytes: Uint8Array): string | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return null; // JPEG
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return null; // PNG
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return null;
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return null;
  if (ascii(bytes, 0, 'II*\0') || ascii(bytes, 0, 'MM\0*') || ascii(bytes, 0, 'II+\0') || ascii(bytes, 0, 'MM\0+')) {
    // A TIFF container that is a camera's raw file: sharp would store its embedded preview.
    return ascii(bytes, 8, 'CR') ? unsupported('Canon CR2 camera raw') : null;
  }
  const brands = isoBrands(bytes);
  if (brands) {
    if (brands.includes('avif') || brands.includes('avis')) return null;
    if (brands.some((b) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(b))) return unsupported('HEIC/HEIF');
    if (brands.includes('crx ')) return unsupported('Canon CR3 camera raw');
    return unsupported(`ISO media (brand "${brands[0]!.trim()}", a video or other non-image)`);
  }
  const named = knownFormat(bytes);
  return named ? unsupported(named) : 'not an image (unsupported or unrecognised format)';
}

function unsupported(format: string): string {
  return `unsupported format: ${format} (imgstore converts ${SUPPORTED_FORMATS})`;
}

/** Image and document formats recognised by their signature, to name them when refusing them. */
function knownFormat(bytes: Uint8Array): string | null {
  if (ascii(bytes, 0, 'BM') && bytes.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(bytes[14]!)) return 'BMP';
  if (ascii(bytes, 0, '%PDF-')) return 'PDF';
  if (ascii(bytes, 0, '8BPS')) return 'Photoshop PSD';
  if (startsWith(bytes, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'JPEG XL';
  if (startsWith(bytes, [0, 0, 1, 0]) && bytes.length >= 6 && bytes[4]! + bytes[5]! > 0) return 'ICO (Windows icon)';
  if (startsWith(bytes, [0, 0, 2, 0]) && bytes.length >= 6 && bytes[4]! + bytes[5]! > 0) return 'CUR (Windows cursor)';
  if (ascii(bytes, 0, 'qoif')) return 'QOI';
  if (startsWith(bytes, [0x76, 0x2f, 0x31, 0x01])) return 'OpenEXR';
  if (ascii(bytes, 0, '#?RADIANCE') || ascii(bytes, 0, '#?RGBE')) return 'Radiance HDR';
  if (ascii(bytes, 0, 'SIMPLE  =')) return 'FITS';
  if (startsWith(bytes, [0x08, 0xf2, 0xa6, 0xb6]) || startsWith(bytes, [0xb6, 0xa6, 0xf2, 0x08])) return 'VIPS';
  if (ascii(bytes, 0, 'DDS ')) return 'DDS';
  if (ascii(bytes, 0, 'gimp xcf')) return 'GIMP XCF';
  if (bytes[0] === 0x50 && bytes.length >= 3 && /[1-7Ff]/.test(String.fromCharCode(bytes[1]!)) && /\s/.test(String.fromCharCode(bytes[2]!))) {
    return 'Netpbm (PBM/PGM/PPM/PAM/PFM)';
  }
  // SVG: XML text (after an optional BOM, a declaration, comments) whose first element is <svg.
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8').replace(/^\uFEFF/, '');
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(head)) return 'SVG';
  return null;
}

/** The first bytes of a file that is decoded from its path (too large to read whole), for refuseFormat. */
export function readHead(path: string, length = 4096): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}
