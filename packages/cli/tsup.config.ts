import { packageBuild } from '../../tools/tsup.shared';

// Shared build, plus the executable entry for the `imgstore` binary and the process `verify` reads in.
export default packageBuild({ entry: ['src/index.ts', 'src/bin.ts', 'src/verify-child.ts'] });
