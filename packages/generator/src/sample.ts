// The small sample cycle the quick start pushes: a few real cities (GB/T 2260 codes from the division
// registry), a handful of their communities and one district each, every indicator reported on those
// levels, and one deliberately bad submission so the rejection path shows too.
import type { Catalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import type { DivisionRegistry } from '@citycheck/divisions';
import { generateObservation } from './observations.js';
import { createRandom } from './random.js';

export interface SampleOptions {
  readonly catalogue: Catalogue;
  readonly divisions: DivisionRegistry;
  readonly cities?: readonly string[];
  readonly communitiesPerCity?: number;
  readonly seed?: number;
  readonly submittedAt?: string;
}

export interface SampleCycle {
  readonly valid: readonly Submission[];
  /** Submissions that must be rejected, each with the rule it breaks. */
  readonly invalid: readonly { readonly submission: Submission; readonly breaks: string }[];
}

export const sampleCycle = ({
  catalogue,
  divisions,
  cities = ['110100', '310100', '440100', '510100'],
  communitiesPerCity = 5,
  seed = 2024,
  submittedAt = '2024-11-20T09:00:00.000Z',
}: SampleOptions): SampleCycle => {
  const random = createRandom(seed);
  const valid: Submission[] = [];
  const submission = (cityCode: string, level: 'community' | 'district', code: string): Submission => {
    const indicators = catalogue.indicatorsFor(level);
    const observations = indicators.map((indicator) => generateObservation(indicator, random));
    const [first, ...rest] = observations;
    if (first === undefined) throw new Error(`catalogue ${catalogue.id} has no indicator for ${level} units`);
    return {
      submissionId: random.uuid(),
      cycle: catalogue.cycle,
      catalogueVersion: catalogue.id,
      cityCode,
      unit: { level, code, name: divisions.name(code) ?? code },
      observations: [first, ...rest],
      submittedAt,
    };
  };
  for (const cityCode of cities) {
    for (const community of divisions.communitiesOf(cityCode).slice(0, communitiesPerCity)) {
      valid.push(submission(cityCode, 'community', community));
    }
    const district = divisions.districtsOf(cityCode)[0];
    if (district !== undefined) valid.push(submission(cityCode, 'district', district));
  }
  const template = valid[0];
  if (template === undefined) throw new Error('the sample has no units');
  const count = catalogue.indicatorsFor('community').find((indicator) => indicator.kind === 'count');
  const invalid = [
    {
      // A community of the first city submitted under another city's code.
      submission: { ...template, submissionId: random.uuid(), cityCode: cities[1] ?? '310100' },
      breaks: 'unit_under_city',
    },
    ...(count === undefined
      ? []
      : [
          {
            // A count far beyond the indicator's valid range.
            submission: {
              ...template,
              submissionId: random.uuid(),
              observations: [
                { indicator: count.code, value: count.range.max + 1 },
              ] as Submission['observations'],
            },
            breaks: 'range',
          },
        ]),
  ];
  return { valid, invalid };
};
