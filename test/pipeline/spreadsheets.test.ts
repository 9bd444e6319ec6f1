// A city reports from a spreadsheet on a running stack (ingest, validate and aggregate as processes on the
// real broker and object store): `citycheck template` writes 银川市's (640100) workbook for 2024, the test fills
// in three communities as the city's staff would (one with an out-of-range value), and `citycheck submit --wait`
// sends it and follows it: two rows counted, one refused with its sheet, row, column and rule. The same workbook
// again stores nothing; one cell changed stores exactly one correction, and changed back, one more. Figures are
// worked out by hand.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCityTokens } from '@citycheck/generator/stack';
import { topicNames } from '@citycheck/kafka';
import { s3Url } from '@citycheck/lake';
import { openTestDatabase, readTopic, testKafka, waitFor } from '@citycheck/testkit';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareStack, citycheck as run, type Stack } from './support.js';

describe('a city reports from the template workbook on a running stack', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let store: Stack['store'];
  let receivedTopic: string;
  let token: string;
  let workbook: string;

  const citycheck = (...args: string[]) => run({ ...env, CITYCHECK_TOKEN: token }, ...args);

  const stored = async (): Promise<number> => (await readTopic(testKafka(), receivedTopic)).length;

  /** The city rows of 640100 for C01 and C12 in the rollups, and the C01 history of the lake. */
  const lake = async () => {
    const database = await openTestDatabase(store);
    try {
      const rollups = (
        await database.connection.runAndReadAll(
          `SELECT indicator_code, value, units_reported
           FROM read_parquet('${s3Url(store.bucket, 'rollups/cycle=2024/indicator_rollups.parquet')}')
           WHERE level = 'city' AND area_code = '640100' AND indicator_code IN ('C01', 'C12')
           ORDER BY indicator_code`,
        )
      ).getRowObjectsJS();
      const history = (
        await database.connection.runAndReadAll(
          `SELECT unit_code, value FROM read_parquet('s3://${store.bucket}/observations/**/*.parquet')
           WHERE indicator_code = 'C01' ORDER BY unit_code, value`,
        )
      ).getRowObjectsJS();
      return { rollups, history };
    } finally {
      database.close();
    }
  };

  /** Sets cells of the community sheet, as a person would in Excel, and saves the workbook in place. */
  const fill = async (cells: Record<string, string | number>): Promise<void> => {
    const book = new ExcelJS.Workbook();
    await book.xlsx.load((await readFile(workbook)) as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('社区 community') as ExcelJS.Worksheet;
    for (const [address, value] of Object.entries(cells)) sheet.getCell(address).value = value;
    await writeFile(workbook, Buffer.from(await book.xlsx.writeBuffer()));
  };

  beforeAll(async () => {
    stack = await prepareStack('sheets');
    const { namespace } = stack;
    store = stack.store;
    env = { ...namespace.env, CITYCHECK_URL: stack.ingestUrl };
    receivedTopic = topicNames(namespace.topicNamespace).submissionsReceived;
    token = (await issueCityTokens(env.KAFKA_BROKERS as string, ['640100'])).get('640100') as string;
    await stack.start(['ingest', 'validate', 'aggregate']);
    workbook = join(await mkdtemp(join(tmpdir(), 'citycheck-sheets-')), '银川市-2024.xlsx');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('writes the template: every expected unit of 银川市 in 2024, already named', async () => {
    const run = await citycheck('template', '--city', '640100', '--cycle', '2024', '--out', workbook);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      `wrote ${workbook} (units: community 304, block 0, housing 0, district 6, city 1)`,
    );
  });

  it('submit --wait: two rows counted, one refused by sheet, row, column and rule, and the figures follow', async () => {
    // Community sheet, catalogue 2024.1: G is C01.value (a count from 0 to 500), R is C12.meets (是/否). Rows 3 to
    // 5 are 640104001002 崇安, 640104001003 兴隆 and 640104001005 北安社区居委会.
    await fill({ G3: 2, R3: '是', G4: 3, R4: '否', G5: 600 });
    const before = await stored();
    const run = await citycheck('submit', workbook, '--wait', '--wait-timeout', '120', '--quiet');
    expect(run.code, run.stderr).toBe(1);
    const [totals, refusal, file, summary, ...rest] = run.stdout.trim().split('\n');
    // What the command tells the city is in Chinese by default; places, ids and rule codes as they are.
    expect(totals).toBe('1 个文件，3 条报送：已接收 2 条，此前已收到 0 条，被拒收 1 条');
    // The refused row: its sheet and row, its id (derived from its content), the column, header and rule.
    const [where, id, detail] = (refusal ?? '').trim().split(/ (?=[0-9a-f]{8}-|第 )/);
    expect(where).toBe(`${workbook} 社区 community!5`);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(detail).toBe(
      '第 G 列“C01 未达标配建养老服务设施的小区数量（个）” /observations/0/value range: ' +
        '指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 600（实际为 600）',
    );
    expect(file).toBe(`${workbook}：计入汇总 2 条，校验驳回 0 条`);
    expect(summary).toBe('等待结果：计入汇总 2 条，校验驳回 0 条，接收时拒收 1 条');
    expect(rest).toEqual([]);
    expect(await stored()).toBe(before + 2);
    // C01 sums over the two units (2 + 3); C12 is the share of units meeting it (1 of 2).
    const { rollups, history } = await lake();
    expect(rollups).toEqual([
      { indicator_code: 'C01', value: 5, units_reported: 2n },
      { indicator_code: 'C12', value: 0.5, units_reported: 2n },
    ]);
    expect(history).toEqual([
      { unit_code: '640104001002', value: 2 },
      { unit_code: '640104001003', value: 3 },
    ]);
  });

  it('the same workbook again stores nothing new', async () => {
    const before = await stored();
    // --restart: send it although the run before recorded it as done, so it is ingest that recognises it.
    const run = await citycheck('submit', workbook, '--wait', '--restart', '--json', '--quiet');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ sent: 3, accepted: 0, duplicates: 2, rejected: 1 });
    expect(report.waited).toMatchObject({ counted: 2, rejected: 0, pending: 0 });
    expect(report.rejections).toMatchObject([
      { sheet: '社区 community', at: 5, unit: 'row', problems: [{ rule: 'range', column: 'G' }] },
    ]);
    expect(await stored()).toBe(before);
  });

  it('one cell changed makes exactly one correction, which supersedes the row before it', async () => {
    await fill({ G4: 4 });
    const before = await stored();
    const run = await citycheck('submit', workbook, '--wait', '--json', '--quiet');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ sent: 3, accepted: 1, duplicates: 1, rejected: 1 });
    expect(report.waited).toMatchObject({ counted: 2, rejected: 0, pending: 0 });
    expect(await stored()).toBe(before + 1);
    // 兴隆's C01 is now 4: the city sums 2 + 4 over the same two units; the lake keeps both of 兴隆's values.
    await waitFor(async () => ((await lake()).rollups[0]?.value === 6 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the rollup to take the correction',
    });
    const { rollups, history } = await lake();
    expect(rollups[0]).toEqual({ indicator_code: 'C01', value: 6, units_reported: 2n });
    expect(history).toEqual([
      { unit_code: '640104001002', value: 2 },
      { unit_code: '640104001003', value: 3 },
      { unit_code: '640104001003', value: 4 },
    ]);
  });

  it('a cell changed back makes the earlier value current again, stored once more under an id of its own', async () => {
    await fill({ G4: 3 });
    const before = await stored();
    const run = await citycheck('submit', workbook, '--wait', '--json', '--quiet');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ accepted: 1, duplicates: 1, rejected: 1 });
    expect(await stored()).toBe(before + 1);
    // 兴隆's C01 is 3 again: 2 + 3 over the two units, as after the first upload; its history holds 3, 4, 3.
    await waitFor(async () => ((await lake()).rollups[0]?.value === 5 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the rollup to take the value changed back',
    });
    expect((await lake()).history).toEqual([
      { unit_code: '640104001002', value: 2 },
      { unit_code: '640104001003', value: 3 },
      { unit_code: '640104001003', value: 3 },
      { unit_code: '640104001003', value: 4 },
    ]);
  });
});
