import { readPgno, readU16, readU32 } from './page.js';

/** MDB_db: md_pad u32 @0, md_flags u16 @4, md_depth u16 @6, then u64 branch/leaf/overflow page counts, md_entries, md_root. */
export const DATABASE_RECORD_SIZE = 48;

/** Deepest tree this reader follows: LMDB trees of any real file are far shallower (depth ~ log_100 of entries). */
export const MAX_TREE_DEPTH = 64;

/** One database's MDB_db record, from a meta page (main DB) or an F_SUBDATA value of the main DB (named DB). */
export interface DatabaseRecord {
  /** md_flags: MDB_DUPSORT, MDB_INTEGERKEY, ... */
  flags: number;
  /** Levels of the tree, leaves included; 0 when empty. */
  depth: number;
  branchPages: number;
  leafPages: number;
  overflowPages: number;
  /** md_entries; -1 when the field is beyond 2^53 (damaged). */
  entries: number;
  /** Root page number; null for an empty database (P_INVALID), -1 for a page number beyond 2^53. */
  root: number | null;
}

export function parseDatabaseRecord(buf: Uint8Array, offset: number): DatabaseRecord {
  return {
    flags: readU16(buf, offset + 4),
    depth: readU16(buf, offset + 6),
    branchPages: readPgno(buf, offset + 8),
    leafPages: readPgno(buf, offset + 16),
    overflowPages: readPgno(buf, offset + 24),
    entries: readPgno(buf, offset + 32),
    root: isAllOnes(buf, offset + 40) ? null : readPgno(buf, offset + 40),
  };
}

/** What is wrong with a record whose tree must lie in pages 2 … lastPage, or null. */
export function databaseRecordProblem(record: DatabaseRecord, lastPage: number): string | null {
  if (record.entries < 0) return 'its entry count is out of range';
  if (record.root === null) {
    if (record.depth !== 0 || record.entries !== 0) {
      return `it has no root page but depth ${record.depth} and ${record.entries} entries`;
    }
    return null;
  }
  if (record.root < 2 || record.root > lastPage) return `its root page ${record.root} is outside pages 2 to ${lastPage}`;
  if (record.depth < 1 || record.depth > MAX_TREE_DEPTH) return `its tree depth ${record.depth} is outside 1 to ${MAX_TREE_DEPTH}`;
  return null;
}

function isAllOnes(buf: Uint8Array, offset: number): boolean {
  return readU32(buf, offset) === 0xffffffff && readU32(buf, offset + 4) === 0xffffffff;
}
