// The numbers the ministry reads, against the real object store and DuckDB. Each expected value is worked
// out by hand in the comment above its assertion, from the rule in ../shared/DOMAIN.md, not from the code.
import { listCatalogueVersions, loadCatalogue } from '@citycheck/catalogue';
import type { ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import type { KafkaMessage } from '@citycheck/kafka';
import {
  type CommitLog,
  createCommitLog,
  datasets,
  defineLakeViews,
  type LakeDatabase,
  type ObjectStore,
} from '@citycheck/lake';
import { createTestStore, openTestDatabase } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CycleSettings,
  createDerivation,
  deriveCycles,
  derivedObjectKey,
  type ReviewStanding,
} from './derive.js';
import { cutChunks, writeChunk } from './lake-writer.js';
import { writeReference } from './reference.js';

const divisions = loadDivisionRegistry();
const topic = 'submissions.validated.v1';

interface Unit {
  readonly level: ValidatedSubmission['unitLevel'];
  readonly code: string;
}

let sequence = 0;
const record = (
  cycle: number,
  unit: Unit,
  observations: ValidatedSubmission['observations'],
  receivedAt = `${cycle}-06-01T08:00:00.000Z`,
): ValidatedSubmission => {
  sequence += 1;
  const anchor = unit.level === 'block' || unit.level === 'housing' ? unit.code.slice(0, 9) : unit.code;
  const street =
    divisions.level(anchor) === 'street'
      ? anchor
      : divisions.level(anchor) === 'community'
        ? divisions.parent(anchor)
        : undefined;
  const district =
    divisions.level(anchor) === 'district'
      ? anchor
      : street === undefined
        ? undefined
        : divisions.parent(street);
  return {
    submissionId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    contentHash: 'h'.repeat(64),
    cycle,
    catalogueVersion: `${cycle}.1`,
    provinceCode: divisions.provinceOf(anchor) as string,
    cityCode: divisions.cityOf(anchor) as string,
    districtCode: district ?? null,
    streetCode: street ?? null,
    unitLevel: unit.level,
    unitCode: unit.code,
    submittedAt: receivedAt,
    receivedAt,
    validatedAt: receivedAt,
    observations,
  };
};

