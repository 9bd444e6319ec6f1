// Cycles as operated data, on a running stack: ingest, validate and aggregate run as real processes while an
// operator opens cycle 2026 (which no file in schemas/cycles/ knows), moves its deadline, closes it and
// reopens it with a reason through `citycheck admin cycles`; nothing is restarted. Submissions follow each
// action within seconds: accepted, marked late, refused with the cycle and its closing, accepted again; each
// reaches `counted` once a derivation includes it, and every derived row says as of which commit it is.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { sampleCycle } from '@citycheck/generator';
import { issueCityTokens } from '@citycheck/generator/stack';
import { topicNames } from '@citycheck/kafka';
import { createCommitLog, datasets, s3Url } from '@citycheck/lake';
import {
  openTestDatabase,
  repositoryRoot,
  sendReceivedUnchecked,
  testKafka,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace } from './namespace.js';
import { prepareStack, type Stack } from './support.js';

const run = promisify(execFile);

describe('an operator runs cycle 2026 on a running stack', () => {
  let stack: Stack;
  let namespace: Namespace;
  let store: Stack['store'];
  let ingestUrl: string;
  let token: string;
  // Four units of 北京市 (110100), each submitted once for 2026 on catalogue 2025.1.
  let units: Submission[];
  const receipts = new Map<string, { status: number; body: Record<string, unknown> }>();

  const admin = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(
      process.execPath,
      [join(repositoryRoot, 'packages', 'cli', 'dist', 'main.js'), 'admin', 'cycles', ...args],
      { env: { ...process.env, ...namespace.env }, cwd: repositoryRoot },
    );
    return stdout;
  };

  /** `citycheck admin cycles open` of 2026 on catalogue 2025.1 (again, to amend it), by ops-li. */
  const openCycle = (deadline: string, closesAt: string): Promise<string> =>
    admin(
      'open',
      '--cycle',
      '2026',
      '--catalogue',
      '2025.1',
      '--opens-at',
      '2026-03-01T00:00:00+08:00',
      '--deadline',
      deadline,
      '--closes-at',
      closesAt,
      '--by',
      'ops-li',
    );

  const submit = async (submission: Submission) => {
    const response = await fetch(`${ingestUrl}/v1/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...submission, submittedAt: new Date().toISOString() }),
    });
    const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
    receipts.set(submission.submissionId, answer);
    return answer;
  };

  const statusOf = async (submissionId: string): Promise<Record<string, unknown>> => {
    const response = await fetch(`${ingestUrl}/v1/submissions/${submissionId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as Record<string, unknown>;
  };

  const waitForStatus = (submissionId: string, wanted: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const state = await statusOf(submissionId);
        return state.status === wanted ? state : undefined;
      },
      { timeoutMs, what: `submission ${submissionId} to be ${wanted}` },
    );

  beforeAll(async () => {
    stack = await prepareStack('cycles');
    ({ namespace, store, ingestUrl } = stack);
    token = (await issueCityTokens(String(namespace.env.KAFKA_BROKERS), ['110100'])).get('110100') as string;

    const sample = sampleCycle({
      catalogue: loadCatalogue('2025.1'),
      divisions: loadDivisionRegistry(),
      cities: ['110100'],
      communitiesPerCity: 4,
      seed: 2026,
    });
    units = sample.valid
      .filter((submission) => submission.unit.level === 'community')
      .map((submission) => ({ ...submission, cycle: 2026 }));

    // Each is started once it says it serves: the workers consume, ingest listens.
    await stack.start(['ingest', 'validate', 'aggregate']);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses 2026 before it is opened, as no file knows it: ingest at once, and validate downstream', async () => {
    const before = { ...(units[0] as Submission), submissionId: randomUUID() };
    const refused = await submit(before);
    expect(refused.status).toBe(422);
    const error = refused.body.error as { code: string; problems: { rule: string }[] };
    expect(error.code).toBe('submission_invalid');
    expect(error.problems.map((problem) => problem.rule)).toContain('cycle_open');
    expect((await statusOf(before.submissionId)).error).toMatchObject({ code: 'not_found' });

    // Validate stays the authority: a record on the received topic that no ingest checked is rejected too.
    const downstream = { ...(units[0] as Submission), submissionId: randomUUID() };
    await sendReceivedUnchecked(
      testKafka(),
      topicNames(namespace.topicNamespace).submissionsReceived,
      [downstream],
      'cycles-test',
    );
    const rejected = (await waitForStatus(downstream.submissionId, 'rejected')) as {
      problems: { rule: string }[];
    };
    expect(rejected.problems.map((problem) => problem.rule)).toContain('cycle_open');
  });

  it('accepts 2026 within seconds of opening it, without a restart, and counts it', async () => {
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const closing = new Date(Date.now() + 7_200_000).toISOString();
    const opened = await openCycle(deadline, closing);
    expect(opened).toContain('opened cycle 2026');
    const started = Date.now();
    const onTime = units[0] as Submission;
    const answer = await submit(onTime);
    expect(answer.status).toBe(202);
    expect(answer.body.late).toBeUndefined();
    const counted = await waitForStatus(onTime.submissionId, 'counted');
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(30);
    expect(Date.parse(String(counted.countedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(answer.body.receivedAt)),
    );
    expect(counted.late).toBeUndefined();
    for (const service of stack.services) expect(service.running).toBe(true);
  });

  it('marks a submission after the deadline late in its receipt and status, and still counts it', async () => {
    const first = receipts.get((units[0] as Submission).submissionId)?.body.receivedAt as string;
    // The deadline moves to just after the first submission: it stays on time, what follows is late.
    const deadline = new Date(Date.parse(first) + 1).toISOString();
    await openCycle(deadline, new Date(Date.now() + 7_200_000).toISOString());
    const late = units[1] as Submission;
    // Ingest follows cycles.v1: the amended deadline reaches it within about a second.
    const answer = await waitFor(
      async () => {
        const sent = await submit({ ...late, submissionId: randomUUID() });
        return sent.body.late === true ? sent : undefined;
      },
      { timeoutMs: 15_000, what: 'a receipt marked late' },
    );
    expect(answer.status).toBe(202);
    const id = String(answer.body.submissionId);
    const counted = await waitForStatus(id, 'counted');
    expect(counted.late).toBe(true);
    expect((counted.receipt as Record<string, unknown>).late).toBe(true);
  });

  it('refuses a submission after the closing with the cycle and its closing, at ingest', async () => {
    const closed = await admin('close', '2026', '--by', 'ops-li', '--reason', '2026 年度报送结束');
    const closesAt = /closes at (\S+)/.exec(closed)?.[1] as string;
    expect(Date.parse(closesAt)).toBeLessThanOrEqual(Date.now());
    const refused = await waitFor(
      async () => {
        const sent = await submit({ ...(units[2] as Submission), submissionId: randomUUID() });
        return sent.status === 422 ? sent : undefined;
      },
      { timeoutMs: 15_000, what: 'ingest to refuse the closed cycle' },
    );
    const body = (refused.body as { error: { code: string; problems: { rule: string; message: string }[] } })
      .error;
    expect(body.code).toBe('cycle_closed');
    expect(body.problems).toHaveLength(1);
    const [problem] = body.problems;
    expect(problem?.rule).toBe('cycle_closed');
    // Beijing time of the closing, worked out here: UTC + 8 hours.
    const beijing = new Date(Date.parse(closesAt) + 8 * 3_600_000)
      .toISOString()
      .slice(0, 16)
      .replace('T', ' ');
    expect(problem?.message).toContain('2026 年度体检周期');
    expect(problem?.message).toContain(beijing);
    expect(problem?.message).toContain(closesAt);
    expect(problem?.message).toContain('关闭');
  });

  it('accepts again after an audited reopen, and keeps who, when and why on the topic and in the lake', async () => {
    const before = Date.now();
    await admin('reopen', '2026', '--reason', '北京市申请延期补报（部函〔2026〕12号）', '--by', 'ops-zhang');
    const reopened = units[3] as Submission;
    const answer = await waitFor(
      async () => {
        const sent = await submit({ ...reopened, submissionId: randomUUID() });
        return sent.status === 202 ? sent : undefined;
      },
      { timeoutMs: 15_000, what: 'ingest to accept the reopened cycle' },
    );
    expect(answer.body.late).toBe(true);
    await waitForStatus(String(answer.body.submissionId), 'counted');

    const listed = JSON.parse(await admin('list', '--json')) as {
      cycle: number;
      closesAt?: string;
      actions: { action: string; by: string; at: string; reason?: string }[];
    }[];
    const cycle2026 = listed.find((cycle) => cycle.cycle === 2026);
    expect(cycle2026?.closesAt).toBeUndefined();
    expect(cycle2026?.actions.map((action) => action.action)).toEqual(['open', 'amend', 'close', 'reopen']);
    const reopen = cycle2026?.actions.at(-1);
    expect(reopen).toMatchObject({ by: 'ops-zhang', reason: '北京市申请延期补报（部函〔2026〕12号）' });
    expect(Date.parse(String(reopen?.at))).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(String(reopen?.at))).toBeLessThanOrEqual(Date.now());

    // The lake's copy, for analysts, written by aggregate as it follows the topic.
    const lake = await openTestDatabase(store);
    try {
      const actions = await waitFor(
        async () => {
          const rows = (
            await lake.connection
              .runAndReadAll(
                `SELECT cycle, action, actor, reason, acted_at::VARCHAR AS acted_at
                 FROM read_parquet('${s3Url(store.bucket, 'reference/cycle_actions.parquet')}')
                 WHERE cycle = 2026 ORDER BY acted_at`,
              )
              .catch(() => undefined)
          )?.getRowObjectsJS();
          return rows?.length === 4 ? rows : undefined;
        },
        { timeoutMs: 15_000, what: 'the four actions on 2026 in the lake' },
      );
      expect(actions.at(-1)).toMatchObject({
        cycle: 2026,
        action: 'reopen',
        actor: 'ops-zhang',
        reason: '北京市申请延期补报（部函〔2026〕12号）',
      });
      expect(Date.parse(`${String(actions.at(-1)?.acted_at)}Z`)).toBe(Date.parse(String(reopen?.at)));
    } finally {
      lake.close();
    }
  });

  it('derives 2026 with every row saying when and as of which lake commit, and the deadline in completeness', async () => {
    const commitLog = createCommitLog(store, datasets.observations);
    const lake = await openTestDatabase(store);
    try {
      // Three accepted submissions of 2026 in the lake (on time, late, after the reopen).
      const entries = await waitFor(
        async () => {
          const committed = await commitLog.committed();
          return committed.reduce((sum, entry) => sum + entry.records, 0) === 3 ? committed : undefined;
        },
        { timeoutMs: 30_000, what: 'three submissions in the lake' },
      );
      const last = [...entries].sort((a, b) => (a.writtenAt < b.writtenAt ? -1 : 1)).at(-1);
      const lastCommit = `${last?.topic}+${last?.partition}+${last?.startOffset}`;
      const listed = JSON.parse(await admin('list', '--json')) as {
        cycle: number;
        actions: { at: string }[];
      }[];
      const lastAction = listed.find((cycle) => cycle.cycle === 2026)?.actions.at(-1)?.at as string;
      // As of the later of the last commit and the last change to the cycle's settings.
      const derivedAt = Math.max(Date.parse(String(last?.writtenAt)), Date.parse(lastAction));
      const freshnessOf = async (name: string) =>
        (
          await lake.connection
            .runAndReadAll(
              `SELECT derived_at::VARCHAR AS derived_at, lake_commit, count(*) AS n
               FROM read_parquet('${s3Url(store.bucket, `rollups/cycle=2026/${name}.parquet`)}') GROUP BY ALL`,
            )
            .catch(() => undefined)
        )?.getRowObjectsJS();
      // The rollups of the last derivation, which covers the last commit.
      await waitFor(
        async () =>
          (await freshnessOf('indicator_rollups'))?.[0]?.lake_commit === lastCommit ? true : undefined,
        { timeoutMs: 30_000, what: `the rollups of 2026 derived as of ${lastCommit}` },
      );
      for (const name of ['indicator_rollups', 'completeness', 'shortfall_ledger', 'quality_flags']) {
        const freshness = (await freshnessOf(name)) ?? [];
        // Every row of the object says the same (the ledger and the flags may have no rows with three units).
        expect(freshness.length, name).toBeLessThanOrEqual(1);
        for (const row of freshness) {
          expect(row.lake_commit, name).toBe(lastCommit);
          expect(Date.parse(`${String(row.derived_at)}Z`), name).toBe(derivedAt);
        }
        if (name === 'indicator_rollups' || name === 'completeness') expect(freshness, name).toHaveLength(1);
      }
      const nation = (
        await lake.connection.runAndReadAll(
          `SELECT cities_expected, cities_reported, cities_on_time, deadline::VARCHAR AS deadline
           FROM read_parquet('${s3Url(store.bucket, 'rollups/cycle=2026/completeness.parquet')}')
           WHERE level = 'nation'`,
        )
      ).getRowObjectsJS()[0];
      const first = receipts.get((units[0] as Submission).submissionId)?.body.receivedAt as string;
      // 北京市 reported, first on time (by the deadline the operator set just after its first receipt); the
      // expected cities are the registry's 297 reporting cities, as 2026 lists none of its own.
      expect(nation).toMatchObject({ cities_expected: 297n, cities_reported: 1n, cities_on_time: 1n });
      expect(Date.parse(`${String(nation?.deadline)}Z`)).toBe(Date.parse(first) + 1);
    } finally {
      lake.close();
    }
  });
});
