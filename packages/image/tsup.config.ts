import { packageBuild } from '../../tools/tsup.shared';

// Shared build, plus the worker-thread entry that DecodePool starts by file URL.
export default packageBuild({ entry: ['src/index.ts', 'src/decode-worker.ts'] });
