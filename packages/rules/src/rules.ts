// The validation step as a plain function: given a received submission, either a validated submission
// (each observation reduced to the unit value rollups use) or every reason it is rejected, each naming the
// JSON pointer, the indicator, the rule and the offending value so a city can act on it.
import {
  type Catalogue,
  type Indicator,
  type ObservationField,
  observationFields,
  unitValue,
} from '@citycheck/catalogue';
import {
  compileContract,
  describeSchemaErrors,
  type Observation,
  type ReceivedSubmission,
  type RejectedSubmission,
  type Submission,
  type ValidatedSubmission,
} from '@citycheck/contracts';
import { beijingTime, cycleWindow, type OperatedCycleSettings } from '@citycheck/cycles';
import type { DivisionRegistry } from '@citycheck/divisions';
import type { FieldProblem } from '@citycheck/errors';
import type { RuleName, RuleProblem } from './rule-name.js';

export interface RuleContext {
  /** The catalogue of a version, or undefined when there is no such version. */
  readonly catalogue: (version: string) => Catalogue | undefined;
  readonly divisions: DivisionRegistry;
  /** Cycles currently open for submissions; undefined accepts any cycle the catalogue covers. */
  readonly openCycles?: ReadonlySet<number>;
  /**
   * The county-level cities a cycle examines, each a reporting city of its own (see CycleSettings); none
   * when absent.
   */
  readonly countyLevelCities?: (cycle: number) => ReadonlySet<string>;
  /**
   * The settings in force for a cycle (the shipped file or an operator's record). With them, a submission must
   * use the cycle's catalogue version and must have been received by the cycle's closing.
   */
  readonly cycleSettings?: (cycle: number) => OperatedCycleSettings | undefined;
  /**
   * The city_cycle_locked problem when the city's data for the cycle stood accepted by the ministry when the
   * submission was received (ReviewBook.lockRule of @citycheck/reviews), else undefined. Without it, no lock.
   */
  readonly cityCycleLock?: (cycle: number, cityCode: string, receivedAt: Date) => FieldProblem | undefined;
  readonly now: () => Date;
}

const noCountyLevelCities: ReadonlySet<string> = new Set();

/** The reason a submission for a closed cycle is refused, for the city in Chinese. */
export const cycleClosedProblem = (settings: OperatedCycleSettings): RuleProblem => ({
  pointer: '/cycle',
  rule: 'cycle_closed',
  message:
    `${settings.cycle} 年度体检周期已于 ${beijingTime(settings.closesAt ?? '')}（北京时间，即 ${settings.closesAt}）关闭，` +
    '不再接收报送；如需补报，请联系主管部门重新开放该周期',
  value: settings.cycle,
});

export type Outcome =
  | { readonly kind: 'valid'; readonly record: ValidatedSubmission }
  | { readonly kind: 'rejected'; readonly record: RejectedSubmission };

const checkSchema = compileContract<Submission>('submission');

/** Which fields each kind of indicator is reported with: the catalogue's own table. */
const fieldsOfKind = observationFields;

const reportedFields: readonly ObservationField[] = [
  'value',
  'numerator',
  'denominator',
  'quantity',
  'population',
  'weight',
  'meets',
];

