// The real infrastructure endpoints found by the global setup, and unique names so tests never share a
// topic, group or bucket.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { InfraEndpoints } from './containers.js';

/** The running Kafka and object store; fails the calling test with instructions when there are none. */
export const realInfra = (): InfraEndpoints => {
  const infra = inject('infra');
  if (infra === null || infra === undefined) throw new Error(inject('infraProblem'));
  return infra;
};

/** A name no other test or run uses, valid as a Kafka topic, consumer group or S3 bucket. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${randomUUID().slice(0, 8)}-${Date.now().toString(36)}`.toLowerCase();
