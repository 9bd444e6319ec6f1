// Pure rules that follow from an indicator's kind: what a unit reports, the unit-level number it stands
// for, whether that number misses the standard (the shortfall ledger's test) and how it is shown to people.
import type {
  Aggregation,
  Indicator,
  IndicatorKind,
  MeasurementUnit,
  PerCapitaIndicator,
  RateIndicator,
  ReportedQuantity,
  WeightedMeanIndicator,
} from './types.js';

/** The aggregation each kind must declare; the catalogue checks hold every indicator to it. */
export const aggregationOfKind: Readonly<Record<IndicatorKind, Aggregation>> = {
  count: 'sum',
  length: 'sum',
  rate: 'ratio',
  perCapita: 'perCapita',
  share: 'share',
  score: 'weightedMean',
  mean: 'weightedMean',
};

export type ObservationField =
  | 'value'
  | 'numerator'
  | 'denominator'
  | 'quantity'
  | 'population'
  | 'meets'
  | 'weight';

/** The observation fields a unit must report for an indicator of each kind, and no others. */
export const observationFields: Readonly<Record<IndicatorKind, readonly ObservationField[]>> = {
  count: ['value'],
  length: ['value'],
  rate: ['numerator', 'denominator'],
  perCapita: ['quantity', 'population'],
  share: ['meets'],
  score: ['value', 'weight'],
  mean: ['value', 'weight'],
};

/**
 * The values of one reported observation. Loose on purpose: a submission's observation carries every field
 * as optional, and `unitValue` reads only the ones the indicator's kind uses.
 */
export interface ReportedValues {
  readonly value?: number | undefined;
  readonly numerator?: number | undefined;
  readonly denominator?: number | undefined;
  readonly quantity?: number | undefined;
  readonly population?: number | undefined;
  readonly weight?: number | undefined;
  readonly meets?: boolean | undefined;
}

const finite = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

const quotient = (top: number | undefined, bottom: number | undefined): number | undefined =>
  finite(top) && finite(bottom) && bottom > 0 ? top / bottom : undefined;

/**
 * The unit-level number an observation stands for, in stored units: the value (count, length, score, mean),
 * numerator / denominator (rate), quantity / population (perCapita), 1 or 0 (share: meets or not).
 * Undefined when the observation lacks a field the kind needs, a field is not a finite number, or the
 * denominator or population is not positive: a unit with nothing to cover has no rate, though its zero
 * still counts in a rollup's sums. The weight of a score or mean matters only to rollups, not here.
 */
export const unitValue = (indicator: Indicator, observation: ReportedValues): number | undefined => {
  switch (indicator.kind) {
    case 'count':
    case 'length':
    case 'score':
    case 'mean':
      return finite(observation.value) ? observation.value : undefined;
    case 'rate':
      return quotient(observation.numerator, observation.denominator);
    case 'perCapita':
      return quotient(observation.quantity, observation.population);
    case 'share':
      return typeof observation.meets === 'boolean' ? (observation.meets ? 1 : 0) : undefined;
  }
};

/**
 * Whether a unit value (from `unitValue`) misses the indicator's standard: true when it does not satisfy
 * `value <operator> standard.value`. Undefined when the indicator has no standard or there is no value.
 * No tolerance is applied: a rate computed as 17 / 20 is the same double as the literal 0.85, because
 * division is correctly rounded, so exact comparison is what the reader of the catalogue expects.
 */
export const missesStandard = (
  indicator: Indicator,
  observedValue: number | undefined,
): boolean | undefined => {
  const { standard } = indicator;
  if (standard === undefined || observedValue === undefined || Number.isNaN(observedValue)) return undefined;
  switch (standard.operator) {
    case '<=':
      return !(observedValue <= standard.value);
    case '>=':
      return !(observedValue >= standard.value);
    case '==':
      return observedValue !== standard.value;
  }
};

/** A stored value in the indicator's presentation unit, e.g. a rate of 0.83 as 83 (%). */
export const presentedValue = (indicator: Indicator, storedValue: number): number =>
  storedValue * (indicator.unit.scale ?? 1);

/** One observation field an indicator is reported with, named and in the unit people enter it in. */
export interface IndicatorField {
  readonly field: ObservationField;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly type: 'number' | 'boolean';
  readonly unit?: MeasurementUnit;
}

const population: ReportedQuantity = {
  nameZh: '常住人口',
  nameEn: 'Resident population',
  unit: { zh: '人', en: 'people' },
};

/**
 * The fields a submission gives for an indicator (`observationFields` of its kind), each with the name and
 * unit the catalogue gives it: a rate's numerator and denominator, a per-capita quantity, a mean's weight;
 * a plain value takes the indicator's own name and unit.
 */
export const indicatorFields = (indicator: Indicator): IndicatorField[] =>
  observationFields[indicator.kind].map((field): IndicatorField => {
    const quantity = (named: ReportedQuantity): IndicatorField => ({
      field,
      nameZh: named.nameZh,
      nameEn: named.nameEn,
      type: 'number',
      unit: named.unit,
    });
    switch (field) {
      case 'numerator':
        return quantity((indicator as RateIndicator).numerator);
      case 'denominator':
        return quantity((indicator as RateIndicator).denominator);
      case 'quantity':
        return quantity((indicator as PerCapitaIndicator).quantity);
      case 'population':
        return quantity(population);
      case 'weight':
        return quantity((indicator as WeightedMeanIndicator).weight);
      case 'meets':
        return { field, nameZh: '是否达标', nameEn: 'Meets the standard', type: 'boolean' };
      default: // value
        return quantity({ nameZh: indicator.nameZh, nameEn: indicator.nameEn, unit: indicator.unit });
    }
  });
