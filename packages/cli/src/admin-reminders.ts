// `citycheck admin reminders`: the cities to remind before a cycle's deadline (not reported, or reporting fewer
// of their communities than a threshold), each with the contacts recorded on its city credentials.
import type { CredentialContact, CredentialRecord } from '@citycheck/credentials';
import { CycleAdminError, type CycleBook } from '@citycheck/cycles';
import {
  type DivisionRegistry,
  expectedCitiesOf,
  expectedCommunitiesOf,
  loadDivisionRegistry,
} from '@citycheck/divisions';
import { type LakeDatabaseConfig, openLakeDatabase, rollupObjectKey, s3Url } from '@citycheck/lake';
import { type AdminOptions, runCredentialsAdmin } from './admin-credentials.js';
import { type CyclesAdminOptions, runCyclesAdmin } from './admin-cycles.js';
import { formatTextTable } from './text-table.js';

/** A city's row of the lake's completeness view, as far as reminders need it. */
export interface CityReporting {
  readonly cityCode: string;
  readonly reported: boolean;
  readonly communitiesExpected: number;
  readonly communitiesReported: number;
}

export interface ReminderContact extends CredentialContact {
  /** The credential the contact is recorded on, and who holds it. */
  readonly credentialId: string;
  readonly credentialName: string;
}

export interface Reminder {
  readonly cityCode: string;
  readonly name: string;
  readonly reported: boolean;
  readonly communitiesReported: number;
  readonly communitiesExpected: number;
  /** communitiesReported / communitiesExpected; null when the registry expects no community of the city. */
  readonly coverage: number | null;
  /** Contacts of the city's active credentials; empty when none is recorded (say so to the operator). */
  readonly contacts: readonly ReminderContact[];
}

export interface RemindersReport {
  readonly cycle: number;
  readonly deadline: string;
  /** Days from now to the deadline (negative once it has passed), rounded down. */
  readonly daysLeft: number;
  /** False while the deadline is further away than the days asked for: then `reminders` is empty. */
  readonly due: boolean;
  /** Whether the lake had the cycle's completeness; without it every expected city counts as not reported. */
  readonly fromLake: boolean;
  readonly reminders: readonly Reminder[];
}

export interface RemindersInput {
  readonly cycle: number;
  readonly book: CycleBook;
  readonly divisions: DivisionRegistry;
  readonly credentials: readonly CredentialRecord[];
  /** The cycle's city rows of the completeness view; undefined when the lake holds none yet. */
  readonly reporting: readonly CityReporting[] | undefined;
  /** Remind once the deadline is at most this many days away. */
  readonly days: number;
  /** Also remind cities that reported fewer than this share of their communities (0 to 1). */
  readonly coverageBelow?: number;
  readonly now: Date;
}

const dayMs = 86_400_000;

/** Whom to remind, and why; a pure function of the cycle, the lake's completeness and the credentials. */
export const remindersFor = (input: RemindersInput): RemindersReport => {
  const settings = input.book.settingsOf(input.cycle);
  if (settings === undefined) throw new Error(`cycle ${input.cycle} is not open`);
  const daysLeft = Math.floor((Date.parse(settings.deadline) - input.now.getTime()) / dayMs);
  const due = Date.parse(settings.deadline) - input.now.getTime() <= input.days * dayMs;
  const header = {
    cycle: input.cycle,
    deadline: settings.deadline,
    daysLeft,
    due,
    fromLake: input.reporting !== undefined,
  };
  if (!due) return { ...header, reminders: [] };
  const reporting = new Map((input.reporting ?? []).map((row) => [row.cityCode, row]));
  const named = new Set(settings.countyLevelCities ?? []);
  const reminders: Reminder[] = [];
  for (const cityCode of expectedCitiesOf(input.divisions, settings)) {
    const row = reporting.get(cityCode);
    const communitiesReported = row?.communitiesReported ?? 0;
    const communitiesExpected =
      row?.communitiesExpected ?? expectedCommunitiesOf(input.divisions, cityCode, named).length;
    const coverage = communitiesExpected === 0 ? null : communitiesReported / communitiesExpected;
    const reported = row?.reported ?? false;
    const short = input.coverageBelow !== undefined && coverage !== null && coverage < input.coverageBelow;
    if (reported && !short) continue;
    const contacts = input.credentials
      .filter(
        (record) => record.role === 'city' && record.cityCode === cityCode && record.status === 'active',
      )
      .flatMap((record) =>
        record.contact === undefined
          ? []
          : [{ credentialId: record.id, credentialName: record.name, ...record.contact }],
      );
    reminders.push({
      cityCode,
      name: input.divisions.name(cityCode) ?? cityCode,
      reported,
      communitiesReported,
      communitiesExpected,
      coverage,
      contacts,
    });
  }
  return { ...header, reminders };
};

