// The fault and scale-out suites: each starts a private Kafka and object store and runs the real services
// through crashes and outages, so they take minutes. Run with `bash scripts/test.sh --faults`.
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
