import { StoreDamagedError, expectKnownKeys, expectPositiveInteger, invalidOption, isValidIndex, isVariableShape, shapeByteLength } from '@imgstore/core';
import { openStore, type OpenStoreOptions, type StoreReader } from './store-reader.js';
import { appendInProgress } from './writer-state.js';

/** One damaged record, or (index null) a store-wide inconsistency such as a record count that disagrees. */
export interface StoreProblem {
  index: number | null;
  reason: string;
}

export interface VerifyStoreOptions extends Omit<OpenStoreOptions, 'verify'> {
  /** Records to check, e.g. a random sample. Default: every record, plus the store-wide counts. */
  indices?: ArrayLike<number>;
  /** Called every `progressEvery` records and at the end, with how many records were checked. */
  onProgress?: (checked: number, total: number) => void;
  /** Called for each problem as it is found (a report also lists them all). */
  onProblem?: (problem: StoreProblem) => void;
  /** A positive integer; default 1024. */
  progressEvery?: number;
}

export interface VerifyReport {
  path: string;
  /** Records in the store, by its header. */
  records: number;
  /** Records checked. */
  checked: number;
  problems: StoreProblem[];
}

const KNOWN = ['codecs', 'allowIncomplete', 'engine', 'indices', 'onProgress', 'onProblem', 'progressEvery'];

/**
 * Reads and checks records of a store: checksum, decoding, shape and label against the header. With no
 * `indices`, every record is checked and so are the store-wide counts (no record missing or extra, the
 * reject count). Opening errors (not a store, damaged data file, unknown codec) are thrown as by
 * `openStore`; damaged records are reported, not thrown. Yields to the event loop between slices, so
 * progress can be shown (and sent from a child process) while it runs.
 */
export async function verifyStore(path: string, options: VerifyStoreOptions = {}): Promise<VerifyReport> {
  expectKnownKeys('', options, KNOWN);
  const { indices, onProgress, onProblem, progressEvery: every, ...openOptions } = options;
  // 0 would never report and never yield to the event loop: a positive count is required.
  const progressEvery = expectPositiveInteger('progressEvery', every ?? 1024);
  const store = openStore(path, openOptions);
  try {
    const total = indices ? indices.length : store.length;
    const problems: StoreProblem[] = [];
    const report = (problem: StoreProblem) => {
      problems.push(problem);
      onProblem?.(problem);
    };
    if (indices) {
      for (let k = 0; k < indices.length; k++) {
        if (!isValidIndex(indices[k]!, store.length)) throw invalidOption('indices', `indices below ${store.length}`, indices[k]);
      }
    } else {
      for (const problem of countProblems(store)) report(problem);
    }
    const variable = isVariableShape(store.header.shape);
    const scratch = new Uint8Array(variable ? 0 : shapeByteLength(store.header.shape));
    for (let k = 0; k < total; k++) {
      const index = indices ? indices[k]! : k;
      try {
        // Variable-size records are decoded whole (get); fixed ones into one reused buffer.
        if (variable) store.get(index);
        else store.readInto(index, scratch, 0);
      } catch (error) {
        if (!(error instanceof StoreDamagedError)) throw error;
        report({ index, reason: error.message });
      }
      if ((k + 1) % progressEvery === 0) {
        onProgress?.(k + 1, total);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    onProgress?.(total, total);
    return { path, records: store.length, checked: total, problems };
  } finally {
    await store.close();
  }
}

function countProblems(store: StoreReader): StoreProblem[] {
  const { records, rejects } = store.countEntries();
  const problems: StoreProblem[] = [];
  // An unfinished append's records and rejects (past the header's counts) are not the store's yet.
  if (records >= store.length && rejects >= store.header.rejected && (records > store.length || rejects > store.header.rejected) && appendInProgress(store.path)) {
    return problems;
  }
  if (records !== store.length) {
    problems.push({ index: null, reason: `the header counts ${store.length} records but the store holds ${records}` });
  }
  if (rejects !== store.header.rejected) {
    problems.push({ index: null, reason: `the header counts ${store.header.rejected} rejects but the store lists ${rejects}` });
  }
  return problems;
}
