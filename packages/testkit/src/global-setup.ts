// vitest global setup: finds the real Kafka broker and object store the integration tests use.
// KAFKA_BROKERS / S3_ENDPOINT win when set (scripts/test.sh sets them after infra/up.sh); otherwise, where a
// Docker engine answers, the same services start through testcontainers. Unit tests need neither.
import type { TestProject } from 'vitest/node';
import type { InfraEndpoints } from './containers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraEndpoints | null;
    infraProblem: string;
  }
}

const fromEnvironment = (): InfraEndpoints | undefined => {
  const brokers = process.env.KAFKA_BROKERS;
  const endpoint = process.env.S3_ENDPOINT;
  if (brokers === undefined || endpoint === undefined) return undefined;
  return {
    kafkaBrokers: brokers.split(',').map((broker) => broker.trim()),
    s3: {
      endpoint,
      region: process.env.S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'citycheck',
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'citycheck-local-secret',
    },
    duckdbExtensionDirectory: process.env.DUCKDB_EXTENSION_DIRECTORY,
  };
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = fromEnvironment();
  if (given !== undefined) {
    project.provide('infra', given);
    project.provide('infraProblem', '');
    return async () => {};
  }
  try {
    // Loaded only here: hosts that give KAFKA_BROKERS and S3_ENDPOINT never load testcontainers.
    const { startContainers } = await import('./containers.js');
    const started = await startContainers();
    project.provide('infra', started.endpoints);
    project.provide('infraProblem', '');
    return started.stop;
  } catch (error) {
    project.provide('infra', null);
    project.provide(
      'infraProblem',
      'integration tests need a Kafka broker and an S3-compatible store: run `bash infra/up.sh` and set ' +
        'KAFKA_BROKERS and S3_ENDPOINT (scripts/test.sh does both), or run where a Docker engine answers. ' +
        `Docker: ${error instanceof Error ? error.message : String(error)}`,
    );
    return async () => {};
  }
}
