/**
 * Walks the block structure of an LZ4 frame (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md)
 * and returns its exact length in bytes, or a string saying why it is not a complete frame.
 * lz4-napi's decoder accepts a frame cut at a block boundary (no end mark); this check does not.
 */
export function lz4FrameLength(bytes: Uint8Array): number | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 7) return `frame of ${bytes.length} bytes is shorter than a frame header`;
  if (view.getUint32(0, true) !== 0x184d2204) return 'not an LZ4 frame (bad magic)';
  const flg = bytes[4]!;
  if (flg >> 6 !== 0b01) return 'unsupported LZ4 frame version';
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  let pos = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1; // magic, FLG, BD, optional fields, header checksum
  for (;;) {
    if (pos + 4 > bytes.length) return 'truncated LZ4 frame (missing block size or end mark)';
    const size = view.getUint32(pos, true) & 0x7fffffff;
    pos += 4;
    if (size === 0) break; // end mark
    pos += size + (blockChecksum ? 4 : 0);
    if (pos > bytes.length) return 'truncated LZ4 frame (block runs past the end)';
  }
  pos += contentChecksum ? 4 : 0;
  if (pos > bytes.length) return 'truncated LZ4 frame (missing content checksum)';
  return pos;
}
