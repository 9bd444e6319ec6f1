// The environment for the built services on the shared broker and object store, in a namespace of their
// own (topics, consumer groups, bucket), for tests that kill, restart or scale them (@citycheck/testkit).
import { realInfra } from '@citycheck/testkit';

export interface Namespace {
  readonly topicNamespace: string;
  readonly bucket: string;
  readonly env: Readonly<Record<string, string>>;
}

export const namespaceEnv = (
  topicNamespace: string,
  bucket: string,
  extra: Record<string, string> = {},
): Namespace => {
  const { kafkaBrokers, s3 } = realInfra();
  return {
    topicNamespace,
    bucket,
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: bucket,
      TOPIC_NAMESPACE: topicNamespace,
      VALIDATE_GROUP_ID: `${topicNamespace}-validate`,
      AGGREGATE_GROUP_ID: `${topicNamespace}-aggregate`,
      TOPIC_PARTITIONS: '3',
      ROLLUP_DEBOUNCE_MS: '200',
      // Any free port for the workers' /metrics servers, so instances never collide.
      VALIDATE_OPS_PORT: '0',
      AGGREGATE_OPS_PORT: '0',
      LOG_LEVEL: 'info',
      ...extra,
    },
  };
};
