import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig, redactConfig } from './index.js';

describe('readConfig', () => {
  it('uses the local-stack defaults when nothing is set', () => {
    const config = readConfig(['kafkaBrokers', 'ingestPort', 's3Bucket'], {});
    expect(config).toEqual({
      kafkaBrokers: ['127.0.0.1:9092'],
      ingestPort: 8080,
      s3Bucket: 'citycheck-lake',
    });
  });

  it('parses lists and integers from the environment', () => {
    const config = readConfig(['kafkaBrokers', 'ingestPort'], {
      KAFKA_BROKERS: 'a:1, b:2,',
      INGEST_PORT: '9999',
    });
    expect(config).toEqual({ kafkaBrokers: ['a:1', 'b:2'], ingestPort: 9999 });
  });

  it('reports every invalid variable at once and never echoes a secret', () => {
    let caught: unknown;
    try {
      readConfig(['ingestPort', 'topicPartitions', 's3SecretAccessKey'], {
        INGEST_PORT: '70000',
        TOPIC_PARTITIONS: 'six',
        S3_SECRET_ACCESS_KEY: '',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('INGEST_PORT="70000"');
    expect(problems[1]).toContain('TOPIC_PARTITIONS="six"');
    expect(problems[2]).toBe('S3_SECRET_ACCESS_KEY=[redacted]: must not be empty');
  });

  it('redacts secrets for logging', () => {
    const config = readConfig(['s3AccessKeyId', 's3SecretAccessKey', 's3Bucket'], {
      S3_SECRET_ACCESS_KEY: 'hunter2',
    });
    expect(redactConfig(config)).toEqual({
      s3AccessKeyId: '[redacted]',
      s3SecretAccessKey: '[redacted]',
      s3Bucket: 'citycheck-lake',
    });
  });
});