const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);

/** The report for a terminal: a line on the deadline, then a row per city and contact. */
export const formatReminders = (report: RemindersReport, days: number): string => {
  const when =
    `cycle ${report.cycle}: deadline ${report.deadline}, ` +
    (report.daysLeft >= 0 ? `${report.daysLeft} day(s) left` : `passed ${-report.daysLeft} day(s) ago`);
  if (!report.due) return `${when}; reminders start ${days} day(s) before the deadline, none due yet`;
  const lines = [
    `${when}; ${report.reminders.length} cit${report.reminders.length === 1 ? 'y' : 'ies'} to remind` +
      (report.fromLake
        ? ''
        : ' (the lake holds no completeness for the cycle yet: no city counts as reported)'),
  ];
  if (report.reminders.length === 0) return lines[0] ?? '';
  const rows = [
    ['CITY', 'NAME', 'REPORTED', 'COMMUNITIES', 'COVERAGE', 'CONTACT', 'PHONE', 'E-MAIL', 'CREDENTIAL'],
  ];
  for (const reminder of report.reminders) {
    const city = [
      reminder.cityCode,
      reminder.name,
      reminder.reported ? 'yes' : 'no',
      `${reminder.communitiesReported} / ${reminder.communitiesExpected}`,
      percent(reminder.coverage),
    ];
    if (reminder.contacts.length === 0) rows.push([...city, '(no contact recorded)', '-', '-', '-']);
    for (const contact of reminder.contacts)
      rows.push([...city, contact.name, contact.phone ?? '-', contact.email ?? '-', contact.credentialId]);
  }
  return [...lines, ...formatTextTable(rows)].join('\n');
};

export interface RemindersAdminOptions {
  readonly cycles: CyclesAdminOptions;
  readonly credentials: AdminOptions;
  readonly lake: LakeDatabaseConfig;
  readonly bucket: string;
}

/** The cycle's city rows of the completeness view the aggregate service derives; undefined before it exists. */
export const readCityReporting = async (
  lake: LakeDatabaseConfig,
  bucket: string,
  cycle: number,
): Promise<CityReporting[] | undefined> => {
  const database = await openLakeDatabase(lake);
  try {
    const url = s3Url(bucket, rollupObjectKey(cycle, 'completeness'));
    const reader = await database.connection
      .runAndReadAll(
        `SELECT area_code, cities_reported, communities_expected, communities_reported FROM read_parquet('${url}')
         WHERE level = 'city' AND cycle = ${cycle}`,
      )
      .catch((error: unknown) => {
        if (/No files found|HTTP 404|not found/i.test(String(error))) return undefined;
        throw error;
      });
    if (reader === undefined) return undefined;
    return reader.getRowObjectsJS().map((row) => ({
      cityCode: String(row.area_code),
      reported: Number(row.cities_reported) > 0,
      communitiesExpected: Number(row.communities_expected),
      communitiesReported: Number(row.communities_reported),
    }));
  } finally {
    database.close();
  }
};

/** Reads the cycles, the credentials and the lake's completeness, and says whom to remind. */
export const runRemindersAdmin = async (
  options: RemindersAdminOptions,
  request: Pick<RemindersInput, 'cycle' | 'days' | 'coverageBelow' | 'now'>,
): Promise<RemindersReport> => {
  const { book } = await runCyclesAdmin(options.cycles, { action: 'list' });
  if (book.settingsOf(request.cycle) === undefined)
    throw new CycleAdminError(`cycle ${request.cycle} is not open`);
  const listed = await runCredentialsAdmin(options.credentials, { action: 'list' });
  const credentials = listed.action === 'list' ? listed.records : [];
  const reporting = await readCityReporting(options.lake, options.bucket, request.cycle);
  return remindersFor({ ...request, book, divisions: loadDivisionRegistry(), credentials, reporting });
};
