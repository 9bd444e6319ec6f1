// The real infrastructure endpoints found by the global setup, unique names so tests never share a topic,
// group or bucket, and polling waits.
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

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly what?: string;
}

/** Polls `probe` until it returns something other than undefined, or fails after the timeout. */
export const waitFor = async <T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' }: WaitOptions = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};
