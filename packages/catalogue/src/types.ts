// The shape of an indicator catalogue file (schemas/catalogue/<version>.json), written by hand to mirror
// catalogue.schema.json; catalogue-files.test.ts holds the two together (enums and field names).

export const dimensions = ['housing', 'community', 'block', 'city'] as const;
/** housing 住房, community 小区/社区, block 街区, city 城区/城市: the four dimensions, small to large. */
export type Dimension = (typeof dimensions)[number];

export const unitLevels = ['housing', 'community', 'block', 'district', 'city'] as const;
/** Level of the unit an observation is reported for; the same words as a submission's `unit.level`. */
export type UnitLevel = (typeof unitLevels)[number];

export const indicatorKinds = ['count', 'length', 'rate', 'perCapita', 'share', 'score', 'mean'] as const;
export type IndicatorKind = (typeof indicatorKinds)[number];

export const aggregations = ['sum', 'ratio', 'perCapita', 'share', 'weightedMean'] as const;
export type Aggregation = (typeof aggregations)[number];

export const directions = ['higherIsBetter', 'lowerIsBetter'] as const;
export type Direction = (typeof directions)[number];

export const standardOperators = ['<=', '>=', '=='] as const;
export type StandardOperator = (typeof standardOperators)[number];

export const indicatorStatuses = ['active', 'retired'] as const;
export type IndicatorStatus = (typeof indicatorStatuses)[number];

export const changeKinds = ['added', 'retired', 'revised'] as const;
export type ChangeKind = (typeof changeKinds)[number];

export interface LocalizedText {
  readonly zh: string;
  readonly en: string;
}

/** The unit people read a value in. A stored value times `scale` (1 when absent) is the value in this unit. */
export interface MeasurementUnit {
  readonly zh: string;
  readonly en: string;
  readonly scale?: number;
}

/** An additive quantity a unit reports: a rate's numerator or denominator, a per-capita quantity, a weight. */
export interface ReportedQuantity {
  readonly nameZh: string;
  readonly nameEn: string;
  readonly unit: MeasurementUnit;
}

/** Inclusive bounds of the unit value, in stored units (fractions for percentages). */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

/** The condition a unit value must satisfy; a unit that does not satisfy it misses the standard. */
export interface Standard {
  readonly operator: StandardOperator;
  readonly value: number;
  readonly note?: string;
}

interface IndicatorBase {
  /** Stable code: H housing, C community, B block, D district/city, then two digits. Never reused. */
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly definition?: LocalizedText;
  readonly dimension: Dimension;
  readonly unit: MeasurementUnit;
  readonly direction: Direction;
  readonly range: ValueRange;
  readonly standard?: Standard;
  readonly unitLevels: readonly UnitLevel[];
  readonly status: IndicatorStatus;
  /** Catalogue version that introduced the indicator. */
  readonly since: string;
  /** Catalogue version that retired it; present exactly when status is retired. */
  readonly retiredIn?: string;
}

/** count: {value}, a whole number of things; length: {value}. Both roll up by sum. */
export interface SumIndicator extends IndicatorBase {
  readonly kind: 'count' | 'length';
  readonly aggregation: 'sum';
}

/** rate: {numerator, denominator}; unit value numerator / denominator; rolls up as sum / sum. */
export interface RateIndicator extends IndicatorBase {
  readonly kind: 'rate';
  readonly aggregation: 'ratio';
  readonly numerator: ReportedQuantity;
  readonly denominator: ReportedQuantity;
}

/** perCapita: {quantity, population}; unit value quantity / population; rolls up as sum / sum. */
export interface PerCapitaIndicator extends IndicatorBase {
  readonly kind: 'perCapita';
  readonly aggregation: 'perCapita';
  readonly quantity: ReportedQuantity;
}

/** share: {meets}; unit value 1 or 0; rolls up as units meeting / units examined. */
export interface ShareIndicator extends IndicatorBase {
  readonly kind: 'share';
  readonly aggregation: 'share';
}

/** score or mean: {value, weight}; rolls up as sum(value x weight) / sum(weight). */
export interface WeightedMeanIndicator extends IndicatorBase {
  readonly kind: 'score' | 'mean';
  readonly aggregation: 'weightedMean';
  readonly weight: ReportedQuantity;
}

export type Indicator =
  | SumIndicator
  | RateIndicator
  | PerCapitaIndicator
  | ShareIndicator
  | WeightedMeanIndicator;

export interface CatalogueChange {
  readonly code: string;
  readonly change: ChangeKind;
  readonly note: string;
}

/** A catalogue file as stored under schemas/catalogue/. */
export interface CatalogueFile {
  readonly $schema?: string;
  readonly id: string;
  readonly cycle: number;
  readonly title: LocalizedText;
  readonly basis: string;
  readonly notes?: string;
  readonly supersedes?: string;
  readonly changes: readonly CatalogueChange[];
  readonly indicators: readonly Indicator[];
}

type KeysOfUnion<T> = T extends unknown ? keyof T : never;

/**
 * Every field an indicator may carry. The compiler insists this lists exactly the keys of `Indicator`; a test
 * insists it lists exactly the schema's indicator properties, so the types and the schema cannot drift.
 */
export const indicatorFieldNames: Readonly<Record<KeysOfUnion<Indicator>, true>> = {
  code: true,
  nameZh: true,
  nameEn: true,
  definition: true,
  dimension: true,
  unit: true,
  kind: true,
  aggregation: true,
  direction: true,
  range: true,
  standard: true,
  unitLevels: true,
  numerator: true,
  denominator: true,
  quantity: true,
  weight: true,
  status: true,
  since: true,
  retiredIn: true,
};

/** Every field a catalogue file may carry; checked against the schema like `indicatorFieldNames`. */
export const catalogueFieldNames: Readonly<Record<keyof CatalogueFile, true>> = {
  $schema: true,
  id: true,
  cycle: true,
  title: true,
  basis: true,
  notes: true,
  supersedes: true,
  changes: true,
  indicators: true,
};
