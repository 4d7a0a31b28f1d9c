import { packageBuild } from '../../tools/tsup.shared';

// Shared build (ESM + CJS + .d.ts); see tools/tsup.shared.ts. `internal` is the subpath for imgstore's own packages.
export default packageBuild({ entry: ['src/index.ts', 'src/internal.ts'], splitting: true });
