// The quick start's demo run: pushes the sample cycle through the running ingest endpoint, waits until the
// aggregate service's rollups cover every valid submission, and prints them as a table, then the cycle's
// reporting rates: cities that reported against the cities the cycle expects (297 in 2024).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Indicator, loadCatalogue, presentedValue } from '@citycheck/catalogue';
import { objectStoreSettings, objectStoreVariables, readConfig } from '@citycheck/config';
import type { Submission } from '@citycheck/contracts';
import { CredentialStore, ensureCredentialsTopic, issueCredential } from '@citycheck/credentials';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { createKafka, createReliableProducer } from '@citycheck/kafka';
import { openLakeDatabase, rollupObjectKey, s3Url } from '@citycheck/lake';
import { sampleCycle } from './sample.js';
import { designateCycleIfNone } from './stack.js';

const config = readConfig([
  'kafkaBrokers',
  'ingestPort',
  'queryPort',
  'duckdbExtensionDirectory',
  'topicNamespace',
  ...objectStoreVariables,
]);
const ingestUrl = process.env.CITYCHECK_URL ?? `http://127.0.0.1:${config.ingestPort}`;
const catalogue = loadCatalogue(process.env.CITYCHECK_CATALOGUE ?? '2024.1');
const divisions = loadDivisionRegistry();
const sample = sampleCycle({ catalogue, divisions });

// One city credential per sample city, and an analyst's and an operator's for the console and the status
// page, issued once and kept under .local/ so a second run reuses them, as a city's system keeps its token.
// Issued the way `citycheck admin credentials issue` does.
const tokensFile = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '.local',
  'demo-credentials.json',
);
const readers = { analyst: 'analyst:ministry', operator: 'operator' } as const;
const issueTokens = async (cities: readonly string[]): Promise<Record<string, string>> => {
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'citycheck-demo' });
  await ensureCredentialsTopic(kafka);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const tokens: Record<string, string> = {};
  const issue = async (key: string, grant: Parameters<typeof issueCredential>[1]) => {
    tokens[key] = (await issueCredential({ producer, store: new CredentialStore() }, grant)).token;
  };
  try {
    for (const cityCode of cities)
      await issue(cityCode, { role: 'city', cityCode, name: `demo ${cityCode}` });
    for (const [key, role] of Object.entries(readers)) await issue(key, { role, name: `demo ${key}` });
  } finally {
    await producer.disconnect();
  }
  mkdirSync(dirname(tokensFile), { recursive: true });
  writeFileSync(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
  return tokens;
};
const cities = [...new Set(sample.valid.map((submission) => submission.cityCode))];
const kept: Record<string, string> | undefined = existsSync(tokensFile)
  ? (JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>)
  : undefined;
let tokens: Record<string, string> =
  kept !== undefined && [...cities, ...Object.keys(readers)].every((key) => key in kept)
    ? kept
    : await issueTokens(cities);

const post = async (submission: Submission): Promise<{ status: number; body: unknown }> => {
  const send = async () =>
    fetch(`${ingestUrl}/v1/submissions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens[submission.cityCode] ?? 'none'}`,
      },
      body: JSON.stringify(submission),
    });
  let response = await send();
  // Tokens from an earlier run are gone when the broker's data was reset: issue new ones, once; a new
  // credential reaches ingest through its topic within about a second.
  for (let attempt = 0; response.status === 401 && attempt < 20; attempt += 1) {
    if (attempt === 0) tokens = await issueTokens(cities);
    await new Promise((resolve) => setTimeout(resolve, 250));
    response = await send();
  }
  return { status: response.status, body: await response.json() };
};

// The status page and analysts' "current cycle" mean the cycle the operators designate: the demo designates
// its sample's cycle, as `citycheck admin cycles current <cycle>` would, unless one was designated already.
const current = await designateCycleIfNone(config.kafkaBrokers.join(','), catalogue.cycle, {
  namespace: config.topicNamespace,
});
console.log(`current cycle: ${current}`);
console.log(`pushing ${sample.valid.length + sample.invalid.length} submissions to ${ingestUrl}`);
for (const submission of sample.valid) {
  const { status, body } = await post(submission);
  if (status !== 202 && status !== 200) throw new Error(`ingest answered ${status}: ${JSON.stringify(body)}`);
}
for (const { submission, breaks } of sample.invalid) {
  const { status } = await post(submission);
  console.log(
    `  deliberately bad submission (${breaks}): ingest answered ${status}` +
      // Ingest refuses a submission that breaks a rule of itself, the catalogue and the registry at its door;
      // what only validate can judge is accepted (202) and rejected downstream.
      (status === 422 ? ', refused at once with every problem' : '; validate will reject it'),
  );
}

