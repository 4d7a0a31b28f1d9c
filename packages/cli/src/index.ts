// The CLI run from code. The conversion itself is @imgstore/convert.
export { createProgram, runCli } from './program.js';
export { parseSize } from './parse-size.js';
export type { SizeSpec } from './parse-size.js';
