import { defineProject } from 'vitest/config';

// Repository-wide checks (package layering, install-only-the-reader, Python interop).
export default defineProject({
  test: { name: 'repo', include: ['test/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 },
});