interface Problem {
  readonly pointer: string;
  readonly rule: string;
  readonly message: string;
}

/** What the city sees when it asks for a submission's status. */
const statusOf = async (submission: Submission): Promise<{ status?: string; problems?: Problem[] }> => {
  const response = await fetch(`${ingestUrl}/v1/submissions/${submission.submissionId}`, {
    headers: { authorization: `Bearer ${tokens[submission.cityCode] ?? 'none'}` },
  });
  return (await response.json()) as { status?: string; problems?: Problem[] };
};

// Every valid unit reports every indicator of its level, so the nation row of an indicator is complete
// when it covers as many units as were sent for that level.
const expectedUnits = new Map<string, number>();
for (const submission of sample.valid) {
  for (const observation of submission.observations) {
    expectedUnits.set(observation.indicator, (expectedUnits.get(observation.indicator) ?? 0) + 1);
  }
}

const s3 = objectStoreSettings(config);
const lake = await openLakeDatabase({ extensionDirectory: config.duckdbExtensionDirectory, s3 });
const rollupUrl = s3Url(config.s3Bucket, rollupObjectKey(catalogue.cycle, 'indicator_rollups'));
type Row = {
  indicator_code: string;
  level: string;
  area_code: string;
  value: number | null;
  units_reported: bigint;
  units_expected: bigint | null;
};

const readRollups = async (): Promise<Row[]> => {
  try {
    const reader = await lake.connection.runAndReadAll(
      `SELECT indicator_code, level, area_code, value, units_reported, units_expected FROM read_parquet('${rollupUrl}')
       WHERE level IN ('province', 'nation') ORDER BY indicator_code, level DESC, area_code`,
    );
    return reader.getRowObjectsJS() as unknown as Row[];
  } catch {
    return [];
  }
};

const deadline = Date.now() + 120_000;
let rows: Row[] = [];
process.stdout.write('waiting for the rollups');
for (;;) {
  rows = await readRollups();
  const complete = [...expectedUnits].every(([code, units]) =>
    rows.some(
      (row) => row.indicator_code === code && row.level === 'nation' && Number(row.units_reported) === units,
    ),
  );
  if (complete) break;
  if (Date.now() > deadline) throw new Error('the rollups did not cover every submission within 120 s');
  process.stdout.write('.');
  await new Promise((resolve) => setTimeout(resolve, 500));
}
process.stdout.write(' done\n\n');

type CompletenessRow = {
  level: string;
  area_code: string;
  cities_expected: bigint;
  cities_reported: bigint;
  cities_on_time: bigint;
  communities_expected: bigint;
  communities_reported: bigint;
};
const completenessUrl = s3Url(config.s3Bucket, rollupObjectKey(catalogue.cycle, 'completeness'));
const sampleProvinces = [...new Set(cities.map((city) => `${city.slice(0, 2)}0000`))];
const readCompleteness = async (): Promise<CompletenessRow[]> => {
  try {
    const reader = await lake.connection.runAndReadAll(
      `SELECT level, area_code, cities_expected, cities_reported, cities_on_time, communities_expected, communities_reported
       FROM read_parquet('${completenessUrl}')
       WHERE level = 'nation' OR (level = 'province' AND area_code IN (${sampleProvinces.map((code) => `'${code}'`).join(', ')}))
       ORDER BY level DESC, area_code`,
    );
    return reader.getRowObjectsJS() as unknown as CompletenessRow[];
  } catch {
    return [];
  }
};
// Completeness is written after the rollups of the same derivation: wait until it counts every community too.
const sampleCommunities = new Set(
  sample.valid
    .filter((submission) => submission.unit.level === 'community')
    .map((submission) => submission.unit.code),
).size;
let completeness: CompletenessRow[] = [];
for (const until = Date.now() + 60_000; ; ) {
  completeness = await readCompleteness();
  const nation = completeness.find((row) => row.level === 'nation');
  if (Number(nation?.communities_reported ?? 0) >= sampleCommunities) break;
  if (Date.now() > until) throw new Error('completeness did not cover every community within 60 s');
  await new Promise((resolve) => setTimeout(resolve, 500));
}
lake.close();

