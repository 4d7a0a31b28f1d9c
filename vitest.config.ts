import { defineConfig } from 'vitest/config';
import PlainSummaryReporter from './tools/plain-summary-reporter.ts';
import { projects } from './vitest.workspace.ts';

export default defineConfig({
  test: {
    projects,
    reporters: ['default', new PlainSummaryReporter()],
  },
});
