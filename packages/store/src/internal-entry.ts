/**
 * The URL of this package's built `internal` entry, in the folder of the bundle that runs this code
 * (dist/*.js → dist/internal.js, dist/*.cjs → dist/internal.cjs): worker threads import it to reopen a
 * store (see toSource). The build splits shared code into one chunk, so both entries share its state.
 */
export function internalEntryUrl(): string {
  return new URL(import.meta.url.endsWith('.cjs') ? './internal.cjs' : './internal.js', import.meta.url).href;
}