describe('derived rollups, completeness, ledger and flags on the real object store', () => {
  let store: ObjectStore;
  let lake: LakeDatabase;
  let commitLog: CommitLog;
  let nextOffset = 0;

  /** Puts records in the lake through the same writer the worker uses, as if read from one partition. */
  const store_ = async (records: readonly ValidatedSubmission[]): Promise<void> => {
    const messages: KafkaMessage[] = records.map((value) => {
      const offset = String(nextOffset);
      nextOffset += 1;
      return {
        key: Buffer.from(value.cityCode),
        value: Buffer.from(JSON.stringify(value)),
        timestamp: String(Date.parse(value.receivedAt)),
        attributes: 0,
        offset,
        headers: {},
      } as KafkaMessage;
    });
    for (const chunk of cutChunks(messages, { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 1e12 })) {
      await writeChunk(chunk, topic, 0, {
        store,
        commitLog,
        duckdb: lake.connection,
        rotation: { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 1e12 },
      });
    }
  };

  const settings: CycleSettings[] = [
    { cycle: 2024, deadline: '2024-12-31T16:00:00.000Z', expectedCities: ['110100', '310100', '440100'] },
    { cycle: 2025, deadline: '2025-12-31T16:00:00.000Z', expectedCities: ['110100', '310100', '440100'] },
  ];

  const derive = async (targets?: number[], reviews: readonly ReviewStanding[] = []) =>
    deriveCycles(lake.connection, store, await commitLog.committed(), settings, targets, reviews);

  const derivedNames = [
    'indicator_rollups',
    'indicator_rollups_accepted',
    'completeness',
    'shortfall_ledger',
    'quality_flags',
  ] as const;

  const query = async (sql: string): Promise<Record<string, unknown>[]> => {
    await defineLakeViews(lake.connection, {
      store,
      observationObjects: (await commitLog.committed()).flatMap((entry) =>
        entry.objects.map((object) => object.key),
      ),
    });
    return (await lake.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  };

  beforeAll(async () => {
    store = await createTestStore();
    lake = await openTestDatabase(store);
    commitLog = createCommitLog(store, datasets.observations);
    await writeReference(
      lake.connection,
      store,
      listCatalogueVersions().map((v) => loadCatalogue(v)),
      divisions,
    );

    const [c1, c2, c3, c4] = divisions.communitiesOf('110100').filter((code) => code.startsWith('110101001'));
    const shanghai = divisions.communitiesOf('310100')[0] as string;
    await store_([
      // 2024, Beijing, street 东华门街道 110101001: four communities, each with its C01 count and C12 meets.
      ...(
        [
          [c1, 5, true],
          [c2, 0, true],
          [c3, 2, false],
          [c4, 0, true],
        ] as const
      ).map(([code, count, meets]) =>
        record(2024, { level: 'community', code: code as string }, [
          { indicator: 'C01', value: count },
          { indicator: 'C12', value: meets ? 1 : 0, meets },
        ]),
      ),
      // Two blocks of very different size on the same street (B02, a rate).
      record(2024, { level: 'block', code: '110101001-B01' }, [
        { indicator: 'B02', value: 1, numerator: 10, denominator: 10 },
      ]),
      record(2024, { level: 'block', code: '110101001-B02' }, [
        { indicator: 'B02', value: 0, numerator: 0, denominator: 1000 },
      ]),
      // Two Beijing districts (D01, m² of sports ground per person).
      record(2024, { level: 'district', code: '110101' }, [
        { indicator: 'D01', value: 2.6, quantity: 26_000, population: 10_000 },
      ]),
      record(2024, { level: 'district', code: '110102' }, [
        { indicator: 'D01', value: 0.01, quantity: 1_000, population: 100_000 },
      ]),
      // Shanghai reports after the deadline; Guangzhou never reports.
      record(
        2024,
        { level: 'community', code: shanghai },
        [{ indicator: 'C01', value: 1 }],
        '2025-01-05T02:00:00.000Z',
      ),
    ]);
    // Twelve more Beijing communities for the quality flags: one reports 40 problems where the others have 0-2.
    const others = divisions
      .communitiesOf('110100')
      .filter((code) => !code.startsWith('110101001'))
      .slice(0, 12);
    const values = [0, 1, 1, 2, 1, 0, 1, 2, 1, 1, 0, 40];
    await store_(
      others.map((code, index) =>
        record(2024, { level: 'community', code }, [{ indicator: 'C01', value: values[index] as number }]),
      ),
    );
    // A correction: c1's C01 goes from 5 to 3 in a later submission.
    await store_([
      record(
        2024,
        { level: 'community', code: c1 as string },
        [{ indicator: 'C01', value: 3 }],
        '2024-07-01T08:00:00.000Z',
      ),
    ]);
    // 2025: c1 still misses C01 (persisting), c2 now misses (new), c3 now meets (resolved), c4 meets again.
    await store_([
      record(2025, { level: 'community', code: c1 as string }, [{ indicator: 'C01', value: 1 }]),
      record(2025, { level: 'community', code: c2 as string }, [{ indicator: 'C01', value: 4 }]),
      record(2025, { level: 'community', code: c3 as string }, [{ indicator: 'C01', value: 0 }]),
      record(2025, { level: 'community', code: c4 as string }, [{ indicator: 'C01', value: 0 }]),
    ]);
    await derive();
  });

  afterAll(() => {
    lake.close();
    store.close();
  });

  const rollup = async (cycle: number, indicator: string, level: string, area: string) =>
    (
      await query(
        `SELECT * FROM rollups WHERE cycle = ${cycle} AND indicator_code = '${indicator}' AND level = '${level}' AND area_code = '${area}'`,
      )
    )[0];

  it('rolls a rate up as sum of numerators over sum of denominators, not a mean of rates', async () => {
    // (10 + 0) / (10 + 1000) = 0.00990099...; the mean of the two rates would be 0.5.
    for (const [level, area] of [
      ['street', '110101001'],
      ['district', '110101'],
      ['city', '110100'],
      ['nation', '000000'],
    ]) {
      const row = await rollup(2024, 'B02', level as string, area as string);
      expect(row?.value).toBeCloseTo(10 / 1010, 12);
      expect(row).toMatchObject({ numerator_sum: 10, denominator_sum: 1010, units_reported: 2n });
    }
  });

  it('rolls per-capita values up as sum of quantities over sum of populations', async () => {
    // (26,000 + 1,000) m² / (10,000 + 100,000) people = 0.245454... m²/person (the mean would be 1.305).
    const row = await rollup(2024, 'D01', 'city', '110100');
    expect(row?.value).toBeCloseTo(27_000 / 110_000, 12);
    // Beijing has 16 districts in the registry; two reported.
    expect(row).toMatchObject({
      units_reported: 2n,
      units_expected: BigInt(divisions.districtsOf('110100').length),
    });
  });

  it('rolls a share up as units meeting over units reported', async () => {
    // 3 of 4 communities of street 110101001 meet C12.
    const row = await rollup(2024, 'C12', 'street', '110101001');
    expect(row).toMatchObject({ value: 0.75, units_meeting: 3n, units_reported: 4n });
    expect(row?.units_expected).toBe(BigInt(divisions.communitiesOf('110101001').length));
  });

  it('lets a correction supersede the earlier value, keeps both in history, and reproduces the past as of a moment', async () => {
    // Current: 3 (corrected) + 0 + 2 + 0 = 5 on the street; before the correction: 5 + 0 + 2 + 0 = 7.
    expect((await rollup(2024, 'C01', 'street', '110101001'))?.value).toBe(5);
    const history = await query(
      "SELECT value FROM observations WHERE cycle = 2024 AND indicator_code = 'C01' AND street_code = '110101001' ORDER BY received_at",
    );
    expect(history.map((row) => row.value)).toEqual([5, 0, 2, 0, 3]);
    const asOf = await query(
      `SELECT sum(value) AS total FROM observations_as_of(TIMESTAMP '2024-06-15 00:00:00')
       WHERE cycle = 2024 AND indicator_code = 'C01' AND street_code = '110101001'`,
    );
    expect(asOf[0]?.total).toBe(7);
  });

  it('traces a rollup row back to the submissions and lake objects it was computed from', async () => {
    // The street's C01 rollup (5) comes from four current values: c1's correction (3), c2 (0), c3 (2), c4 (0).
    const lineage = await query("SELECT * FROM rollup_lineage(2024, 'C01', 'street', '110101001')");
    expect(lineage.map((row) => row.value)).toEqual([3, 0, 2, 0]);
    expect(lineage.reduce((sum, row) => sum + (row.value as number), 0)).toBe(
      (await rollup(2024, 'C01', 'street', '110101001'))?.value,
    );
    const objects = new Set(
      (await commitLog.committed()).flatMap((entry) =>
        entry.objects.map((o) => `s3://${store.bucket}/${o.key}`),
      ),
    );
    expect(lineage.every((row) => objects.has(row.lake_object as string))).toBe(true);
    expect(new Set(lineage.map((row) => row.submission_id)).size).toBe(4);
  });

  it('measures completeness with an on-time, a late and a missing city', async () => {
    const rows = await query('SELECT * FROM completeness WHERE cycle = 2024 ORDER BY level, area_code');
    const byArea = (level: string, area: string) =>
      rows.find((row) => row.level === level && row.area_code === area);
    // Beijing on time, Shanghai late (2025-01-05 after the 2024-12-31 deadline), Guangzhou missing.
    const counts: [string, string, Record<string, bigint>][] = [
      ['city', '110100', { cities_reported: 1n, cities_on_time: 1n, communities_reported: 16n }],
      ['city', '310100', { cities_reported: 1n, cities_on_time: 0n, communities_on_time: 0n }],
      ['city', '440100', { cities_expected: 1n, cities_reported: 0n, communities_reported: 0n }],
      ['nation', '000000', { cities_expected: 3n, cities_reported: 2n, cities_on_time: 1n }],
    ];
    for (const [level, area, expected] of counts) expect(byArea(level, area)).toMatchObject(expected);
    expect(byArea('nation', '000000')?.reporting_rate).toBeCloseTo(2 / 3, 12);
    expect(byArea('nation', '000000')?.reporting_rate_on_time).toBeCloseTo(1 / 3, 12);
    expect(byArea('city', '110100')?.communities_expected).toBe(
      BigInt(divisions.communitiesOf('110100').length),
    );
    expect(
      rows.filter((row) => row.level === 'city' && row.cities_reported === 0n).map((row) => row.area_code),
    ).toEqual(['440100']);
  });

  it('carries the previous cycle and the change on each rollup row', async () => {
    // Beijing's C01 in 2024: street 110101001 (3 + 0 + 2 + 0 = 5) plus twelve other communities
    // (0+1+1+2+1+0+1+2+1+1+0+40 = 50) = 55. In 2025 only the street's four report: 1 + 4 + 0 + 0 = 5.
    expect(await rollup(2025, 'C01', 'city', '110100')).toMatchObject({
      value: 5,
      previous_value: 55,
      change: -50,
    });
    expect(await rollup(2024, 'C01', 'city', '110100')).toMatchObject({
      value: 55,
      previous_value: null,
      change: null,
    });
  });

  it('keeps the shortfall ledger: new, persisting and resolved across two cycles', async () => {
    // C01's standard is <= 0 problems. 2024: c1 (3) and c3 (2) miss. 2025: c1 (1) and c2 (4) miss, c3 (0) meets.
    const [c1, c2, c3] = divisions.communitiesOf('110101001');
    const ledger = await query(
      "SELECT unit_code, status, since_cycle, gap FROM shortfall_ledger WHERE cycle = 2025 AND indicator_code = 'C01' ORDER BY unit_code",
    );
    expect(ledger).toEqual([
      { unit_code: c1, status: 'persisting', since_cycle: 2024, gap: 1 },
      { unit_code: c2, status: 'new', since_cycle: 2025, gap: 4 },
      { unit_code: c3, status: 'resolved', since_cycle: null, gap: 0 },
    ]);
  });

  it('flags a valid but suspicious value nationally and in its province, and nothing else', async () => {
    // 2024 C01 on communities, nationally (17 current values): 3,0,2,0 (street 110101001), 1 (Shanghai) and
    // 0,1,1,2,1,0,1,2,1,1,0,40. Sorted, the 9th of 17 is 1 = median; absolute deviations sorted are seven 0s,
    // eight 1s, a 2 and 39, so MAD = 1; 40 scores (40 - 1) / 1.4826 = 26.3 > 3.5, and 3 scores 1.35.
    // In Beijing (16 values, Shanghai's excluded) the median and MAD are also 1. The 2025 group has 4 units,
    // fewer than the 10 a distribution needs, so no flags there.
    const outlier = divisions.communitiesOf('110100').filter((code) => !code.startsWith('110101001'))[11];
    const flags = await query(
      'SELECT cycle, unit_code, indicator_code, flag, score, reference FROM quality_flags ORDER BY flag',
    );
    expect(flags).toEqual([
      {
        cycle: 2024,
        unit_code: outlier,
        indicator_code: 'C01',
        flag: 'national_outlier',
        score: expect.closeTo(39 / 1.4826, 9),
        reference: 1,
      },
      {
        cycle: 2024,
        unit_code: outlier,
        indicator_code: 'C01',
        flag: 'provincial_outlier',
        score: expect.closeTo(39 / 1.4826, 9),
        reference: 1,
      },
    ]);
  });

  it("carries each city's review state and rolls up over the accepted cities' data alone", async () => {
    // 2024: the ministry accepted Beijing, Shanghai is approved by its province, Guangzhou a draft (no
    // review); 2025: Beijing submitted for review.
    const reviews: ReviewStanding[] = [
      { cycle: 2024, cityCode: '110100', state: 'accepted', lastActionAt: '2025-02-01T00:00:00.000Z' },
      { cycle: 2024, cityCode: '310100', state: 'approved', lastActionAt: '2025-01-20T00:00:00.000Z' },
      // (Later than the test's commits, which are stamped with the clock.)
      { cycle: 2025, cityCode: '110100', state: 'submitted', lastActionAt: '2030-01-10T00:00:00.000Z' },
    ];
    await derive(undefined, reviews);
    const c01 = async (view: string, cycle: number) =>
      query(
        `SELECT * EXCLUDE (derived_at, lake_commit) FROM ${view} WHERE cycle = ${cycle} AND indicator_code = 'C01' ORDER BY level, area_code`,
      );
    const full = await c01('rollups', 2024);
    const accepted = await c01('rollups_accepted', 2024);
    const at = (rows: Record<string, unknown>[], level: string, area: string) =>
      rows.find((row) => row.level === level && row.area_code === area);
    // City rows say the city's state; other levels none.
    expect(at(full, 'city', '110100')?.review_state).toBe('accepted');
    expect(at(full, 'city', '310100')?.review_state).toBe('approved');
    expect(at(full, 'nation', '000000')?.review_state).toBeNull();
    // The full nation adds Beijing's 55 problems (3 + 0 + 2 + 0 on street 110101001 and 50 in twelve other
    // communities) and Shanghai's 1: 56 from 17 communities. Over accepted data only Beijing counts: 55 from
    // 16, against Beijing's communities alone; Shanghai and its province have no row.
    expect(at(full, 'nation', '000000')).toMatchObject({ value: 56, units_reported: 17n });
    expect(at(accepted, 'nation', '000000')).toMatchObject({
      value: 55,
      units_reported: 16n,
      units_expected: BigInt(divisions.communitiesOf('110100').length),
    });
    expect(at(accepted, 'province', '310000')).toBeUndefined();
    expect(at(accepted, 'city', '310100')).toBeUndefined();
    // Beijing's own rows, accepted, are its rows of the full rollups.
    for (const [level, area] of [
      ['city', '110100'],
      ['province', '110000'],
      ['street', '110101001'],
    ] as const)
      expect(at(accepted, level, area)).toEqual(at(full, level, area));
    // 2025: nobody accepted yet, so no accepted rollup at all; Beijing's city row says submitted.
    expect(await c01('rollups_accepted', 2025)).toEqual([]);
    expect(at(await c01('rollups', 2025), 'city', '110100')?.review_state).toBe('submitted');

    const completeness = await query(
      'SELECT * FROM completeness WHERE cycle = 2024 ORDER BY level, area_code',
    );
    const counts = (level: string, area: string) => {
      const row = at(completeness, level, area);
      return [
        row?.review_state,
        row?.cities_submitted,
        row?.cities_returned,
        row?.cities_approved,
        row?.cities_accepted,
        row?.cities_reopened,
      ];
    };
    expect(counts('city', '110100')).toEqual(['accepted', 0n, 0n, 0n, 1n, 0n]);
    expect(counts('city', '310100')).toEqual(['approved', 0n, 0n, 1n, 0n, 0n]);
    expect(counts('city', '440100')).toEqual(['draft', 0n, 0n, 0n, 0n, 0n]);
    expect(counts('province', '310000')).toEqual([null, 0n, 0n, 1n, 0n, 0n]);
    expect(counts('nation', '000000')).toEqual([null, 0n, 0n, 1n, 1n, 0n]);
    // A review action is a change of the cycle's input: derived_at is the later of the last commit and it.
    const derivedAt = await query(
      "SELECT DISTINCT derived_at FROM completeness WHERE cycle = 2025 AND level = 'nation'",
    );
    expect(derivedAt).toEqual([{ derived_at: new Date('2030-01-10T00:00:00.000Z') }]);

    // A long-lived derivation told of the reviews after it derived without them writes, once it derives the
    // cycles again, what a run from scratch with them writes.
    const keys = [2024, 2025].flatMap((cycle) => derivedNames.map((name) => derivedObjectKey(cycle, name)));
    const fromScratch = await Promise.all(keys.map((key) => store.get(key)));
    const connection = await lake.instance.connect();
    let told: readonly ReviewStanding[] = [];
    const derivation = await createDerivation({ duckdb: connection, store, settings, reviews: () => told });
    try {
      await derivation.derive(await commitLog.committed());
      told = reviews;
      await derivation.derive(await commitLog.committed(), [2024, 2025]);
      const after = await Promise.all(keys.map((key) => store.get(key)));
      for (const [index, bytes] of after.entries())
        expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(fromScratch[index] as Uint8Array))).toBe(
          true,
        );
    } finally {
      await derivation.close();
      connection.closeSync();
    }
    // The tests below expect the objects of no review.
    await derive();
  });

  it('rewrites byte-identical objects whether a cycle is derived incrementally or in a full run', async () => {
    const keys = [2024, 2025].flatMap((cycle) => derivedNames.map((name) => derivedObjectKey(cycle, name)));
    const before = await Promise.all(keys.map((key) => store.get(key)));
    await derive([2025]);
    await derive();
    const after = await Promise.all(keys.map((key) => store.get(key)));
    for (const [index, bytes] of after.entries()) {
      expect(bytes?.byteLength).toBeGreaterThan(0);
      expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(before[index] as Uint8Array))).toBe(true);
    }
  });

  it('rewrites byte-identical objects from a derivation that loaded the lake entry by entry, in either order', async () => {
    const keys = [2024, 2025].flatMap((cycle) => derivedNames.map((name) => derivedObjectKey(cycle, name)));
    await derive();
    const fromScratch = await Promise.all(keys.map((key) => store.get(key)));
    const entries = await commitLog.committed();
    expect(entries.length).toBeGreaterThan(2);
    // Reversed, c1's correction of C01 (a later entry) is loaded before the value it supersedes, which
    // must then not replace it. The derivation runs on a connection of its own, as in the worker.
    for (const order of [entries, [...entries].reverse()]) {
      const connection = await lake.instance.connect();
      const derivation = await createDerivation({ duckdb: connection, store, settings, loadBatchRows: 1 });
      try {
        const objectsIn = (some: typeof entries) =>
          some.reduce((sum, entry) => sum + entry.objects.length, 0);
        for (let count = 1; count < order.length; count += 1) {
          expect(await derivation.load(order.slice(0, count))).toMatchObject({
            inputObjects: objectsIn(order.slice(0, count)),
          });
        }
        const result = await derivation.derive(order);
        expect(result).toMatchObject({
          loadedObjects: objectsIn(order.slice(-1)),
          inputObjects: objectsIn(order),
        });
        const after = await Promise.all(keys.map((key) => store.get(key)));
        for (const [index, bytes] of after.entries()) {
          expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(fromScratch[index] as Uint8Array))).toBe(
            true,
          );
        }
      } finally {
        await derivation.close();
        connection.closeSync();
      }
    }
  });

  // Last: it adds to the lake. A city's resubmission and a correction after a derivation that has loaded
  // everything: its next run loads only the new entry and still writes what a run from scratch writes.
  it("rewrites a city's resubmission and a correction into the same bytes as a run from scratch", async () => {
    const keys = [2024, 2025].flatMap((cycle) => derivedNames.map((name) => derivedObjectKey(cycle, name)));
    const connection = await lake.instance.connect();
    const derivation = await createDerivation({ duckdb: connection, store, settings });
    try {
      await derivation.derive(await commitLog.committed());
      const [c1, c2, c3, c4] = divisions
        .communitiesOf('110100')
        .filter((code) => code.startsWith('110101001'));
      const shanghai = divisions.communitiesOf('310100')[0] as string;
      // Beijing's street 110101001 resubmits C01 for 2024 (2 problems in each of its four communities), and
      // Shanghai corrects its community's 1 to 6, both after everything loaded so far.
      await store_([
        ...[c1, c2, c3, c4].map((code) =>
          record(
            2024,
            { level: 'community', code: code as string },
            [{ indicator: 'C01', value: 2 }],
            '2024-08-01T08:00:00.000Z',
          ),
        ),
        record(
          2024,
          { level: 'community', code: shanghai },
          [{ indicator: 'C01', value: 6 }],
          '2025-01-06T02:00:00.000Z',
        ),
      ]);
      const entries = await commitLog.committed();
      const result = await derivation.derive(entries, [2024, 2025]);
      // One entry, one object per city.
      expect(result.loadedObjects).toBe(2);
      const incremental = await Promise.all(keys.map((key) => store.get(key)));
      await derive();
      const fromScratch = await Promise.all(keys.map((key) => store.get(key)));
      for (const [index, bytes] of incremental.entries()) {
        expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(fromScratch[index] as Uint8Array))).toBe(
          true,
        );
      }
      // The street now sums 2 + 2 + 2 + 2 = 8 problems (5 before: 3 + 0 + 2 + 0); Shanghai's city and
      // province 6. In 2025 the street has 1 + 4 + 0 + 0 = 5: previous value 8, change -3.
      expect(await rollup(2024, 'C01', 'street', '110101001')).toMatchObject({
        value: 8,
        units_reported: 4n,
      });
      expect(await rollup(2024, 'C01', 'city', '310100')).toMatchObject({ value: 6 });
      expect(await rollup(2024, 'C01', 'province', '310000')).toMatchObject({ value: 6 });
      expect(await rollup(2025, 'C01', 'street', '110101001')).toMatchObject({
        value: 5,
        previous_value: 8,
        change: -3,
      });
    } finally {
      await derivation.close();
      connection.closeSync();
    }
  });

  it("raises and clears a city's disagreement with its districts in the same bytes as a run from scratch", async () => {
    const keys = derivedNames.map((name) => derivedObjectKey(2024, name));
    const connection = await lake.instance.connect();
    const derivation = await createDerivation({ duckdb: connection, store, settings });
    const beijingFlag = async () =>
      query(
        "SELECT unit_code, value, flag, score, reference FROM quality_flags WHERE cycle = 2024 AND indicator_code = 'D01' AND flag = 'city_units_disagree'",
      );
    /** Stores Beijing's own D01, derives incrementally, and checks the bytes against a run from scratch. */
    const beijingReports = async (quantity: number, receivedAt: string): Promise<void> => {
      await store_([
        record(
          2024,
          { level: 'city', code: '110100' },
          [{ indicator: 'D01', value: quantity / 110_000, quantity, population: 110_000 }],
          receivedAt,
        ),
      ]);
      await derivation.derive(await commitLog.committed(), [2024]);
      const incremental = await Promise.all(keys.map((key) => store.get(key)));
      await derive([2024]);
      const fromScratch = await Promise.all(keys.map((key) => store.get(key)));
      for (const [index, bytes] of incremental.entries()) {
        expect(
          Buffer.from(bytes as Uint8Array).equals(Buffer.from(fromScratch[index] as Uint8Array)),
          keys[index],
        ).toBe(true);
      }
    };
    try {
      await derivation.derive(await commitLog.committed());
      expect(await beijingFlag()).toEqual([]);
      // Beijing's districts: (26,000 + 1,000) m² over (10,000 + 100,000) people = 27 / 110 m² a person.
      // Beijing reports 1 m² a person for itself: (1 - 27/110) / (27/110) = 83/27, far beyond 20%.
      await beijingReports(110_000, '2024-09-01T08:00:00.000Z');
      expect(await beijingFlag()).toEqual([
        {
          unit_code: '110100',
          value: 1,
          flag: 'city_units_disagree',
          score: expect.closeTo(83 / 27, 12),
          reference: expect.closeTo(27 / 110, 12),
        },
      ]);
      // Corrected to 27,500 m²: 0.25 against 27/110 is 1.9% off, within 20%, so the flag goes.
      await beijingReports(27_500, '2024-09-02T08:00:00.000Z');
      expect(await beijingFlag()).toEqual([]);
    } finally {
      await derivation.close();
      connection.closeSync();
    }
  });
});
