// The fault tests and the benchmark count on the generator: every submission of a generated cycle passes
// validation except the ones it lists as deliberately bad, and each of those is rejected for the rule it
// names. Checked here against validate's own rules (a plain function, no broker needed).
import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { nationalCycle } from '@citycheck/generator';
import { createRuleContext, validateReceived } from '@citycheck/rules';
import { describe, expect, it } from 'vitest';

describe('a generated cycle', () => {
  it('passes validation except for the listed deliberate errors, each rejected for the rule it names', () => {
    const divisions = loadDivisionRegistry();
    // Reporting cities of every shape: municipalities (Chongqing with its folded counties), one without
    // districts, prefecture-level cities.
    const cities = ['110100', '500100', '441900', '460200', '630200', '440300', '330100'];
    expect(cities.every((city) => divisions.reportingCities().includes(city))).toBe(true);
    const context = createRuleContext();
    let valid = 0;
    const rejected = new Map<string, readonly string[]>();
    const listed = new Map<string, string>();
    for (const city of nationalCycle({
      catalogue: loadCatalogue('2024.1'),
      divisions,
      seed: 99,
      cities,
      communitiesPerCity: 60,
      deliberateErrors: 10,
      corrections: 5,
    })) {
      for (const error of city.errors) listed.set(error.submissionId, error.breaks);
      for (const submission of city.submissions) {
        const outcome = validateReceived(
          {
            submission,
            contentHash: 'c'.repeat(64),
            receivedAt: '2024-11-20T09:00:01.000Z',
            credentialId: 'test',
          },
          context,
        );
        if (outcome.kind === 'valid') valid += 1;
        else
          rejected.set(
            submission.submissionId,
            outcome.record.problems.map((problem) => problem.rule),
          );
      }
    }
    expect(valid).toBeGreaterThan(500);
    expect([...rejected.keys()].sort()).toEqual([...listed.keys()].sort());
    for (const [id, rules] of rejected) expect(rules).toContain(listed.get(id));
  });
});