export const validateReceived = (received: ReceivedSubmission, context: RuleContext): Outcome => {
  const submission = received.submission as unknown;
  const rejected = (problems: FieldProblem[]): Outcome => {
    const body = (typeof submission === 'object' && submission !== null ? submission : {}) as Record<
      string,
      unknown
    >;
    return {
      kind: 'rejected',
      record: {
        submissionId: typeof body.submissionId === 'string' ? body.submissionId : null,
        cityCode: typeof body.cityCode === 'string' ? body.cityCode : null,
        contentHash: received.contentHash,
        receivedAt: received.receivedAt,
        rejectedAt: context.now().toISOString(),
        problems,
      },
    };
  };

  if (!checkSchema(submission)) return rejected(describeSchemaErrors(checkSchema.errors, submission));

  const problems: RuleProblem[] = [];
  const { divisions } = context;

  const catalogue = context.catalogue(submission.catalogueVersion);
  const settings = context.cycleSettings?.(submission.cycle);
  if (catalogue === undefined) {
    problems.push({
      pointer: '/catalogueVersion',
      rule: 'catalogue_version_known',
      message: `there is no indicator catalogue ${submission.catalogueVersion}`,
      value: submission.catalogueVersion,
    });
  } else if (settings !== undefined && settings.catalogueVersion !== catalogue.id) {
    // An operator may open a cycle on an earlier catalogue version: the cycle's settings decide.
    problems.push({
      pointer: '/catalogueVersion',
      rule: 'catalogue_cycle',
      message: `cycle ${submission.cycle} uses catalogue ${settings.catalogueVersion}, not ${catalogue.id}`,
      value: submission.catalogueVersion,
    });
  } else if (settings === undefined && catalogue.cycle !== submission.cycle) {
    problems.push({
      pointer: '/cycle',
      rule: 'catalogue_cycle',
      message: `catalogue ${catalogue.id} is for cycle ${catalogue.cycle}, not ${submission.cycle}`,
      value: submission.cycle,
    });
  }
  // Judged by when ingest received it: a submission received before the closing passes however late it is
  // validated.
  if (settings !== undefined && cycleWindow(settings, new Date(received.receivedAt)).state === 'closed') {
    problems.push(cycleClosedProblem(settings));
  }
  // Also judged by the receipt: ingest refuses these at its door, but a record may reach the received topic
  // from an instance that had not yet heard of the acceptance, or from outside ingest.
  const locked = context.cityCycleLock?.(
    submission.cycle,
    submission.cityCode,
    new Date(received.receivedAt),
  );
  if (locked !== undefined) problems.push({ ...locked, rule: 'city_cycle_locked' });
  if (context.openCycles !== undefined && !context.openCycles.has(submission.cycle)) {
    problems.push({
      pointer: '/cycle',
      rule: 'cycle_open',
      message: `cycle ${submission.cycle} is not open for submissions`,
      value: submission.cycle,
    });
  }

  // Where the unit sits: the city it reports through in this cycle must be the submitting city. A county-level
  // city the cycle names reports for itself and its units, which its prefecture then may not report.
  const { cityCode, unit } = submission;
  const named = context.countyLevelCities?.(submission.cycle) ?? noCountyLevelCities;
  if (divisions.reportingCityOf(cityCode, named) !== cityCode) {
    const kind = divisions.kind(cityCode);
    problems.push({
      pointer: '/cityCode',
      rule: 'city_exists',
      message:
        kind === undefined
          ? `${cityCode} is not a division code of the registry`
          : kind === 'countyLevelCity'
            ? `${cityCode} ${divisions.name(cityCode) ?? ''} is a county-level city that cycle ${submission.cycle} does not examine as a city of its own`
            : `${cityCode} ${divisions.name(cityCode) ?? ''} is of kind ${kind}, not a city that reports (a prefecture-level city, a municipality or a county-level city its cycle names)`,
      value: cityCode,
    });
  }
  const placed = placeUnit(unit.level, unit.code, divisions, named);
  if (placed.problem !== undefined) {
    problems.push({ pointer: '/unit/code', rule: 'unit_exists', message: placed.problem, value: unit.code });
  } else if (placed.cityCode !== cityCode) {
    problems.push({
      pointer: '/unit/code',
      rule: 'unit_under_city',
      message:
        placed.cityCode === undefined
          ? `unit ${unit.code} lies in no city that reports in cycle ${submission.cycle}, not in the submitting city ${cityCode}`
          : `unit ${unit.code} lies under city ${placed.cityCode}, not the submitting city ${cityCode}`,
      value: unit.code,
    });
  }

  const observations: ValidatedSubmission['observations'] = [];
  const seen = new Set<string>();
  submission.observations.forEach((observation, index) => {
    const pointer = `/observations/${index}`;
    const code = observation.indicator;
    if (seen.has(code)) {
      problems.push({
        pointer: `${pointer}/indicator`,
        rule: 'indicator_unique',
        message: `indicator ${code} is reported more than once in this submission`,
        indicator: code,
        value: code,
      });
      return;
    }
    seen.add(code);
    if (catalogue === undefined) return;
    const indicator = catalogue.indicator(code);
    if (indicator === undefined || indicator.status === 'retired') {
      problems.push({
        pointer: `${pointer}/indicator`,
        rule: 'indicator_known',
        message:
          indicator === undefined
            ? `catalogue ${catalogue.id} has no indicator ${code}`
            : `indicator ${code} is retired in catalogue ${catalogue.id}`,
        indicator: code,
        value: code,
      });
      return;
    }
    if (!indicator.unitLevels.includes(unit.level)) {
      problems.push({
        pointer: `${pointer}/indicator`,
        rule: 'indicator_dimension',
        message: `indicator ${code} (${indicator.dimension}) is reported on ${indicator.unitLevels.join('/')} units, not on a ${unit.level}`,
        indicator: code,
        value: code,
      });
      return;
    }
    const before = problems.length;
    checkObservation(indicator, observation, pointer, problems);
    if (problems.length > before) return;
    const value = unitValue(indicator, observation);
    if (value === undefined) return;
    const normalised: ValidatedSubmission['observations'][number] = { indicator: code, value };
    for (const field of fieldsOfKind[indicator.kind]) {
      const reported = observation[field];
      if (reported !== undefined) Object.assign(normalised, { [field]: reported });
    }
    observations.push(normalised);
  });

  if (problems.length > 0) return rejected(problems);
  return {
    kind: 'valid',
    record: {
      submissionId: submission.submissionId,
      contentHash: received.contentHash,
      cycle: submission.cycle,
      catalogueVersion: submission.catalogueVersion,
      provinceCode: placed.provinceCode as string,
      cityCode,
      districtCode: placed.districtCode ?? null,
      streetCode: placed.streetCode ?? null,
      unitLevel: unit.level,
      unitCode: unit.code,
      submittedAt: submission.submittedAt ?? received.receivedAt,
      receivedAt: received.receivedAt,
      validatedAt: context.now().toISOString(),
      observations,
    },
  };
};

