// LMDB data format v1 page layout (liblmdb 0.9 mdb.c, 64-bit, little-endian). Every multi-byte field is
// little-endian: this reader runs on little-endian hosts only, like the files it reads.

/** MDB_page header: mp_pgno u64 @0, mp_pad u16 @8, mp_flags u16 @10, mp_lower u16 @12, mp_upper u16 @14 (or mp_pages u32 @12). */
export const PAGE_HEADER_SIZE = 16;
export const PAGE_PGNO_OFFSET = 0;
export const PAGE_FLAGS_OFFSET = 10;
export const PAGE_LOWER_OFFSET = 12;
export const PAGE_UPPER_OFFSET = 14;
export const PAGE_OVERFLOW_COUNT_OFFSET = 12;

/** mp_flags. */
export const P_BRANCH = 0x01;
export const P_LEAF = 0x02;
export const P_OVERFLOW = 0x04;
export const P_META = 0x08;
export const P_LEAF2 = 0x20;
export const P_SUBP = 0x40;

/** MDB_node header: mn_lo u16 @0, mn_hi u16 @2, mn_flags u16 @4, mn_ksize u16 @6, then key, then data. */
export const NODE_HEADER_SIZE = 8;
export const NODE_FLAGS_OFFSET = 4;
export const NODE_KSIZE_OFFSET = 6;

/** mn_flags of leaf nodes. */
export const F_BIGDATA = 0x01;
export const F_SUBDATA = 0x02;
export const F_DUPDATA = 0x04;

/** A page number field (pgno_t, 8 bytes) inside a leaf node's data when F_BIGDATA is set. */
export const PGNO_SIZE = 8;

/** md_flags (mdb_dbi_open flags persisted in MDB_db). */
export const MDB_REVERSEKEY = 0x02;
export const MDB_DUPSORT = 0x04;
export const MDB_INTEGERKEY = 0x08;
export const MDB_DUPFIXED = 0x10;
export const MDB_INTEGERDUP = 0x20;
export const MDB_REVERSEDUP = 0x40;

/** Largest page number a JS number holds exactly; P_INVALID (all ones) and anything above reads as -1. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/** Reads a u64 page number; -1 when it cannot be a page number of any real file (including P_INVALID). */
export function readPgno(buf: Uint8Array, offset: number): number {
  const lo = (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16)) + buf[offset + 3]! * 0x1000000;
  const hi = (buf[offset + 4]! | (buf[offset + 5]! << 8) | (buf[offset + 6]! << 16)) + buf[offset + 7]! * 0x1000000;
  return hi > MAX_SAFE_HIGH_WORD ? -1 : hi * 0x100000000 + lo;
}

export function readU16(buf: Uint8Array, offset: number): number {
  return buf[offset]! | (buf[offset + 1]! << 8);
}

export function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16)) + buf[offset + 3]! * 0x1000000;
}

/** Number of node pointers of a branch or leaf page whose mp_lower was validated. */
export function pageKeyCount(page: Uint8Array): number {
  return (readU16(page, PAGE_LOWER_OFFSET) - PAGE_HEADER_SIZE) >> 1;
}

/** Byte order of LMDB's default comparator (memcmp, then the shorter key first). */
export function compareKeyAt(key: Uint8Array, page: Uint8Array, offset: number, size: number): number {
  const n = key.length < size ? key.length : size;
  for (let i = 0; i < n; i++) {
    const d = key[i]! - page[offset + i]!;
    if (d !== 0) return d;
  }
  return key.length - size;
}

