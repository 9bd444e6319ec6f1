// The S3-compatible object store behind the lake: a client bound to one bucket whose writes retry with
// capped exponential backoff for as long as the caller allows, so an outage delays data and never drops it.
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CitycheckError, retryWithBackoff } from '@citycheck/errors';

export interface ObjectStoreConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
}

export interface RetryPolicy {
  /** Give up after this long; `Infinity` keeps trying until `signal` aborts. */
  readonly maxElapsedMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
}

const defaultRetry: RetryPolicy = { maxElapsedMs: 60_000, initialDelayMs: 100, maxDelayMs: 5_000 };

/**
 * Runs `operation` until it succeeds, backing off exponentially with full jitter (a pause drawn between 0
 * and a ceiling that doubles from `initialDelayMs` to `maxDelayMs`); rethrows the last error after the
 * deadline, and a permanent one at once.
 */
export const withRetry = async <T>(
  operation: () => Promise<T>,
  policy: Partial<RetryPolicy> = {},
): Promise<T> => {
  const { maxElapsedMs, initialDelayMs, maxDelayMs, signal, onRetry } = { ...defaultRetry, ...policy };
  return retryWithBackoff(operation, {
    backoff: { initialDelayMs, maxDelayMs },
    maxElapsedMs,
    retriable: (error) => !isPermanent(error),
    ...(signal === undefined ? {} : { signal }),
    ...(onRetry === undefined
      ? {}
      : { onRetry: (error, delayMs, attempt) => onRetry(attempt, error, delayMs) }),
  });
};

/** Errors retrying cannot fix: bad credentials, a missing bucket, a malformed request. */
const isPermanent = (error: unknown): boolean => {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
};

export interface ObjectStore {
  readonly bucket: string;
  readonly client: S3Client;
  readonly config: ObjectStoreConfig;
  put(
    key: string,
    body: Uint8Array | string,
    contentType: string,
    retry?: Partial<RetryPolicy>,
  ): Promise<void>;
  /** The object's bytes, or undefined when there is no such object. */
  get(key: string, retry?: Partial<RetryPolicy>): Promise<Uint8Array | undefined>;
  /** Every key under `prefix`, in the store's (lexicographic) order. */
  list(prefix: string, options?: { startAfter?: string }): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  ensureBucket(): Promise<void>;
  /** True when the store answers for the bucket; for readiness checks. */
  ping(): Promise<boolean>;
  close(): void;
}

export const createObjectStore = (config: ObjectStoreConfig): ObjectStore => {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // The SDK's own retries are short; `withRetry` covers outages that last longer.
    maxAttempts: 2,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = config.bucket;

  const unavailable = (what: string, error: unknown): CitycheckError =>
    new CitycheckError('object_store_unavailable', `object store: ${what} failed`, {
      cause: error,
      retryAfterSeconds: 5,
    });

  return {
    bucket,
    client,
    config,
    async put(key, body, contentType, retry) {
      try {
        await withRetry(
          () =>
            client.send(
              new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
            ),
          retry,
        );
      } catch (error) {
        throw unavailable(`put ${key}`, error);
      }
    },
    async get(key, retry) {
      try {
        return await withRetry(async () => {
          try {
            const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            return response.Body === undefined
              ? new Uint8Array()
              : await response.Body.transformToByteArray();
          } catch (error) {
            if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
            throw error;
          }
        }, retry);
      } catch (error) {
        throw unavailable(`get ${key}`, error);
      }
    },
    async list(prefix, options = {}) {
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await withRetry(() =>
            client.send(
              new ListObjectsV2Command({
                Bucket: bucket,
                Prefix: prefix,
                ...(token === undefined ? {} : { ContinuationToken: token }),
                ...(options.startAfter === undefined || token !== undefined
                  ? {}
                  : { StartAfter: options.startAfter }),
              }),
            ),
          );
          for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (error) {
        throw unavailable(`list ${prefix}`, error);
      }
      return keys.sort();
    },
    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        try {
          await withRetry(() =>
            client.send(
              new DeleteObjectsCommand({
                Bucket: bucket,
                Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
              }),
            ),
          );
        } catch (error) {
          throw unavailable('delete', error);
        }
      }
    },
    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch {
        // fall through: create it
      }
      try {
        await withRetry(() => client.send(new CreateBucketCommand({ Bucket: bucket })));
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
          throw unavailable('create bucket', error);
      }
    },
    async ping() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return true;
      } catch {
        return false;
      }
    },
    close() {
      client.destroy();
    },
  };
};
