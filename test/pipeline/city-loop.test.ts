// A city follows its own submissions and reads its own results with the `citycheck` command, on a running
// stack (ingest, validate, aggregate and query as processes on the real broker and object store): `status
// --json` exits 0 for a counted submission, 1 for a rejected one and 2 for one never received; `results`
// prints the city's figures, its shortfall ledger and the units it has not reported, and, once the city has
// planned its ledger items and 宁夏 verified one (`citycheck rectify`, ingest's routes), each item's
// rectification and the city's rate. The expected figures are worked out by hand from the three communities of
// 银川市 (640100) the test submits.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Submission } from '@citycheck/contracts';
import { expectedCommunitiesOf, loadDivisionRegistry } from '@citycheck/divisions';
import { issueCityTokens } from '@citycheck/generator/stack';
import { createReliableProducer, topicNames } from '@citycheck/kafka';
import { sendReceivedUnchecked, testKafka, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueTestCredential, prepareStack, citycheck as run, type Stack } from './support.js';

describe("a city's loop on a running stack", () => {
  let stack: Stack;
  let env: Record<string, string>;
  let ingestUrl: string;
  let token: string;
  /** A reviewer of 宁夏 (64), who verifies the city's rectification. */
  let reviewerToken: string;
  /** Where the evidence file is written before the CLI sends it. */
  let scratch: string;
  let communities: string[];
  // Three communities of 银川市: C01 (count, standard <= 0), C12 (share, standard == 1), C16 (score, no standard).
  const submissions: Submission[] = [];
  // A community whose C01 of 900 is out of range (0 to 500), put on the received topic unchecked, as ingest
  // would refuse it at its door: validate rejects it.
  let rejected: Submission;

  /** `citycheck <args>` as a city runs it: the built CLI with the city's credential and both services. */
  const citycheck = (...args: string[]) => run({ ...env, CITYCHECK_TOKEN: token }, ...args);

  const statusOf = async (submissionId: string): Promise<Record<string, unknown>> => {
    const response = await fetch(`${ingestUrl}/v1/submissions/${submissionId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    stack = await prepareStack('city-loop', { query: true });
    const { namespace } = stack;
    ingestUrl = stack.ingestUrl;
    env = { ...namespace.env, CITYCHECK_URL: ingestUrl, CITYCHECK_QUERY_URL: stack.queryUrl };
    token = (await issueCityTokens(env.KAFKA_BROKERS as string, ['640100'])).get('640100') as string;
    // issueCityTokens made sure of the credentials topic.
    const producer = createReliableProducer(testKafka());
    await producer.connect();
    reviewerToken = (await issueTestCredential(producer, 'reviewer:province:64', '宁夏住建厅')).token;
    await producer.disconnect();
    scratch = await mkdtemp(join(tmpdir(), 'citycheck-city-loop-'));

    communities = expectedCommunitiesOf(loadDivisionRegistry(), '640100', new Set()).sort();
    const community = (code: string, observations: Submission['observations']): Submission => ({
      submissionId: randomUUID(),
      cycle: 2024,
      catalogueVersion: '2024.1',
      cityCode: '640100',
      unit: { level: 'community', code },
      observations,
    });
    const [a, b, c, d] = communities as [string, string, string, string];
    submissions.push(
      community(a, [
        { indicator: 'C01', value: 0 },
        { indicator: 'C12', meets: true },
        { indicator: 'C16', value: 90, weight: 100 },
      ]),
      community(b, [
        { indicator: 'C01', value: 2 },
        { indicator: 'C12', meets: false },
        { indicator: 'C16', value: 70, weight: 300 },
      ]),
      community(c, [
        { indicator: 'C01', value: 1 },
        { indicator: 'C12', meets: true },
      ]),
    );
    rejected = community(d, [{ indicator: 'C01', value: 900 }]);

    await stack.start(['ingest', 'validate', 'aggregate', 'query']);
    for (const submission of submissions) {
      const response = await fetch(`${ingestUrl}/v1/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(submission),
      });
      expect(response.status, await response.text()).toBe(202);
    }
    await sendReceivedUnchecked(
      testKafka(),
      topicNames(namespace.topicNamespace).submissionsReceived,
      [rejected],
      'city-loop-test',
    );
    for (const submission of submissions)
      await waitFor(
        async () => ((await statusOf(submission.submissionId)).status === 'counted' ? true : undefined),
        { timeoutMs: 60_000, what: `submission ${submission.submissionId} to be counted` },
      );
    await waitFor(
      async () => ((await statusOf(rejected.submissionId)).status === 'rejected' ? true : undefined),
      { timeoutMs: 60_000, what: 'the out-of-range submission to be rejected' },
    );
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('status --json exits 0 for a counted submission and prints what ingest answers', async () => {
    const counted = submissions[0] as Submission;
    const run = await citycheck('status', counted.submissionId, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(await statusOf(counted.submissionId));
    expect(JSON.parse(run.stdout)).toMatchObject({
      submissionId: counted.submissionId,
      cityCode: '640100',
      cycle: 2024,
      unit: { level: 'community', code: communities[0] },
      status: 'counted',
    });
  });

  it('status exits 1 for a rejected submission, with every problem, in Chinese or in English', async () => {
    const json = await citycheck('status', rejected.submissionId, '--json');
    expect(json.code).toBe(1);
    const state = JSON.parse(json.stdout) as {
      status: string;
      problems: { rule: string; pointer: string }[];
    };
    expect(state.status).toBe('rejected');
    expect(state.problems.map((problem) => [problem.pointer, problem.rule])).toEqual([
      ['/observations/0/value', 'range'],
    ]);

    const zh = await citycheck('status', rejected.submissionId);
    expect(zh.code).toBe(1);
    expect(zh.stdout).toContain(`报送 ${rejected.submissionId}：已驳回（rejected）`);
    expect(zh.stdout).toContain('问题 1 处：');
    // Validate wrote the rule's English; ingest answers the city in Chinese, naming the indicator of catalogue
    // 2024.1: C01 is a count from 0 to 500 (个).
    expect(zh.stdout).toContain(
      '/observations/0/value range: 指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 900（实际为 900）',
    );
    const en = await citycheck('status', rejected.submissionId, '--lang', 'en');
    expect(en.code).toBe(1);
    expect(en.stdout).toContain(`submission ${rejected.submissionId}: rejected (rejected)`);
    expect(en.stdout).toContain('/observations/0/value range: value of C01 must be from 0 to 500 (got 900)');
  });

  it('status exits 2 for a submission never received', async () => {
    const unknown = randomUUID();
    const json = await citycheck('status', unknown, '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'not_found' } });
    const zh = await citycheck('status', unknown);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toContain(`报送 ${unknown} 未被接收`);
  });

  it("results prints the city's figures, ledger items and missing units, worked out by hand", async () => {
    // The query service re-reads the lake every 500 ms: wait until it has the derivation counting all three.
    const results = await waitFor(
      async () => {
        const run = await citycheck('results', '--cycle', '2024', '--json');
        if (run.code !== 0) throw new Error(`results failed: ${run.stderr}`);
        const parsed = JSON.parse(run.stdout) as {
          headline: { indicator: string; unitsReported: number }[];
        };
        return parsed.headline.find((figure) => figure.indicator === 'C01')?.unitsReported === 3
          ? parsed
          : undefined;
      },
      { timeoutMs: 60_000, what: 'the rollups to count the three communities' },
    );
    const [a, b, c] = communities as [string, string, string];
    expect(results).toMatchObject({ cityCode: '640100', cityName: '银川市', cycle: 2024 });
    const figures = (results as unknown as { headline: Record<string, unknown>[] }).headline.map(
      ({ indicator, value, unitsReported, unitsExpected, coverage }) => ({
        indicator,
        value,
        unitsReported,
        unitsExpected,
        coverage,
      }),
    );
    // C01 sums 0 + 2 + 1; C12 is 2 of 3 communities meeting; C16 is (90 x 100 + 70 x 300) / 400 = 75 over 2.
    expect(figures).toEqual([
      { indicator: 'C01', value: 3, unitsReported: 3, unitsExpected: 304, coverage: 3 / 304 },
      { indicator: 'C12', value: 2 / 3, unitsReported: 3, unitsExpected: 304, coverage: 3 / 304 },
      { indicator: 'C16', value: 75, unitsReported: 2, unitsExpected: 304, coverage: 2 / 304 },
    ]);
    // Misses: b's C01 (2 > 0) and c's C01 (1 > 0), b's C12 (0, standard 1); all new, no earlier cycle.
    const ledger = (results as unknown as { ledger: Record<string, unknown>[] }).ledger.map(
      ({ unitCode, indicator, value, gap, status }) => [unitCode, indicator, value, gap, status],
    );
    expect(ledger).toEqual(
      [
        [b, 'C01', 2, 2, 'new'],
        [b, 'C12', 0, 1, 'new'],
        [c, 'C01', 1, 1, 'new'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    const units = (
      results as unknown as { units: { expected: number; reported: number; missing: { code: string }[] } }
    ).units;
    expect({ expected: units.expected, reported: units.reported, missing: units.missing.length }).toEqual({
      expected: 304,
      reported: 3,
      missing: 301,
    });
    expect(units.missing.map((unit) => unit.code)).toEqual(
      communities.filter((code) => ![a, b, c].includes(code)),
    );

    const zh = await citycheck('results', '--cycle', '2024');
    expect(zh.code).toBe(0);
    const lines = zh.stdout.split('\n');
    expect(lines[0]).toBe('银川市（640100）2024 年度体检结果');
    expect(lines[1]).toMatch(
      /^数据截至 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC（湖仓提交 .+\+\d+\+\d+）$/,
    );
    expect(lines).toContain('已报送：应报社区 304 个，已报送 3 个（1.0%）');
    expect(zh.stdout).toMatch(
      /\n {2}C01 +未达标配建养老服务设施的小区数量 +3 +个 +3\/304 +1\.0% +下级汇总\n/,
    );
    expect(zh.stdout).toMatch(
      /\n {2}C12 +社区综合服务站达标的社区占比 +66\.67 +% +3\/304 +1\.0% +下级汇总\n/,
    );
    expect(zh.stdout).toContain('问题台账：3 项（新增 3，持续 0，已整改 0）');
    expect(zh.stdout).toMatch(
      new RegExp(
        `\\n {2}社区 ${b} +\\S+ +C12 社区综合服务站达标的社区占比 +0 % +== 100 +100 +2024 +新增 +待整改 +- +-\\n`,
      ),
    );
    expect(zh.stdout).toContain('尚未报送的单元：301 个');
    const en = await citycheck('results', '--cycle', '2024', '--lang', 'en');
    expect(en.code).toBe(0);
    expect(en.stdout).toContain('reported: 3 of 304 expected communities (1.0%)');
    expect(en.stdout).toContain('shortfall ledger: 3 item(s), 3 new, 0 persisting, 0 resolved');
    expect(en.stdout).toContain('units still missing: 301');
  });

  it("results shows each ledger item's rectification and the city's rate once the city acts", async () => {
    const [, b, c] = communities as [string, string, string];
    /** `citycheck rectify <action>` on the 2024 item of `unit` and `indicator`, exiting 0. */
    const rectify = async (
      who: string,
      action: string,
      unit: string,
      indicator: string,
      ...options: string[]
    ) => {
      const done = await run(
        { ...env, CITYCHECK_TOKEN: who },
        'rectify',
        action,
        ...['--cycle', '2024', '--unit', unit, '--indicator', indicator, ...options, '--json'],
      );
      expect(done.code, done.stderr).toBe(0);
    };
    const plan = (measure: string, targetDate: string) => [
      '--measure',
      measure,
      '--department',
      '银川市民政局',
      '--target-date',
      targetDate,
    ];
    // b's C01: planned, due 2099-12-31. b's C12: planned, due 2025-03-31, already past: overdue. c's C01:
    // planned, evidenced and verified by 宁夏: rectified, not overdue though its date has passed too.
    await rectify(token, 'plan', b, 'C01', ...plan('在小区内新建养老服务站', '2099-12-31'));
    await rectify(token, 'plan', b, 'C12', ...plan('改造社区综合服务站', '2025-03-31'));
    await rectify(token, 'plan', c, 'C01', ...plan('租赁周边用房设置养老服务点', '2025-06-30'));
    const evidence = join(scratch, '养老服务点.jpg');
    await writeFile(evidence, 'a photo of the rented elderly-care point');
    await rectify(token, 'evidence', c, 'C01', '--file', evidence);
    await rectify(reviewerToken, 'verify', c, 'C01', '--note', '现场核实，服务点已投入使用');

    type Results = {
      ledger: { unitCode: string; indicator: string; rectification: Record<string, unknown> | null }[];
      rectificationRate: Record<string, number> | null;
    };
    // Aggregate copies the records to the lake after every action; wait for the verification to show.
    const results = await waitFor(
      async () => {
        const answer = await citycheck('results', '--cycle', '2024', '--json');
        if (answer.code !== 0) throw new Error(`results failed: ${answer.stderr}`);
        const parsed = JSON.parse(answer.stdout) as Results;
        return parsed.rectificationRate?.rectified === 1 ? parsed : undefined;
      },
      { timeoutMs: 60_000, what: "the city's rectification to reach the lake" },
    );
    expect(
      results.ledger.map(({ unitCode, indicator, rectification }) => [unitCode, indicator, rectification]),
    ).toEqual(
      [
        [b, 'C01', { state: 'planned', planTargetDate: '2099-12-31', overdue: false, contradicted: false }],
        [b, 'C12', { state: 'planned', planTargetDate: '2025-03-31', overdue: true, contradicted: false }],
        [c, 'C01', { state: 'rectified', planTargetDate: '2025-06-30', overdue: false, contradicted: false }],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    // 3 items: 2 planned, 1 rectified, 1 overdue (b's C12); rate (1 rectified + 0 consolidated) / 3.
    expect(results.rectificationRate).toEqual({
      items: 3,
      identified: 0,
      planned: 2,
      inProgress: 0,
      rectified: 1,
      consolidated: 0,
      reopened: 0,
      overdue: 1,
      rate: 1 / 3,
    });

    const zh = await citycheck('results', '--cycle', '2024');
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain(
      '整改率：33.3%（（已整改 1 + 已巩固 0）/ 台账 3 项）；待整改 0，已制定计划 2，整改中 0，已重新打开 0，逾期 1',
    );
    expect(zh.stdout).toMatch(
      new RegExp(
        `\\n {2}社区 ${b} +\\S+ +C12 社区综合服务站达标的社区占比 .* 新增 +已制定计划 +2025-03-31 +逾期\\n`,
      ),
    );
    expect(zh.stdout).toMatch(
      new RegExp(`\\n {2}社区 ${c} +\\S+ +C01 .* 新增 +已整改（已核验） +2025-06-30 +-\\n`),
    );
    const en = await citycheck('results', '--cycle', '2024', '--lang', 'en');
    expect(en.code).toBe(0);
    expect(en.stdout).toContain(
      'rectification: rate 33.3% ((1 rectified + 0 consolidated) / 3 item(s)); 0 identified, 2 planned, 0 in progress, 0 reopened, 1 overdue',
    );
    expect(en.stdout).toMatch(new RegExp(` ${b} .* C12 .* new +planned +2025-03-31 +overdue\\n`));
  });
});
