// The fault and scale-out suites: each starts a private Kafka and object store and runs the real services
// through crashes and outages, one file at a time. `bash scripts/test.sh` runs them after the main suite;
// `bash scripts/test.sh --faults` runs them alone.
import { defineConfig } from 'vitest/config';
import { sharedConfig } from './vitest.config.js';

export default defineConfig({
  ...sharedConfig,
  test: {
    ...sharedConfig.test,
    include: ['test/faults/**/*.test.ts', 'test/scale-out/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 900_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
