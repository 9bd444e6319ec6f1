// The records a fresh stack needs before cities push to it: the pipeline topics, the designated cycle and
// credentials. The demo designates its cycle with these; the tests and the benchmark prepare their private
// stacks (started by @citycheck/testkit) with them.
import {
  CredentialStore,
  ensureCredentialsTopic,
  issueCredential,
  type RoleName,
} from '@citycheck/credentials';
import {
  CycleBook,
  cyclesTopic,
  designateCurrentCycle,
  ensureCyclesTopic,
  loadCycles,
  publishCyclesRecord,
} from '@citycheck/cycles';
import { createKafka, createReliableProducer, ensureTopics, pipelineTopicSpecs } from '@citycheck/kafka';

/**
 * Creates the pipeline topics (ensureTopics waits until every new partition answers offset requests). The
 * services create missing topics themselves, but a service that creates them and reads their offsets at
 * once can meet NOT_LEADER_FOR_PARTITION on a fresh broker (ingest then exits), so a fresh stack makes them first.
 */
export const preparePipelineTopics = async (
  kafkaBrokers: string,
  { partitions = 6, namespace = '' }: { partitions?: number; namespace?: string } = {},
): Promise<void> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  await ensureCyclesTopic(kafka, { topic: cyclesTopic(namespace) });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const specs = pipelineTopicSpecs(partitions, 1, namespace);
    await ensureTopics(admin, specs);
  } finally {
    await admin.disconnect();
  }
};

/**
 * Designates the current cycle on the stack's cycles.v1, as `citycheck admin cycles current <cycle>` does,
 * unless the operators already designated one (a second demo run keeps their choice).
 */
export const designateCycleIfNone = async (
  kafkaBrokers: string,
  cycle: number,
  { namespace = '', by = 'citycheck demo' }: { namespace?: string; by?: string } = {},
): Promise<number> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  const topic = cyclesTopic(namespace);
  const book = new CycleBook();
  const follower = await loadCycles({ kafka, book, topic, groupIdPrefix: 'citycheck-stack-cycles' });
  await follower.stop();
  if (book.designated !== undefined) return book.designated.cycle;
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    await publishCyclesRecord(
      producer,
      designateCurrentCycle(book, cycle, { by, at: new Date(), reason: 'the sample cycle' }),
      topic,
    );
  } finally {
    await producer.disconnect();
  }
  return cycle;
};

/** Issues one city credential per city on the stack's credentials.v1; returns city code -> bearer token. */
export const issueCityTokens = async (
  kafkaBrokers: string,
  cities: readonly string[],
): Promise<Map<string, string>> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const store = new CredentialStore();
  const tokens = new Map<string, string>();
  try {
    for (const cityCode of cities) {
      const issued = await issueCredential(
        { producer, store },
        { role: 'city', cityCode, name: `load client ${cityCode}` },
      );
      tokens.set(cityCode, issued.token);
    }
  } finally {
    await producer.disconnect();
  }
  return tokens;
};

/** One analyst credential (the status page and the SQL door need one), issued on credentials.v1. */
export const issueAnalystToken = async (kafkaBrokers: string, role: RoleName): Promise<string> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    return (
      await issueCredential({ producer, store: new CredentialStore() }, { role, name: `stack ${role}` })
    ).token;
  } finally {
    await producer.disconnect();
  }
};
