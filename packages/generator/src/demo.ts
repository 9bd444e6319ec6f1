// The quick start's demo run: pushes the sample cycle through the running ingest endpoint, waits until the
// aggregate service's rollups cover every valid submission, and prints them as a table.
import { type Indicator, loadCatalogue, presentedValue } from '@citycheck/catalogue';
import { readConfig } from '@citycheck/config';
import type { Submission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { openLakeDatabase, rollupObjectKey, s3Url } from '@citycheck/lake';
import { sampleCycle } from './sample.js';

const config = readConfig([
  'ingestPort',
  's3Endpoint',
  's3Region',
  's3Bucket',
  's3AccessKeyId',
  's3SecretAccessKey',
  'duckdbExtensionDirectory',
]);
const ingestUrl = process.env.CITYCHECK_URL ?? `http://127.0.0.1:${config.ingestPort}`;
const token = process.env.CITYCHECK_TOKEN;
const catalogue = loadCatalogue(process.env.CITYCHECK_CATALOGUE ?? '2024.1');
const divisions = loadDivisionRegistry();
const sample = sampleCycle({ catalogue, divisions });

const post = async (submission: Submission): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(`${ingestUrl}/v1/submissions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(submission),
  });
  return { status: response.status, body: await response.json() };
};

console.log(`pushing ${sample.valid.length + sample.invalid.length} submissions to ${ingestUrl}`);
for (const submission of sample.valid) {
  const { status, body } = await post(submission);
  if (status !== 202 && status !== 200) throw new Error(`ingest answered ${status}: ${JSON.stringify(body)}`);
}
for (const { submission, breaks } of sample.invalid) {
  const { status } = await post(submission);
  console.log(
    `  deliberately bad submission (${breaks}): ingest answered ${status}; validate will reject it`,
  );
}

// Every valid unit reports every indicator of its level, so the nation row of an indicator is complete
// when it covers as many units as were sent for that level.
const expectedUnits = new Map<string, number>();
for (const submission of sample.valid) {
  for (const observation of submission.observations) {
    expectedUnits.set(observation.indicator, (expectedUnits.get(observation.indicator) ?? 0) + 1);
  }
}

const s3 = {
  endpoint: config.s3Endpoint,
  region: config.s3Region,
  accessKeyId: config.s3AccessKeyId,
  secretAccessKey: config.s3SecretAccessKey,
  bucket: config.s3Bucket,
};
const lake = await openLakeDatabase({ extensionDirectory: config.duckdbExtensionDirectory, s3 });
const rollupUrl = s3Url(config.s3Bucket, rollupObjectKey(catalogue.cycle, 'indicator_rollups'));
type Row = {
  indicator_code: string;
  level: string;
  area_code: string;
  value: number | null;
  units_reported: bigint;
};

const readRollups = async (): Promise<Row[]> => {
  try {
    const reader = await lake.connection.runAndReadAll(
      `SELECT indicator_code, level, area_code, value, units_reported FROM read_parquet('${rollupUrl}')
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
lake.close();

// One indicator of each kind, so each rollup rule shows.
const shown: Indicator[] = [];
for (const indicator of [...catalogue.indicatorsFor('community'), ...catalogue.indicatorsFor('district')]) {
  if (!shown.some((other) => other.kind === indicator.kind)) shown.push(indicator);
}
const lines: string[][] = [['indicator', 'rule', 'level', 'area', 'value', 'units']];
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
      String(row.units_reported),
    ]);
  }
}
const widths =
  lines[0]?.map((_, column) => Math.max(...lines.map((line) => width(line[column] ?? '')))) ?? [];
for (const [index, line] of lines.entries()) {
  console.log(line.map((cell, column) => pad(cell, widths[column] ?? 0)).join('  '));
  if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(
  `\n${rows.length} province and nation rows for ${expectedUnits.size} indicators; all levels are in ${rollupUrl}`,
);

function width(text: string): number {
  // CJK characters take two columns in a terminal.
  let columns = 0;
  for (const char of text) columns += /[\u3000-\u9fff\uff00-\uffef]/.test(char) ? 2 : 1;
  return columns;
}
function pad(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - width(text)));
}
