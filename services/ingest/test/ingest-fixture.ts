// Shared set-up of the ingest integration tests: fresh topics on the real broker, credentials issued through
// credentials.v1 and followed as in production, the submission index followed from its four topics, a reviews
// topic, and an app factory over them. Each test file gets its own topics, so files run in parallel without
// sharing state.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  CredentialStore,
  ensureCredentialsTopic,
  followCredentials,
  type IssuedCredential,
  issueCredential,
  revokeCredential,
} from '@citycheck/credentials';
import { openApiValidator } from '@citycheck/http';
import {
  createReliableProducer,
  type Kafka,
  type Producer,
  sendJson,
  type TopicFollower,
} from '@citycheck/kafka';
import { createObjectStore } from '@citycheck/lake';
import { createLogger, type Logger } from '@citycheck/logging';
import { ensureRectificationTopic, RectificationBook } from '@citycheck/rectification';
import { ensureReviewsTopic, ReviewBook } from '@citycheck/reviews';
import { createTestTopics, realInfra, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll } from 'vitest';
import { buildIngestApp, type IngestAppOptions } from '../src/app.js';
import { followSubmissionIndex, type IndexTopics } from '../src/index-follower.js';
import { SubmissionIndex } from '../src/submission-index.js';

export { testSubmission as submission } from '@citycheck/testkit';

/** Collects every log line written, to assert on what was (not) logged. */
export const captureLogs = (): { logger: Logger; text: () => string } => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ service: 'ingest-test', level: 'trace', destination }),
    text: () => lines.join(''),
  };
};

export interface IngestFixture {
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly topics: IndexTopics & {
    readonly credentials: string;
    readonly reviews: string;
    readonly rectification: string;
  };
  readonly index: SubmissionIndex;
  readonly credentials: CredentialStore;
  issue(cityCode?: string): Promise<IssuedCredential>;
  revoke(id: string): Promise<void>;
  /** Writes records as validate and aggregate would, for the index to pick up. */
  produce(topic: string, key: string, value: unknown): Promise<void>;
  build(options?: Partial<IngestAppOptions>): ReturnType<typeof buildIngestApp>;
  /** An app built with these options, listening on a free port of 127.0.0.1; its URL. */
  serve(options?: Partial<IngestAppOptions>): Promise<string>;
  /** A second, independent view (as in another instance, or this one after a restart), loaded from Kafka. */
  followAgain(): Promise<{ index: SubmissionIndex; credentials: CredentialStore; stop: () => Promise<void> }>;
  close(): Promise<void>;
}

const silent = createLogger({ service: 'ingest-test', level: 'silent' });

const follow = async (kafka: Kafka, topics: IngestFixture['topics']) => {
  const index = new SubmissionIndex();
  const credentials = new CredentialStore();
  const followers: TopicFollower[] = [
    followSubmissionIndex({ kafka, index, topics, groupIdPrefix: uniqueName('index') }),
    followCredentials({
      kafka,
      store: credentials,
      topic: topics.credentials,
      groupIdPrefix: uniqueName('credentials'),
    }),
  ];
  await Promise.all(followers.map((follower) => follower.start()));
  await Promise.all(followers.map((follower) => follower.caughtUp()));
  return { index, credentials, stop: async () => void (await Promise.all(followers.map((f) => f.stop()))) };
};

