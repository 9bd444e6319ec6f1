// @citycheck/divisions: the national statistical division registry (GB/T 2260 and NBS codes down to urban
// communities), shipped as data/registry.json.gz so services need no other source at runtime.
export {
  type CityKind,
  type CountyKind,
  type DivisionLevel,
  type DivisionRegistry,
  divisionLevels,
  expectedCitiesOf,
  expectedCommunitiesOf,
  loadDivisionRegistry,
  reportingCityKinds,
  type UnitKind,
} from './division-registry.js';
