import { packageBuild } from '../../tools/tsup.shared';

// Shared build, plus the worker-thread entry that the DataLoader starts by file URL.
export default packageBuild({ entry: ['src/index.ts', 'src/batch-worker.ts'] });
