// The review of one city's data on a running stack: ingest, validate and aggregate run as real processes while 银川市
// (640100) submits its 2025 data for review, 宁夏's reviewer returns them with comments naming a unit and an
// indicator, the city sends a correction and submits again, the province approves, the ministry accepts, and
// the data are locked (ingest refuses a new submission with who accepted and when; validate rejects one that
// reached the received topic anyway) until the ministry reopens them with a reason, after which a submission
// is accepted again. The reviewers act through `citycheck review`; every step is checked on reviews.v1 (who,
// when, why), through GET of the review and in the lake's copy behind the reviews views, and another
// province's reviewer can neither act nor see. At every step the derived views are checked too, with values
// worked out by hand: the rollups and completeness carry 640100's review state beside 石嘴山市 (640200, never
// reviewed), and the rollups over accepted data only hold 640100 from its acceptance to its reopening alone.
// At the end reviews_as_of gives back the state at each action's moment.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import { ensureCredentialsTopic, type RoleName } from '@citycheck/credentials';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { sampleCycle } from '@citycheck/generator';
import { createReliableProducer, topicNames } from '@citycheck/kafka';
import { defineLakeViews, s3Url } from '@citycheck/lake';
import { reviewKey, reviewsTopic } from '@citycheck/reviews';
import {
  openTestDatabase,
  readTopic,
  repositoryRoot,
  sendReceivedUnchecked,
  testKafka,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace } from './namespace.js';
import { issueTestCredential, prepareStack, type Stack } from './support.js';

const run = promisify(execFile);
const kafka = testKafka();

type Review = {
  state: string;
  cityCode: string;
  cycle: number;
  actions: {
    action: string;
    by: string;
    role: string;
    at: string;
    state: string;
    reason?: string;
    comments?: { text: string; unit?: string; indicator?: string }[];
  }[];
};

