// Every validation rule with a passing and a failing case, against the real 2024.1 catalogue and the real
// division registry. Expected problems are written out by hand from the rule's definition.
import { loadCatalogue } from '@citycheck/catalogue';
import type { ReceivedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { testSubmission } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import type { RuleName } from './rule-name.js';
import { type RuleContext, validateReceived } from './rules.js';

const context: RuleContext = {
  catalogue: (version) => {
    try {
      return loadCatalogue(version);
    } catch {
      return undefined;
    }
  },
  divisions: loadDivisionRegistry(),
  now: () => new Date('2024-11-20T10:00:00.000Z'),
};

// 多福巷社区居委会 (110101001001) lies in 东华门街道 (110101001), 东城区 (110101), Beijing (110100): one C01
// count of 2 for cycle 2024 on catalogue 2024.1.
const base = testSubmission({ submissionId: '0b6f4c1e-2f9a-4d43-8a51-5f4bb3c1d001' });

const received = (submission: unknown): ReceivedSubmission => ({
  submission: submission as Record<string, unknown>,
  contentHash: 'h'.repeat(64),
  receivedAt: '2024-11-20T09:59:00.000Z',
});

const problemsOf = (submission: unknown) => {
  const outcome = validateReceived(received(submission), context);
  return outcome.kind === 'rejected' ? outcome.record.problems : [];
};

const with_ = (overrides: Record<string, unknown>) => ({ ...base, ...overrides });

/** The context with cycle 2026 run by an operator from 2026-01-01 00:00 UTC on `settings`. */
const operated2026 = (
  settings: { catalogueVersion: string; deadline: string; closesAt?: string },
  overrides: Partial<RuleContext> = {},
): RuleContext => ({
  ...context,
  cycleSettings: (cycle) =>
    cycle === 2026 ? { cycle, opensAt: '2026-01-01T00:00:00.000Z', ...settings } : undefined,
  ...overrides,
});

/** A community submission of `indicator` alone gets one problem: on that indicator, under `rule`. */
const expectOnlyIndicatorProblem = (indicator: string, rule: RuleName): void => {
  expect(problemsOf(with_({ observations: [{ indicator, value: 1 }] }))).toEqual([
    expect.objectContaining({ pointer: '/observations/0/indicator', rule, indicator }),
  ]);
};

describe('validateReceived', () => {
  it('accepts a valid community submission and places it in the hierarchy', () => {
    const outcome = validateReceived(received(base), context);
    expect(outcome.kind).toBe('valid');
    if (outcome.kind !== 'valid') return;
    expect(outcome.record).toMatchObject({
      provinceCode: '110000',
      cityCode: '110100',
      districtCode: '110101',
      streetCode: '110101001',
      unitLevel: 'community',
      submittedAt: '2024-11-20T09:59:00.000Z',
      observations: [{ indicator: 'C01', value: 2 }],
    });
  });

  it('schema: names the pointer of a wrong type', () => {
    expect(problemsOf(with_({ cycle: '2024' }))).toEqual([
      { pointer: '/cycle', rule: 'schema.type', message: 'must be integer', value: '2024' },
    ]);
  });

  it('catalogue_version_known', () => {
    expect(problemsOf(with_({ catalogueVersion: '2024.9' }))).toEqual([
      expect.objectContaining({
        pointer: '/catalogueVersion',
        rule: 'catalogue_version_known',
        value: '2024.9',
      }),
    ]);
  });

  it('catalogue_cycle: a catalogue is for its own cycle', () => {
    expect(problemsOf(with_({ cycle: 2023 })).map((p) => p.rule)).toEqual(['catalogue_cycle']);
  });

  it("cycle_closed: refused when received after the cycle's closing, judged by the receipt, not by when validated", () => {
    // 2026 opened by an operator on catalogue 2024.1, closing 2026-03-31T16:00:00Z (2026-04-01 00:00 Beijing).
    const operated = operated2026(
      {
        catalogueVersion: '2024.1',
        deadline: '2026-03-01T00:00:00.000Z',
        closesAt: '2026-03-31T16:00:00.000Z',
      },
      { now: () => new Date('2026-06-01T00:00:00.000Z') },
    );
    const at = (receivedAt: string) =>
      validateReceived({ ...received(with_({ cycle: 2026 })), receivedAt }, operated);
    // Received a second before the closing, validated two months later: valid (late, not closed).
    expect(at('2026-03-31T15:59:59.000Z').kind).toBe('valid');
    const refused = at('2026-03-31T16:00:01.000Z');
    expect(refused.kind).toBe('rejected');
    if (refused.kind !== 'rejected') return;
    expect(refused.record.problems).toEqual([
      {
        pointer: '/cycle',
        rule: 'cycle_closed',
        message:
          '2026 年度体检周期已于 2026-04-01 00:00（北京时间，即 2026-03-31T16:00:00.000Z）关闭，不再接收报送；如需补报，请联系主管部门重新开放该周期',
        value: 2026,
      },
    ]);
  });

  it('city_cycle_locked: refused when its city was locked at receipt, asking the lock with city, cycle and receipt', () => {
    const asked: string[] = [];
    const locked: RuleContext = {
      ...context,
      // Beijing's 2024 data locked from 2024-11-20T09:00Z on, as a ReviewBook would answer.
      cityCycleLock: (cycle, cityCode, receivedAt) => {
        asked.push(`${cycle} ${cityCode} ${receivedAt.toISOString()}`);
        return receivedAt >= new Date('2024-11-20T09:00:00Z')
          ? {
              pointer: '/cycle',
              rule: 'city_cycle_locked',
              message: '110100 的 2024 年度数据已锁定',
              value: 2024,
            }
          : undefined;
      },
    };
    const at = (receivedAt: string) => validateReceived({ ...received(base), receivedAt }, locked);
    expect(at('2024-11-20T08:59:59.000Z').kind).toBe('valid');
    const refused = at('2024-11-20T09:59:00.000Z');
    expect(refused.kind === 'rejected' ? refused.record.problems : []).toEqual([
      { pointer: '/cycle', rule: 'city_cycle_locked', message: '110100 的 2024 年度数据已锁定', value: 2024 },
    ]);
    expect(asked).toEqual(['2024 110100 2024-11-20T08:59:59.000Z', '2024 110100 2024-11-20T09:59:00.000Z']);
  });

  it('catalogue_cycle: an operated cycle takes the catalogue version its settings name', () => {
    const operated = operated2026({ catalogueVersion: '2025.1', deadline: '2026-12-31T00:00:00Z' });
    const problems = (submission: unknown) => {
      const outcome = validateReceived(received(submission), operated);
      return outcome.kind === 'rejected' ? outcome.record.problems.map((problem) => problem.rule) : [];
    };
    // 2024.1 for a cycle run on 2025.1: refused, though the catalogue exists.
    expect(problems(with_({ cycle: 2026 }))).toEqual(['catalogue_cycle']);
  });

  it('cycle_open: only open cycles are accepted when the deployment says which are open', () => {
    const closed = { ...context, openCycles: new Set([2025]) };
    const outcome = validateReceived(received(base), closed);
    expect(outcome.kind === 'rejected' ? outcome.record.problems.map((p) => p.rule) : []).toEqual([
      'cycle_open',
    ]);
    expect(validateReceived(received(base), { ...context, openCycles: new Set([2024]) }).kind).toBe('valid');
  });

  it('city_exists and unit_exists', () => {
    expect(problemsOf(with_({ cityCode: '119900' })).map((p) => p.rule)).toEqual([
      'city_exists',
      'unit_under_city',
    ]);
    expect(problemsOf(with_({ unit: { level: 'community', code: '110101001999' } }))).toEqual([
      expect.objectContaining({ pointer: '/unit/code', rule: 'unit_exists', value: '110101001999' }),
    ]);
  });

  it('unit_under_city: a Beijing community cannot be submitted by Shanghai', () => {
    expect(problemsOf(with_({ cityCode: '310100' }))).toEqual([
      expect.objectContaining({ pointer: '/unit/code', rule: 'unit_under_city', value: '110101001001' }),
    ]);
  });

  it('unit_exists: a block is placed by a real street, and a street code is not a community', () => {
    const block = with_({
      unit: { level: 'block', code: '110101001-B07' },
      observations: [{ indicator: 'B04', value: 1 }],
    });
    expect(validateReceived(received(block), context).kind).toBe('valid');
    const wrongLevel = with_({ unit: { level: 'district', code: '110101001' } });
    expect(problemsOf(wrongLevel).map((p) => p.pointer)).toEqual(['/unit/code']);
  });

  it('indicator_known: the code must exist in that catalogue version', () => {
    expectOnlyIndicatorProblem('C99', 'indicator_known');
  });

  it('indicator_dimension: a block indicator is not reported on a community', () => {
    expectOnlyIndicatorProblem('B04', 'indicator_dimension');
  });

  it('indicator_unique: one value per indicator per submission', () => {
    const twice = with_({
      observations: [
        { indicator: 'C01', value: 1 },
        { indicator: 'C01', value: 2 },
      ],
    });
    expect(problemsOf(twice)).toEqual([
      expect.objectContaining({ pointer: '/observations/1/indicator', rule: 'indicator_unique' }),
    ]);
  });

  it('kind_fields: a count needs value, and a rate field does not apply to it', () => {
    expect(
      problemsOf(with_({ observations: [{ indicator: 'C01', numerator: 1, denominator: 2 }] })).map(
        (p) => p.pointer,
      ),
    ).toEqual(['/observations/0/value', '/observations/0/numerator', '/observations/0/denominator']);
  });

  it('range: C01 counts from 0 to 500 compounds', () => {
    expect(
      validateReceived(received(with_({ observations: [{ indicator: 'C01', value: 500 }] })), context).kind,
    ).toBe('valid');
    expect(problemsOf(with_({ observations: [{ indicator: 'C01', value: 501 }] }))).toEqual([
      expect.objectContaining({ pointer: '/observations/0/value', rule: 'range', value: 501 }),
    ]);
    expect(problemsOf(with_({ observations: [{ indicator: 'C01', value: -1 }] }))[0]?.rule).toBe('range');
  });

  it('integer_count: a count of compounds is a whole number', () => {
    expect(problemsOf(with_({ observations: [{ indicator: 'C01', value: 2.5 }] }))).toEqual([
      expect.objectContaining({ pointer: '/observations/0/value', rule: 'integer_count', value: 2.5 }),
    ]);
  });

  const block = (observation: Record<string, unknown>) =>
    with_({ unit: { level: 'block', code: '110101001-B07' }, observations: [observation] });

  it('numerator_le_denominator and denominator_positive for a proportion (B02)', () => {
    expect(
      validateReceived(received(block({ indicator: 'B02', numerator: 10, denominator: 10 })), context).kind,
    ).toBe('valid');
    expect(problemsOf(block({ indicator: 'B02', numerator: 11, denominator: 10 }))).toEqual([
      expect.objectContaining({
        pointer: '/observations/0/numerator',
        rule: 'numerator_le_denominator',
        value: 11,
      }),
    ]);
    expect(problemsOf(block({ indicator: 'B02', numerator: 0, denominator: 0 }))).toEqual([
      expect.objectContaining({
        pointer: '/observations/0/denominator',
        rule: 'denominator_positive',
        value: 0,
      }),
    ]);
  });

  it('a ratio that is not a proportion (D03, km per km²) may exceed 1 but not its range', () => {
    const district = (numerator: number, denominator: number) =>
      with_({
        unit: { level: 'district', code: '110101' },
        observations: [{ indicator: 'D03', numerator, denominator }],
      });
    expect(validateReceived(received(district(90, 10)), context).kind).toBe('valid');
    expect(problemsOf(district(310, 10))).toEqual([
      expect.objectContaining({ pointer: '/observations/0/numerator', rule: 'range', value: 31 }),
    ]);
  });

  it('population_positive and per-capita range (D01, 0 to 50 m² per person)', () => {
    const district = (quantity: number, population: number) =>
      with_({
        unit: { level: 'district', code: '110101' },
        observations: [{ indicator: 'D01', quantity, population }],
      });
    const outcome = validateReceived(received(district(26_000, 10_000)), context);
    expect(outcome.kind === 'valid' ? outcome.record.observations[0]?.value : undefined).toBe(2.6);
    expect(problemsOf(district(1, 0))[0]).toMatchObject({
      rule: 'population_positive',
      pointer: '/observations/0/population',
    });
    expect(problemsOf(district(510_000, 10_000))[0]).toMatchObject({ rule: 'range', value: 51 });
  });

  it('weight_positive for a weighted mean (B10 commute minutes)', () => {
    expect(
      validateReceived(received(block({ indicator: 'B10', value: 38, weight: 1200 })), context).kind,
    ).toBe('valid');
    expect(problemsOf(block({ indicator: 'B10', value: 38, weight: 0 }))[0]).toMatchObject({
      rule: 'weight_positive',
    });
  });

  it('a share is reported as meets and becomes 1 or 0', () => {
    const outcome = validateReceived(
      received(with_({ observations: [{ indicator: 'C12', meets: false }] })),
      context,
    );
    expect(outcome.kind === 'valid' ? outcome.record.observations[0] : undefined).toEqual({
      indicator: 'C12',
      value: 0,
      meets: false,
    });
  });

  it('reports every problem of a submission at once', () => {
    const many = with_({
      cityCode: '310100',
      observations: [
        { indicator: 'C01', value: 501 },
        { indicator: 'B04', value: 1 },
      ],
    });
    expect(problemsOf(many).map((p) => p.rule)).toEqual(['unit_under_city', 'range', 'indicator_dimension']);
  });
});

describe('a county-level city its cycle names: 灵武市 640181 in 2025', () => {
  // 谢家井社区 640181001001 lies in 城区街道 640181001, 灵武市 640181, which the registry places under 银川市 640100.
  const named: RuleContext = {
    ...context,
    countyLevelCities: (cycle) => new Set(cycle === 2025 ? ['640181'] : []),
  };
  const lingwu = {
    ...base,
    cycle: 2025,
    catalogueVersion: '2025.1',
    cityCode: '640181',
    unit: { level: 'community', code: '640181001001' },
  };
  const outcomeOf = (submission: unknown) => validateReceived(received(submission), named);
  const problems = (submission: unknown) => {
    const outcome = outcomeOf(submission);
    return outcome.kind === 'rejected' ? outcome.record.problems : [];
  };

  it('reports its own communities as a city without districts, directly under Ningxia', () => {
    const outcome = outcomeOf(lingwu);
    expect(outcome.kind).toBe('valid');
    if (outcome.kind !== 'valid') return;
    expect(outcome.record).toMatchObject({
      provinceCode: '640000',
      cityCode: '640181',
      districtCode: null,
      streetCode: '640181001',
    });
  });

  it('reports blocks of its own streets', () => {
    const block = outcomeOf({
      ...lingwu,
      unit: { level: 'block', code: '640181001-B1' },
      observations: [{ indicator: 'B02', numerator: 3, denominator: 4 }],
    });
    expect(block.kind === 'rejected' ? block.record.problems : []).toEqual([]);
    if (block.kind === 'valid')
      expect(block.record).toMatchObject({ cityCode: '640181', districtCode: null, streetCode: '640181001' });
  });

  it('reports itself as a unit of level city, never as a district', () => {
    const itself = outcomeOf({
      ...lingwu,
      unit: { level: 'city', code: '640181' },
      observations: [{ indicator: 'D01', quantity: 1000, population: 10000 }],
    });
    expect(itself.kind).toBe('valid');
    if (itself.kind === 'valid')
      expect(itself.record).toMatchObject({ cityCode: '640181', districtCode: null });
    expect(
      problems({
        ...lingwu,
        unit: { level: 'district', code: '640181' },
        observations: [{ indicator: 'D01', quantity: 1000, population: 10000 }],
      }),
    ).toEqual([
      {
        pointer: '/unit/code',
        rule: 'unit_exists',
        message: '640181 reports as a city in this cycle: report it as a unit of level city',
        value: '640181',
      },
    ]);
  });

  it('takes its units away from 银川市, whose credential may not report them', () => {
    expect(problems({ ...lingwu, cityCode: '640100' })).toEqual([
      {
        pointer: '/unit/code',
        rule: 'unit_under_city',
        message: 'unit 640181001001 lies under city 640181, not the submitting city 640100',
        value: '640181001001',
      },
    ]);
  });

  it('belongs to 银川市 in a cycle that does not name it, and may not report as a city there', () => {
    const in2024 = { ...lingwu, cycle: 2024, catalogueVersion: '2024.1' };
    expect(validateReceived(received({ ...in2024, cityCode: '640100' }), named).kind).toBe('valid');
    expect(problems(in2024)).toEqual([
      {
        pointer: '/cityCode',
        rule: 'city_exists',
        message: '640181 灵武市 is a county-level city that cycle 2024 does not examine as a city of its own',
        value: '640181',
      },
      {
        pointer: '/unit/code',
        rule: 'unit_under_city',
        message: 'unit 640181001001 lies under city 640100, not the submitting city 640181',
        value: '640181001001',
      },
    ]);
  });

  it('leaves autonomous prefectures and placeholder groups no city to report', () => {
    // A per-capita D01 report by `cityCode` for `unit`.
    const asCity = (cityCode: string, unit: { level: string; code: string }) =>
      problems({
        ...base,
        cityCode,
        unit,
        observations: [{ indicator: 'D01', quantity: 1000, population: 10000 }],
      });
    expect(asCity('652800', { level: 'city', code: '652800' })).toEqual([
      expect.objectContaining({
        rule: 'city_exists',
        message: expect.stringMatching(/^652800 巴音郭楞蒙古自治州 is of kind autonomousPrefecture/),
      }),
      expect.objectContaining({ rule: 'unit_under_city' }),
    ]);
    expect(asCity('500200', { level: 'district', code: '500230' })).toEqual([
      expect.objectContaining({
        rule: 'city_exists',
        message: '500200 is not a division code of the registry',
      }),
      expect.objectContaining({
        rule: 'unit_under_city',
        message: 'unit 500230 lies under city 500100, not the submitting city 500200',
      }),
    ]);
  });
});
