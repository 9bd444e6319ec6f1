// One vitest configuration for the whole tree: unit tests beside the code, integration tests
// (`*.integration.test.ts`) against the real Kafka, object store and DuckDB, end-to-end tests in test/.
// The fault and scale-out suites (private stacks, outages, killed services) have their own configuration,
// vitest.faults.config.ts; `bash scripts/test.sh` runs both, `--quick` this one only.
import { defineConfig } from 'vitest/config';

export const sharedConfig = {
  // Workspace packages resolve to their TypeScript sources (the `source` export condition), so tests never
  // run against a stale build.
  resolve: { conditions: ['source', 'node', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/faults/**', 'test/scale-out/**'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
} satisfies Parameters<typeof defineConfig>[0];

export default defineConfig(sharedConfig);