interface Placement {
  readonly problem?: string;
  readonly provinceCode?: string;
  readonly cityCode?: string;
  readonly districtCode?: string;
  readonly streetCode?: string;
}

/**
 * Finds the unit in the division hierarchy: its street, district, reporting city and province. With
 * `countyLevelCities` (the cycle's), a county-level city named there is a city: a `city` unit of its own code,
 * and the city of everything under it, which then has no district (as in a city without districts).
 */
export const placeUnit = (
  level: Submission['unit']['level'],
  code: string,
  divisions: DivisionRegistry,
  countyLevelCities: ReadonlySet<string> = noCountyLevelCities,
): Placement => {
  // Blocks and housing units have no national code: they are placed by the street their id starts with.
  const anchor = level === 'block' || level === 'housing' ? code.slice(0, 9) : code;
  const expected = {
    community: 'community',
    block: 'street',
    housing: 'street',
    district: 'district',
    city: 'city',
  }[level];
  const actual = divisions.level(anchor);
  if (actual === undefined) return { problem: `${anchor} is not a known division code` };
  const namedCity = countyLevelCities.has(anchor) && divisions.kind(anchor) === 'countyLevelCity';
  if (namedCity && level === 'district')
    return { problem: `${anchor} reports as a city in this cycle: report it as a unit of level city` };
  if (actual !== expected && !(namedCity && level === 'city'))
    return { problem: `${anchor} is a ${actual} code, but a ${level} needs a ${expected} code` };
  const cityCode = divisions.reportingCityOf(anchor, countyLevelCities);
  const inCountyLevelCity = cityCode !== undefined && countyLevelCities.has(cityCode);
  const streetCode =
    actual === 'street' ? anchor : actual === 'community' ? divisions.parent(anchor) : undefined;
  const districtCode = inCountyLevelCity
    ? undefined
    : actual === 'district'
      ? anchor
      : streetCode !== undefined
        ? districtOf(streetCode, divisions)
        : undefined;
  const provinceCode = divisions.provinceOf(anchor);
  return {
    ...(provinceCode === undefined ? {} : { provinceCode }),
    ...(cityCode === undefined ? {} : { cityCode }),
    ...(districtCode === undefined ? {} : { districtCode }),
    ...(streetCode === undefined ? {} : { streetCode }),
  };
};