for (const { submission } of sample.invalid) {
  const status = await statusOf(submission);
  for (const problem of status.problems ?? []) {
    console.log(
      `rejected ${submission.submissionId}: ${problem.pointer} ${problem.rule}: ${problem.message}`,
    );
  }
}
console.log('');

// One indicator of each kind, so each rollup rule shows.
const shown: Indicator[] = [];
for (const indicator of [...catalogue.indicatorsFor('community'), ...catalogue.indicatorsFor('district')]) {
  if (!shown.some((other) => other.kind === indicator.kind)) shown.push(indicator);
}
const lines: string[][] = [['indicator', 'rule', 'level', 'area', 'value', 'units reported / expected']];
for (const indicator of shown) {
  for (const row of rows.filter((r) => r.indicator_code === indicator.code)) {
    const area = row.level === 'nation' ? '全国 nation' : `${divisions.name(row.area_code) ?? row.area_code}`;
    const value =
      row.value === null ? '-' : `${presentedValue(indicator, row.value).toFixed(2)} ${indicator.unit.en}`;
    lines.push([
      `${indicator.code} ${indicator.nameEn}`.slice(0, 58),
      indicator.aggregation,
      row.level,
      area,
      value,
      `${row.units_reported} / ${row.units_expected ?? '-'}`,
    ]);
  }
}
printTable(lines);
console.log(
  `\n${rows.length} province and nation rows for ${expectedUnits.size} indicators; all levels are in ${rollupUrl}`,
);

// The denominators are the cities the cycle expects (the prefecture-level cities and municipalities, plus
// the county-level cities it names), and the urban communities of those cities.
const percent = (part: bigint, whole: bigint): string =>
  whole === 0n ? '-' : `${((Number(part) / Number(whole)) * 100).toFixed(1)}%`;
console.log(`\nreporting rates, cycle ${catalogue.cycle}:`);
const rateLines: string[][] = [
  ['area', 'cities reported / expected', 'on time', 'communities reported / expected'],
];
for (const row of completeness) {
  rateLines.push([
    row.level === 'nation' ? '全国 nation' : (divisions.name(row.area_code) ?? row.area_code),
    `${row.cities_reported} / ${row.cities_expected} (${percent(row.cities_reported, row.cities_expected)})`,
    `${row.cities_on_time} (${percent(row.cities_on_time, row.cities_expected)})`,
    `${row.communities_reported} / ${row.communities_expected} (${percent(row.communities_reported, row.communities_expected)})`,
  ]);
}
printTable(rateLines);

// Where to look next: the console and the status page ask for a credential, typed into the page.
const queryUrl = process.env.CITYCHECK_QUERY_URL ?? `http://127.0.0.1:${config.queryPort}`;
console.log(`\nanalysts' console: ${queryUrl}/console  (sign in with the credential "analyst")`);
console.log(`status page:       ${queryUrl}/status#token=<the credential "operator">`);
console.log(`the credentials are in ${relative(process.cwd(), tokensFile)}`);

/** Prints rows as a table, the first row as its header. */
function printTable(table: readonly (readonly string[])[]): void {
  const widths =
    table[0]?.map((_, column) => Math.max(...table.map((line) => width(line[column] ?? '')))) ?? [];
  for (const [index, line] of table.entries()) {
    console.log(line.map((cell, column) => pad(cell, widths[column] ?? 0)).join('  '));
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
function width(text: string): number {
  // CJK characters take two columns in a terminal.
  let columns = 0;
  for (const char of text) columns += /[\u3000-\u9fff\uff00-\uffef]/.test(char) ? 2 : 1;
  return columns;
}
function pad(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - width(text)));
}