describe('银川市 through review, sign-off, lock and reopening on a running stack', () => {
  let stack: Stack;
  let namespace: Namespace;
  let ingestUrl: string;
  const tokens = new Map<string, string>();
  let units: Submission[];
  let neighbours: Submission[];
  let store: Stack['store'];
  let lake: Awaited<ReturnType<typeof openTestDatabase>>;

  /** `citycheck review ...` with a credential; its exit code and what it printed. */
  const review = async (who: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(repositoryRoot, 'packages', 'cli', 'dist', 'main.js'), 'review', ...args, '--json'],
        {
          env: { ...process.env, CITYCHECK_URL: ingestUrl, CITYCHECK_TOKEN: tokens.get(who) as string },
          cwd: repositoryRoot,
        },
      );
      return { code: 0, review: JSON.parse(stdout) as Review, stderr };
    } catch (error) {
      const failed = error as { code: number; stderr: string };
      return { code: failed.code, review: undefined, stderr: failed.stderr };
    }
  };

  /** A review action taken at a moment between `before` and `after`, both returned. */
  const timed = async (who: string, ...args: string[]) => {
    const before = Date.now();
    const answer = await review(who, ...args);
    return { ...answer, before, after: Date.now() };
  };

  const get = async (who: string, path: string) => {
    const response = await fetch(`${ingestUrl}/v1/reviews/${path}`, {
      headers: { authorization: `Bearer ${tokens.get(who)}` },
    });
    return {
      status: response.status,
      body: (await response.json()) as Review & { error?: { message: string } },
    };
  };

  /** Who sent each submission through ingest (its status is read with the same credential). */
  const senders = new Map<string, string>();
  const submit = async (submission: Submission, language?: string, who = 'yinchuan') => {
    senders.set(submission.submissionId, who);
    const response = await fetch(`${ingestUrl}/v1/submissions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.get(who)}`,
        ...(language === undefined ? {} : { 'accept-language': language }),
      },
      body: JSON.stringify(submission),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  /** What a submission validate let through may be by now: aggregate stores and counts it soon after. */
  const passed = ['valid', 'stored', 'counted'];

  /** The submission's state once its status is one of `wanted`. */
  const statusOf = (submissionId: string, ...wanted: string[]) =>
    waitFor(
      async () => {
        const response = await fetch(`${ingestUrl}/v1/submissions/${submissionId}`, {
          headers: { authorization: `Bearer ${tokens.get(senders.get(submissionId) ?? 'yinchuan')}` },
        });
        const state = (await response.json()) as { status: string; problems?: unknown[] };
        return wanted.includes(state.status) ? state : undefined;
      },
      { timeoutMs: 30_000, what: `submission ${submissionId} to be ${wanted.join(' or ')}` },
    );

  /** The records of 640100's 2025 review on reviews.v1, in order. */
  const events = async (): Promise<Review[]> =>
    (await readTopic(kafka, reviewsTopic(namespace.topicNamespace)))
      .filter((message) => message.key?.toString() === reviewKey(2025, '640100'))
      .map((message) => JSON.parse(String(message.value)) as Review);

  /** The last action of the latest record, checked against who acted and the window it was taken in. */
  /** Who acts in the walk, as the events name them. */
  const actors = {
    yinchuan: { by: '银川市住建局', role: 'city' },
    ningxia: { by: '宁夏住建厅', role: 'reviewer:province:64' },
    ministry: { by: '住建部城市体检司', role: 'reviewer:ministry' },
  };

  const lastAction = async (
    state: string,
    { by, role }: { by: string; role: string },
    window: { before: number; after: number },
  ) => {
    const trail = await events();
    const latest = trail.at(-1) as Review;
    expect(latest.state).toBe(state);
    const entry = latest.actions.at(-1) as Review['actions'][number];
    expect({ by: entry.by, role: entry.role, state: entry.state }).toEqual({ by, role, state });
    expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(window.before);
    expect(Date.parse(entry.at)).toBeLessThanOrEqual(window.after);
    return { trail, entry };
  };

  /** Waits until aggregate's copy in the lake (the reviews view's object) shows 640100 in `state` after `actions`. */
  const inLake = (state: string, actions: number) =>
    waitFor(
      async () => {
        const rows = (
          await lake.connection
            .runAndReadAll(
              `SELECT state, actions, last_action_by FROM read_parquet('${s3Url(store.bucket, 'reference/reviews.parquet')}')
               WHERE cycle = 2025 AND city_code = '640100'`,
            )
            .catch(() => undefined)
        )?.getRowObjectsJS();
        const row = rows?.[0];
        return row?.state === state && row.actions === actions ? row : undefined;
      },
      { timeoutMs: 20_000, what: `640100's review to be ${state} after ${actions} actions in the lake` },
    );

  /**
   * What the derived views say of 2025's C01 (a sum) and C12 (a share) at city, province and nation level,
   * over everything and over accepted data only, and completeness's review states and counts
   * (submitted, returned, approved, accepted, reopened) of 640100, 640200 and 宁夏.
   */
  const derived = async () => {
    await defineLakeViews(lake.connection, { store, observationObjects: [] });
    const rows = async (sql: string) =>
      (await lake.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    const rollups = async (view: string) =>
      (
        await rows(
          `SELECT indicator_code, level, area_code, value, units_reported, review_state FROM ${view}
           WHERE cycle = 2025 AND indicator_code IN ('C01', 'C12') AND level IN ('city', 'province', 'nation')
           ORDER BY indicator_code, level, area_code`,
        )
      ).map(
        (row) =>
          `${row.indicator_code} ${row.level} ${row.area_code} = ${row.value} of ${row.units_reported}${row.review_state === null ? '' : ` ${row.review_state}`}`,
      );
    const completeness = (
      await rows(
        `SELECT level, area_code, review_state, cities_submitted, cities_returned, cities_approved, cities_accepted, cities_reopened
         FROM completeness WHERE cycle = 2025 AND area_code IN ('640100', '640200', '640000') ORDER BY level, area_code`,
      )
    ).map(
      (row) =>
        `${row.level} ${row.area_code}${row.review_state === null ? '' : ` ${row.review_state}`} ${[
          row.cities_submitted,
          row.cities_returned,
          row.cities_approved,
          row.cities_accepted,
          row.cities_reopened,
        ].join(' ')}`,
    );
    return {
      rollups: await rollups('rollups'),
      accepted: await rollups('rollups_accepted'),
      completeness,
    };
  };

  /** Waits until aggregate has derived `expected` (after a review action, a correction), and checks it. */
  const derivedShows = async (expected: Awaited<ReturnType<typeof derived>>) => {
    let last: Awaited<ReturnType<typeof derived>> | undefined;
    await waitFor(
      async () => {
        last = await derived();
        return JSON.stringify(last) === JSON.stringify(expected) ? last : undefined;
      },
      { timeoutMs: 30_000, what: 'the derived views to show the step' },
    ).catch(() => undefined);
    expect(last).toEqual(expected);
  };

  const unit = (index: number, overrides: Partial<Submission> = {}): Submission => ({
    ...(units[index] as Submission),
    submissionId: randomUUID(),
    submittedAt: new Date().toISOString(),
    ...overrides,
  });

  beforeAll(async () => {
    stack = await prepareStack('reviews');
    ({ namespace, store, ingestUrl } = stack);
    lake = await openTestDatabase(store);
    // credentials.v1 is the cluster's: every namespace's ingest authenticates against it.
    await ensureCredentialsTopic(kafka);
    const producer = createReliableProducer(kafka);
    await producer.connect();
    const issue = async (who: string, role: RoleName, name: string, cityCode?: string) => {
      tokens.set(who, (await issueTestCredential(producer, role, name, cityCode)).token);
    };
    await issue('yinchuan', 'city', '银川市住建局', '640100');
    await issue('shizuishan', 'city', '石嘴山市住建局', '640200');
    await issue('ningxia', 'reviewer:province:64', '宁夏住建厅');
    await issue('xinjiang', 'reviewer:province:65', '新疆住建厅');
    await issue('ministry', 'reviewer:ministry', '住建部城市体检司');
    await producer.disconnect();

    // Two communities of 银川 and three of 石嘴山 on catalogue 2025.1 (cycle 2025, open with no closing), each
    // reporting C01 (compounds without standard elderly care, a sum) and C12 (a standard community service
    // station, a share): 银川's 3 and 4, one meeting C12; 石嘴山's 1, 2 and 0, all meeting it.
    const communities = sampleCycle({
      catalogue: loadCatalogue('2025.1'),
      divisions: loadDivisionRegistry(),
      cities: ['640100', '640200'],
      communitiesPerCity: 3,
      seed: 16,
    }).valid.filter((submission) => submission.unit.level === 'community');
    const reporting = (submission: Submission, c01: number, meets: boolean): Submission => ({
      ...submission,
      observations: [
        { indicator: 'C01', value: c01 },
        { indicator: 'C12', meets },
      ],
    });
    const yinchuan = communities.filter((submission) => submission.cityCode === '640100');
    units = [reporting(yinchuan[0] as Submission, 3, true), reporting(yinchuan[1] as Submission, 4, false)];
    neighbours = communities
      .filter((submission) => submission.cityCode === '640200')
      .map((submission, index) => reporting(submission, [1, 2, 0][index] as number, true));
    expect(units.map((submission) => submission.cycle)).toEqual([2025, 2025]);
    expect(neighbours.map((submission) => submission.cycle)).toEqual([2025, 2025, 2025]);

    await stack.start(['ingest', 'validate', 'aggregate']);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    lake?.close();
  });

  it('walks submit, return, correction, submit, approve, accept, lock, reopen and a submission accepted again', async () => {
    // The rollup lines of 640100 (its C01 total and state; its C12 share is 1 of 2 = 0.5 throughout), of
    // 640200 (a draft: C01 1 + 2 + 0 = 3, C12 3 of 3 = 1) and of 宁夏 and the nation, which hold only them.
    const everything = (c01: number, c01Both: number, state: string) => [
      `C01 city 640100 = ${c01} of 2 ${state}`,
      'C01 city 640200 = 3 of 3 draft',
      `C01 nation 000000 = ${c01Both} of 5`,
      `C01 province 640000 = ${c01Both} of 5`,
      `C12 city 640100 = 0.5 of 2 ${state}`,
      'C12 city 640200 = 1 of 3 draft',
      // 1 + 3 of the 5 communities meet C12: 0.8 (the mean of the two cities' shares would be 0.75).
      'C12 nation 000000 = 0.8 of 5',
      'C12 province 640000 = 0.8 of 5',
    ];
    // Completeness: 640100's state and its counts by state (submitted returned approved accepted reopened),
    // 640200 a draft, 宁夏 counting its cities by state (640100 alone has one).
    const completeness = (state: string, counts: string) => [
      `city 640100 ${state} ${counts}`,
      'city 640200 draft 0 0 0 0 0',
      `province 640000 ${counts}`,
    ];

    // The city's data: two communities, both validated; 石嘴山's three too.
    const first = [unit(0), unit(1)];
    for (const submission of first) expect((await submit(submission)).status).toBe(202);
    const others = neighbours.map((submission) => ({ ...submission, submittedAt: new Date().toISOString() }));
    for (const submission of others)
      expect((await submit(submission, undefined, 'shizuishan')).status).toBe(202);
    for (const submission of [...first, ...others]) await statusOf(submission.submissionId, ...passed);
    // Nobody has acted: both cities are drafts, and no city's data are accepted, so no accepted rollup at all.
    // 640100's C01 3 + 4 = 7; with 640200's 3, 宁夏 and the nation 10.
    await derivedShows({
      rollups: everything(7, 10, 'draft'),
      accepted: [],
      completeness: completeness('draft', '0 0 0 0 0'),
    });
    expect((await get('yinchuan', '2025')).body).toEqual({
      kind: 'review',
      cycle: 2025,
      cityCode: '640100',
      state: 'draft',
      actions: [],
    });

    // 1. The city submits them for review.
    const submitted = await timed('yinchuan', 'submit', '--cycle', '2025');
    expect(submitted.code).toBe(0);
    expect(submitted.review?.state).toBe('submitted');
    await lastAction('submitted', actors.yinchuan, submitted);
    expect((await inLake('submitted', 1)).last_action_by).toBe('银川市住建局');
    await derivedShows({
      rollups: everything(7, 10, 'submitted'),
      accepted: [],
      completeness: completeness('submitted', '1 0 0 0 0'),
    });

    // Nobody but 宁夏 acts for the province: not 新疆's reviewer, not the city itself, and 新疆 cannot even look.
    const otherProvince = await review('xinjiang', 'approve', '--city', '640100', '--cycle', '2025');
    expect(otherProvince.code).toBe(1);
    expect(otherProvince.stderr).toContain(
      'forbidden: 省级审核人员（65）只能通过本省的城市：640100 属于省份 64',
    );
    const peek = await review('xinjiang', 'show', '--city', '640100', '--cycle', '2025');
    expect(peek.code).toBe(1);
    expect(peek.stderr).toContain('this credential may not read the review of city 640100');
    const self = await review('yinchuan', 'approve', '--city', '640100', '--cycle', '2025');
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('城市不能通过本市的数据：通过由所在省的审核人员进行');
    expect((await events()).map((record) => record.state)).toEqual(['submitted']);

    // 2. 宁夏 returns them, naming the unit and the indicator.
    const community = units[0]?.unit.code as string;
    const indicator = units[0]?.observations[0]?.indicator as string;
    const returned = await timed(
      'ningxia',
      'return',
      '--city',
      '640100',
      '--cycle',
      '2025',
      '--reason',
      '一处数据须核实',
      '--comment',
      `${community}/${indicator}: 与上年相比变化过大，请核实后更正`,
    );
    expect(returned.code).toBe(0);
    const { entry: returnEntry } = await lastAction('returned', actors.ningxia, returned);
    expect(returnEntry.reason).toBe('一处数据须核实');
    expect((await inLake('returned', 2)).last_action_by).toBe('宁夏住建厅');
    expect(returnEntry.comments).toEqual([
      { text: '与上年相比变化过大，请核实后更正', unit: community, indicator },
    ]);
    await derivedShows({
      rollups: everything(7, 10, 'returned'),
      accepted: [],
      completeness: completeness('returned', '0 1 0 0 0'),
    });
    // The city reads what it must correct.
    const seen = await get('yinchuan', '2025');
    expect(seen.body.state).toBe('returned');
    expect(seen.body.actions[1]?.comments).toEqual(returnEntry.comments);

    // 3. The city corrects the unit (a new submission of it: C01 5 instead of 3) and submits again.
    const correction = unit(0, {
      observations: [
        { indicator: 'C01', value: 5 },
        { indicator: 'C12', meets: true },
      ],
    });
    expect((await submit(correction)).status).toBe(202);
    await statusOf(correction.submissionId, ...passed);
    const resubmitted = await timed('yinchuan', 'submit', '--cycle', '2025');
    await lastAction('submitted', actors.yinchuan, resubmitted);
    await inLake('submitted', 3);
    // 640100's C01 is now 5 + 4 = 9; 宁夏 and the nation 9 + 3 = 12.
    await derivedShows({
      rollups: everything(9, 12, 'submitted'),
      accepted: [],
      completeness: completeness('submitted', '1 0 0 0 0'),
    });

    // 4. 宁夏 approves; 5. the ministry accepts.
    const approved = await timed('ningxia', 'approve', '--city', '640100', '--cycle', '2025');
    await lastAction('approved', actors.ningxia, approved);
    await inLake('approved', 4);
    expect((await get('ningxia', '2025/640100')).body.state).toBe('approved');
    // Approved by the province is not accepted: still no accepted rollup.
    await derivedShows({
      rollups: everything(9, 12, 'approved'),
      accepted: [],
      completeness: completeness('approved', '0 0 1 0 0'),
    });
    const accepted = await timed('ministry', 'accept', '--city', '640100', '--cycle', '2025');
    const { entry: acceptEntry } = await lastAction('accepted', actors.ministry, accepted);

    expect((await inLake('accepted', 5)).last_action_by).toBe('住建部城市体检司');
    // Accepted: over accepted data only, 640100's rows are its full ones (C01 9, C12 0.5 of 2), and 宁夏 and
    // the nation hold 640100 alone: C01 9 of 2 communities (not 12 of 5), C12 1 of 2 = 0.5 (not 0.8).
    const acceptedOnly = [
      'C01 city 640100 = 9 of 2 accepted',
      'C01 nation 000000 = 9 of 2',
      'C01 province 640000 = 9 of 2',
      'C12 city 640100 = 0.5 of 2 accepted',
      'C12 nation 000000 = 0.5 of 2',
      'C12 province 640000 = 0.5 of 2',
    ];
    await derivedShows({
      rollups: everything(9, 12, 'accepted'),
      accepted: acceptedOnly,
      completeness: completeness('accepted', '0 0 0 1 0'),
    });

    // 6. Locked: ingest refuses a new submission, naming who accepted and when (Beijing time is UTC + 8 h).
    const beijing = new Date(Date.parse(acceptEntry.at) + 8 * 3_600_000)
      .toISOString()
      .slice(0, 16)
      .replace('T', ' ');
    const lockedZh = `640100 的 2025 年度数据已于 ${beijing}（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放`;
    const refused = await submit(unit(1));
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'city_cycle_locked',
      message: lockedZh,
      problems: [{ pointer: '/cycle', rule: 'city_cycle_locked', message: lockedZh, value: 2025 }],
    });
    const english = await submit(unit(1), 'en');
    expect((english.body.error as { message: string }).message).toBe(
      `the data of 640100 for cycle 2025 were accepted by 住建部城市体检司 at ${acceptEntry.at} and are locked: no new submission is taken; to correct them, ask a reviewer to reopen them`,
    );
    // A record that reached the received topic without ingest's check: validate rejects it by the same rule.
    // Validate hears of the acceptance through its own follower of reviews.v1, within its poll; until then a
    // record passes, so records are sent until validate has heard (one, as a rule), and each one's outcome
    // is awaited before the next.
    const rejected = await waitFor(
      async () => {
        const smuggled = unit(1);
        await sendReceivedUnchecked(
          kafka,
          topicNames(namespace.topicNamespace).submissionsReceived,
          [smuggled],
          'outside-ingest',
        );
        const outcome = await statusOf(smuggled.submissionId, 'rejected', ...passed);
        return outcome.status === 'rejected' ? outcome : undefined;
      },
      { timeoutMs: 30_000, what: 'validate to reject a record received while 640100 is locked' },
    );
    expect(rejected.problems).toEqual([
      { pointer: '/cycle', rule: 'city_cycle_locked', message: lockedZh, value: 2025 },
    ]);

    // 7. The ministry reopens with a reason; 8. the city's submission is accepted and validated again.
    const noReason = await review('ministry', 'reopen', '--city', '640100', '--cycle', '2025');
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain('review_invalid: 重新开放需要说明理由（reason）');
    const reopened = await timed(
      'ministry',
      'reopen',
      '--city',
      '640100',
      '--cycle',
      '2025',
      '--reason',
      '统计部门更正了常住人口',
    );
    const { entry: reopenEntry } = await lastAction('reopened', actors.ministry, reopened);
    expect(reopenEntry.reason).toBe('统计部门更正了常住人口');
    await inLake('reopened', 6);
    // Reopened: 640100 leaves the accepted rollups again, which are empty once more.
    await derivedShows({
      rollups: everything(9, 12, 'reopened'),
      accepted: [],
      completeness: completeness('reopened', '0 0 0 0 1'),
    });
    const again = unit(1);
    expect((await submit(again)).status).toBe(202);
    await statusOf(again.submissionId, ...passed);

    // The whole trail, as the topic keeps it: one record per action, the last carrying every action.
    const trail = await events();
    expect(trail.map((record) => record.state)).toEqual([
      'submitted',
      'returned',
      'submitted',
      'approved',
      'accepted',
      'reopened',
    ]);
    expect(trail.at(-1)?.actions.map((entry) => `${entry.action} ${entry.by} ${entry.state}`)).toEqual([
      'submit 银川市住建局 submitted',
      'return 宁夏住建厅 returned',
      'submit 银川市住建局 submitted',
      'approve 宁夏住建厅 approved',
      'accept 住建部城市体检司 accepted',
      'reopen 住建部城市体检司 reopened',
    ]);
    // Each action later than the one before it.
    const times = (trail.at(-1)?.actions ?? []).map((entry) => Date.parse(entry.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // GET answers the same record, for the city and for its province; not for another province.
    expect((await get('yinchuan', '2025')).body).toEqual(trail.at(-1));
    expect((await get('ningxia', '2025/640100')).body).toEqual(trail.at(-1));
    expect((await get('xinjiang', '2025/640100')).status).toBe(403);

    // History: reviews_as_of gives back the state each action left, at the moment it was taken, and nothing
    // before the first. (The trail's copy in the lake is written right after reviews.parquet.)
    const asOf = async (moment: string) => {
      await defineLakeViews(lake.connection, { store, observationObjects: [] });
      return (
        await lake.connection.runAndReadAll(
          `SELECT state, actions, last_action_by FROM reviews_as_of(TIMESTAMP '${moment.replace('T', ' ').replace('Z', '')}')
           WHERE cycle = 2025 AND city_code = '640100'`,
        )
      ).getRowObjectsJS();
    };
    const actions = trail.at(-1)?.actions ?? [];
    await waitFor(async () => ((await asOf(new Date().toISOString()))[0]?.actions === 6 ? true : undefined), {
      what: 'the six actions in the lake',
    });
    expect(await asOf(new Date(Date.parse(actions[0]?.at as string) - 1).toISOString())).toEqual([]);
    for (const [index, entry] of actions.entries())
      expect(await asOf(entry.at)).toEqual([
        { state: entry.state, actions: index + 1, last_action_by: entry.by },
      ]);
  }, 240_000);
});