export const startIngestFixture = async (): Promise<IngestFixture> => {
  const kafka = testKafka();
  const topics = {
    received: uniqueName('received'),
    validated: uniqueName('validated'),
    rejected: uniqueName('rejected'),
    committed: uniqueName('committed'),
    credentials: uniqueName('credentials'),
    reviews: uniqueName('reviews'),
    rectification: uniqueName('rectification'),
  };
  await createTestTopics(kafka, [topics.received, topics.validated, topics.rejected, topics.committed]);
  await ensureCredentialsTopic(kafka, { topic: topics.credentials });
  await ensureReviewsTopic(kafka, { topic: topics.reviews });
  await ensureRectificationTopic(kafka, { topic: topics.rectification });
  // A client on a bucket nobody creates, so the rectification routes are served as in production; a test that
  // stores evidence passes a store of its own (createTestStore). Nothing connects until a request is made.
  const evidenceStore = createObjectStore({ ...realInfra().s3, bucket: uniqueName('evidence') });
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const view = await follow(kafka, topics);
  const adminStore = new CredentialStore();
  const apps: ReturnType<typeof buildIngestApp>[] = [];
  const admin = { producer, store: adminStore, topic: topics.credentials };

  const build: IngestFixture['build'] = (options = {}) => {
    const app = buildIngestApp({
      producer,
      logger: silent,
      authenticator: view.credentials,
      index: view.index,
      receivedTopic: topics.received,
      // As in production, with the review routes and the lock (an empty book locks nothing).
      reviews: new ReviewBook(),
      reviewsTopic: topics.reviews,
      // And the rectification routes.
      rectification: new RectificationBook(),
      rectificationTopic: topics.rectification,
      evidenceStore,
      receivedPartitionCount: async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          return (await admin.fetchTopicMetadata({ topics: [topics.received] })).topics[0]?.partitions.length;
        } finally {
          await admin.disconnect();
        }
      },
      ...options,
    });
    apps.push(app);
    return app;
  };

  return {
    kafka,
    producer,
    topics,
    index: view.index,
    credentials: view.credentials,
    async issue(cityCode = '110100') {
      const issued = await issueCredential(admin, { role: 'city', cityCode, name: `test ${cityCode}` });
      // Wait until the followed store has it, as ingest would.
      await waitFor(() => (view.credentials.authenticate(issued.token).ok ? true : undefined), {
        what: 'the issued credential to reach the followed store',
      });
      return issued;
    },
    async revoke(id) {
      await revokeCredential(admin, id);
    },
    async produce(topic, key, value) {
      await sendJson(producer, topic, [{ key, value }]);
    },
    build,
    async serve(options = {}) {
      const app = build(options);
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    followAgain: () => follow(kafka, topics),
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await view.stop();
      await producer.disconnect();
      evidenceStore.close();
    },
  };
};

/** A test file's fixture, app and city tokens: there once the file's tests run (see useIngestApp). */
export interface IngestSuite<City extends string> {
  readonly fixture: IngestFixture;
  readonly app: ReturnType<IngestFixture['build']>;
  /** The token of a city credential, by the name `cities` gave it. */
  readonly tokens: Readonly<Record<City, string>>;
}

/**
 * The set-up of an ingest integration test file: before its tests a fresh fixture, a city credential for
 * each of `cities` (a name for each city code, issued in order) and one app built with `options`; after
 * them all of it closed.
 */
export const useIngestApp = <City extends string>(
  cities: Readonly<Record<City, string>>,
  options: Partial<IngestAppOptions> = {},
): IngestSuite<City> => {
  const suite = {} as { -readonly [K in keyof IngestSuite<City>]: IngestSuite<City>[K] };
  beforeAll(async () => {
    suite.fixture = await startIngestFixture();
    const tokens = {} as Record<City, string>;
    for (const [name, cityCode] of Object.entries(cities) as [City, string][]) {
      tokens[name] = (await suite.fixture.issue(cityCode)).token;
    }
    suite.tokens = tokens;
    suite.app = suite.fixture.build(options);
  });
  afterAll(async () => {
    // Undefined when the start failed: that failure is the one to report.
    if (suite.fixture !== undefined) await suite.fixture.close();
  });
  return suite;
};

/** Problems (none: conforms) of a response body against a schema of the generated OpenAPI document (the
 * checked-in copy, which openapi.test.ts holds equal to what the routes give). */
export const openapiProblems = openApiValidator(
  JSON.parse(readFileSync(new URL('../../../schemas/openapi/ingest.openapi.json', import.meta.url), 'utf8')),
);
