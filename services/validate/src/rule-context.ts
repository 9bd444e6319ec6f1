// The rule context of a running deployment: the catalogue versions and cycle settings in schemas/ and the
// division registry. Shared by the validate worker and by ingest's dry run, so both apply the same rules.
import { countyLevelCitiesOf, loadCatalogue, loadCycleSettings, openCycles } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import type { RuleContext } from './rules.js';

export const createRuleContext = (now: () => Date = () => new Date()): RuleContext => {
  const divisions = loadDivisionRegistry();
  const cycles = loadCycleSettings();
  return {
    catalogue: (version) => {
      try {
        return loadCatalogue(version);
      } catch {
        return undefined;
      }
    },
    divisions,
    // Read per submission: a cycle opens at its opensAt without a restart.
    get openCycles() {
      return openCycles(cycles, now());
    },
    countyLevelCities: (cycle) => countyLevelCitiesOf(cycles, cycle),
    now,
  };
};
