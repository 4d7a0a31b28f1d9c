/** What `imgstore verify` asks its checking process to do (as JSON in argv). */
export interface VerifyRequest {
  path: string;
  /** Check this many records picked at random with `seed`; null: every record and the store-wide counts. */
  sample: number | null;
  seed: number;
  /** Module file of the store's codec, when it is not built in (`--codec`). */
  codecModule: string | null;
}

/** Messages from the checking process to `imgstore verify`. */
export type VerifyMessage =
  | { type: 'opened'; records: number; checking: number }
  | { type: 'progress'; checked: number }
  | { type: 'problem'; index: number | null; reason: string }
  | { type: 'done'; checked: number }
  | { type: 'failed'; message: string; code: string | null };
