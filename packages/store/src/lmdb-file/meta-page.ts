import { LMDB_MAGIC, LMDB_V1_MAGIC_OFFSET } from '@imgstore/core';
import { DATABASE_RECORD_SIZE, parseDatabaseRecord, type DatabaseRecord } from './database-record.js';
import { P_META, PAGE_FLAGS_OFFSET, PAGE_HEADER_SIZE, readPgno, readU16, readU32 } from './page.js';

// MDB_meta after the 16-byte page header (same offsets as ../lmdb-data-format.ts): mm_magic @16,
// mm_version @20, mm_address @24, mm_mapsize @32, mm_dbs[FREE_DBI] @40 (its md_pad is the page size),
// mm_dbs[MAIN_DBI] @88, mm_last_pg @136, mm_txnid @144.
const META_VERSION_OFFSET = LMDB_V1_MAGIC_OFFSET + 4;
const META_FREE_DB_OFFSET = PAGE_HEADER_SIZE + 24;
const META_PAGE_SIZE_OFFSET = META_FREE_DB_OFFSET;
const META_MAIN_DB_OFFSET = META_FREE_DB_OFFSET + DATABASE_RECORD_SIZE;
const META_LAST_PAGE_OFFSET = META_MAIN_DB_OFFSET + DATABASE_RECORD_SIZE;
const META_TXNID_OFFSET = META_LAST_PAGE_OFFSET + 8;
/** Bytes of a meta page this reader looks at. */
export const META_BYTES = META_TXNID_OFFSET + 8;

export const LMDB_DATA_VERSION = 1;
export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65536;

/** A structurally valid meta page. */
export interface MetaPage {
  /** 0 or 1. */
  pgno: number;
  pageSize: number;
  lastPage: number;
  txnid: number;
  main: DatabaseRecord;
}

export function hasLmdbMagic(page: Uint8Array): boolean {
  return page.length >= META_BYTES && readU32(page, LMDB_V1_MAGIC_OFFSET) === LMDB_MAGIC;
}

/** Page size a meta page claims, for finding the second meta page. */
export function metaPageSize(page: Uint8Array): number {
  return readU32(page, META_PAGE_SIZE_OFFSET);
}

export function isValidPageSize(size: number): boolean {
  return size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && (size & (size - 1)) === 0;
}

/** Parses meta page `pgno` (0 or 1) from its first META_BYTES bytes; a string says why it is not valid. */
export function parseMetaPage(page: Uint8Array, pgno: number): MetaPage | string {
  if (page.length < META_BYTES) return 'it is cut short';
  if (!hasLmdbMagic(page)) return 'it has no LMDB magic';
  const version = readU32(page, META_VERSION_OFFSET);
  if (version !== LMDB_DATA_VERSION) return `its data format version is ${version}, not ${LMDB_DATA_VERSION}`;
  if ((readU16(page, PAGE_FLAGS_OFFSET) & P_META) === 0) return 'it is not flagged as a meta page';
  if (readPgno(page, 0) !== pgno) return `it is numbered ${readPgno(page, 0)}`;
  const pageSize = metaPageSize(page);
  if (!isValidPageSize(pageSize)) return `its page size ${pageSize} is not a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}`;
  const lastPage = readPgno(page, META_LAST_PAGE_OFFSET);
  if (lastPage < 1) return `its last page number is out of range`;
  const txnid = readPgno(page, META_TXNID_OFFSET);
  if (txnid < 0) return 'its transaction id is out of range';
  return { pgno, pageSize, lastPage, txnid, main: parseDatabaseRecord(page, META_MAIN_DB_OFFSET) };
}
