import { packageBuild } from '../../tools/tsup.shared';

// Shared build (ESM + CJS + .d.ts); see tools/tsup.shared.ts.
export default packageBuild();
