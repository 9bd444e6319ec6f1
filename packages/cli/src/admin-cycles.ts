// `citycheck admin cycles open|close|reopen|current|list`: operations' side of examination cycles. Talks to
// Kafka directly (whoever may write cycles.v1 is an operator), reads the topic to its end first so every action
// builds on the latest record, and writes the new record with who, when and why in its audit trail. Ingest,
// validate, aggregate and the query service follow the topic, so an action takes effect within seconds.
import {
  type Actor,
  CycleBook,
  closeCycle,
  cyclesTopic,
  designateCurrentCycle,
  ensureCyclesTopic,
  followCycles,
  type OperatedCycleSettings,
  openCycle,
  publishCyclesRecord,
  reopenCycle,
} from '@citycheck/cycles';
import { clientRetries, createKafka, createReliableProducer } from '@citycheck/kafka';
import { formatTextTable } from './text-table.js';

export interface CyclesAdminOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly replicationFactor: number;
  /** cycles.v1 of the namespace (see cyclesTopic). */
  readonly topic?: string;
}

export type CyclesAdminCommand =
  | { readonly action: 'open'; readonly settings: OperatedCycleSettings; readonly actor: Actor }
  | { readonly action: 'close'; readonly cycle: number; readonly actor: Actor; readonly closesAt?: string }
  | { readonly action: 'reopen'; readonly cycle: number; readonly actor: Actor; readonly closesAt?: string }
  | { readonly action: 'current'; readonly cycle?: number; readonly actor: Actor }
  | { readonly action: 'list' };

export interface CyclesAdminResult {
  /** The book after the action. */
  readonly book: CycleBook;
  /** The cycle acted on, or the current one. */
  readonly cycle?: number;
}

export const runCyclesAdmin = async (
  options: CyclesAdminOptions,
  command: CyclesAdminCommand,
): Promise<CyclesAdminResult> => {
  const topic = options.topic ?? cyclesTopic();
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: `${options.clientId}-admin`,
    retries: clientRetries.tool,
  });
  await ensureCyclesTopic(kafka, { topic, replicationFactor: options.replicationFactor });
  const book = new CycleBook();
  const follower = followCycles({ kafka, book, topic, groupIdPrefix: 'citycheck-admin-cycles' });
  await follower.start();
  try {
    await follower.caughtUp();
  } finally {
    await follower.stop();
  }
  if (command.action === 'list') return { book };
  if (command.action === 'current' && command.cycle === undefined) {
    const cycle = book.currentCycle();
    return cycle === undefined ? { book } : { book, cycle };
  }
  const record =
    command.action === 'open'
      ? openCycle(book, command.settings, command.actor)
      : command.action === 'close'
        ? closeCycle(book, command.cycle, command.actor, command.closesAt)
        : command.action === 'reopen'
          ? reopenCycle(book, command.cycle, command.actor, command.closesAt)
          : designateCurrentCycle(book, command.cycle as number, command.actor);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    await publishCyclesRecord(producer, record, topic);
  } finally {
    await producer.disconnect();
  }
  const key = record.kind === 'current' ? 'current' : `cycle-${record.settings.cycle}`;
  book.apply(key, record);
  return { book, cycle: record.kind === 'current' ? record.cycle : record.settings.cycle };
};

/** A table of the cycles in force for people, the current one marked. */
export const formatCycleList = (book: CycleBook, now: Date = new Date()): string => {
  const current = book.currentCycle(now);
  const rows = [
    ['CYCLE', 'CATALOGUE', 'OPENS', 'DEADLINE', 'CLOSES', 'STATE', 'SOURCE', 'LAST ACTION'],
    ...book.settings().map((settings) => {
      const last = book.record(settings.cycle)?.actions.at(-1);
      return [
        `${settings.cycle}${settings.cycle === current ? ' *' : ''}`,
        settings.catalogueVersion,
        settings.opensAt,
        settings.deadline,
        settings.closesAt ?? '-',
        book.window(settings.cycle, now).state,
        book.record(settings.cycle) === undefined ? 'file' : 'operator',
        last === undefined
          ? '-'
          : `${last.action} by ${last.by} at ${last.at}${last.reason === undefined ? '' : `: ${last.reason}`}`,
      ];
    }),
  ];
  return [
    ...formatTextTable(rows),
    `* current${book.designated === undefined ? ' (no designation yet: the latest cycle opened)' : ''}`,
  ].join('\n');
};