const districtOf = (streetCode: string, divisions: DivisionRegistry): string | undefined => {
  const parent = divisions.parent(streetCode);
  return parent !== undefined && divisions.level(parent) === 'district' ? parent : undefined;
};

const checkObservation = (
  indicator: Indicator,
  observation: Observation,
  pointer: string,
  problems: RuleProblem[],
): void => {
  const code = indicator.code;
  const fieldProblem = (field: string, rule: RuleName, message: string, value: unknown): void => {
    problems.push({ pointer: `${pointer}/${field}`, rule, message, indicator: code, value });
  };
  const needed = fieldsOfKind[indicator.kind];
  for (const field of needed) {
    if (observation[field] === undefined) {
      problems.push({
        pointer: `${pointer}/${field}`,
        rule: 'kind_fields',
        message: `indicator ${code} is a ${indicator.kind} and is reported with ${needed.join(' and ')}`,
        indicator: code,
      });
    }
  }
  for (const field of reportedFields) {
    if (observation[field] !== undefined && !needed.includes(field)) {
      fieldProblem(
        field,
        'kind_fields',
        `indicator ${code} is a ${indicator.kind}; ${field} does not apply (report ${needed.join(' and ')})`,
        observation[field],
      );
    }
  }
  if (problems.some((problem) => problem.pointer.startsWith(`${pointer}/`))) return;

  const { min, max } = indicator.range;
  const inRange = (field: keyof Observation, value: number): void => {
    if (value < min || value > max) {
      fieldProblem(field, 'range', `${field} of ${code} must be from ${min} to ${max}`, value);
    }
  };
  /** Whether a weight, denominator or population is above 0; a problem under `<field>_positive` if not. */
  const isPositive = (field: 'weight' | 'denominator' | 'population', value: number): boolean => {
    if (value > 0) return true;
    fieldProblem(field, `${field}_positive`, `${field} of ${code} must be greater than 0`, value);
    return false;
  };
  switch (indicator.kind) {
    case 'count':
    case 'length':
      inRange('value', observation.value as number);
      if (indicator.kind === 'count' && !Number.isInteger(observation.value)) {
        fieldProblem(
          'value',
          'integer_count',
          `${code} counts ${indicator.unit.en}; the value must be a whole number`,
          observation.value,
        );
      }
      break;
    case 'score':
    case 'mean':
      inRange('value', observation.value as number);
      isPositive('weight', observation.weight as number);
      break;
    case 'rate': {
      const numerator = observation.numerator as number;
      const denominator = observation.denominator as number;
      if (!isPositive('denominator', denominator)) break;
      if (numerator < 0 || (max <= 1 && numerator > denominator)) {
        // A proportion (range within 0..1) cannot count more than its denominator; a ratio such as road
        // kilometres per square kilometre can, and is held to its range below instead.
        fieldProblem(
          'numerator',
          'numerator_le_denominator',
          max <= 1
            ? `numerator of ${code} must be from 0 to the denominator (${denominator})`
            : `numerator of ${code} must not be negative`,
          numerator,
        );
      } else if (numerator / denominator < min || numerator / denominator > max) {
        fieldProblem(
          'numerator',
          'range',
          `${code} as numerator / denominator must be from ${min} to ${max}`,
          numerator / denominator,
        );
      }
      break;
    }
    case 'perCapita': {
      const population = observation.population as number;
      if (!isPositive('population', population)) break;
      if ((observation.quantity as number) < 0) {
        fieldProblem('quantity', 'range', `quantity of ${code} must not be negative`, observation.quantity);
      } else {
        const perCapita = (observation.quantity as number) / population;
        if (perCapita < min || perCapita > max) {
          fieldProblem(
            'quantity',
            'range',
            `${code} as quantity / population must be from ${min} to ${max}`,
            perCapita,
          );
        }
      }
      break;
    }
    case 'share':
      break;
  }
};
