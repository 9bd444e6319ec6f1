// Starts the same Kafka (KRaft) and S3Proxy services as infra/ through testcontainers, for hosts that
// have a Docker engine. The images and settings mirror infra/docker-compose.yml.
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';

export interface S3Endpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface InfraEndpoints {
  readonly kafkaBrokers: readonly string[];
  readonly s3: S3Endpoint;
  readonly duckdbExtensionDirectory: string | undefined;
}

export const kafkaImage = 'apache/kafka:4.1.1';
export const s3ProxyImage = 'andrewgaul/s3proxy:4.1.0';

export const startContainers = async (): Promise<{
  endpoints: InfraEndpoints;
  stop: () => Promise<void>;
}> => {
  const started: StartedTestContainer[] = [];
  try {
    // A fixed host port keeps the advertised listener simple: clients reach the broker at what it advertises.
    const kafkaPort = 19092;
    const kafka = await new GenericContainer(kafkaImage)
      .withExposedPorts({ container: kafkaPort, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${kafkaPort},CONTROLLER://0.0.0.0:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    started.push(kafka);
    const s3 = await new GenericContainer(s3ProxyImage)
      .withExposedPorts(80)
      .withEnvironment({
        S3PROXY_AUTHORIZATION: 'aws-v2-or-v4',
        S3PROXY_IDENTITY: 'citycheck',
        S3PROXY_CREDENTIAL: 'citycheck-local-secret',
        JCLOUDS_PROVIDER: 'filesystem',
        JCLOUDS_FILESYSTEM_BASEDIR: '/data',
      })
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    started.push(s3);
    return {
      endpoints: {
        kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
        s3: {
          endpoint: `http://${s3.getHost()}:${s3.getMappedPort(80)}`,
          region: 'us-east-1',
          accessKeyId: 'citycheck',
          secretAccessKey: 'citycheck-local-secret',
        },
        duckdbExtensionDirectory: process.env.DUCKDB_EXTENSION_DIRECTORY,
      },
      stop: async () => {
        await Promise.all(started.map((container) => container.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((container) => container.stop().catch(() => undefined)));
    throw error;
  }
};
