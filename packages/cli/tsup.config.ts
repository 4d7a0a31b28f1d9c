import { packageBuild } from '../../tools/tsup.shared';

// Shared build, plus the executable entry for the `imgstore` binary.
export default packageBuild({ entry: ['src/index.ts', 'src/bin.ts'] });
