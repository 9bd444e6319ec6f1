// The rule context of a running deployment: the catalogue versions in schemas/, the cycles (the shipped
// settings with the operators' records of cycles.v1 over them, when the caller follows the topic into `cycles`)
// and the division registry. Shared by the validate worker and by ingest's dry run, so both apply the same rules.
import { loadCatalogue } from '@citycheck/catalogue';
import { CycleBook } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import type { RuleContext } from './rules.js';

export const createRuleContext = (
  now: () => Date = () => new Date(),
  cycles: CycleBook = new CycleBook(),
  /** The review lock (ReviewBook.lockRule); validate passes it, ingest checks the lock itself, in the city's language. */
  cityCycleLock?: RuleContext['cityCycleLock'],
): RuleContext => {
  const divisions = loadDivisionRegistry();
  return {
    catalogue: (version) => {
      try {
        return loadCatalogue(version);
      } catch {
        return undefined;
      }
    },
    divisions,
    // Read per submission: a cycle opens at its opensAt, and an operator's record applies, without a restart.
    get openCycles() {
      return cycles.openedCycles(now());
    },
    countyLevelCities: (cycle) => new Set(cycles.settingsOf(cycle)?.countyLevelCities ?? []),
    cycleSettings: (cycle) => cycles.settingsOf(cycle),
    ...(cityCycleLock === undefined ? {} : { cityCycleLock }),
    now,
  };
};
