import { StoreFormatError } from '@imgstore/core';

/**
 * A valid LMDB file using a feature this reader does not implement (sorted duplicates, integer or
 * reverse keys): imgstore never writes them, so for a store it means "not a store" (reason 'not-a-store').
 */
export class UnsupportedLmdbFeatureError extends StoreFormatError {
  /** The LMDB flag or page type, e.g. 'MDB_DUPSORT'. */
  readonly feature: string;
  constructor(path: string, feature: string, message: string) {
    super(path, 'not-a-store', message);
    this.feature = feature;
  }
}
