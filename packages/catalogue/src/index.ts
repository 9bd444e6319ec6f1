// @citycheck/catalogue: the versioned indicator catalogue (schemas/catalogue/) and the rules that follow
// from it: what a unit reports for each indicator, the unit value, and whether it misses the standard.
export { checkCatalogue, unitLevelsOfDimension } from './check-catalogue.js';
export { type CycleSettings, countyLevelCitiesOf, loadCycleSettings, openCycles } from './cycles.js';
export {
  aggregationOfKind,
  type IndicatorField,
  indicatorFields,
  missesStandard,
  type ObservationField,
  observationFields,
  presentedValue,
  type ReportedValues,
  unitValue,
} from './indicator.js';
export {
  type Catalogue,
  CatalogueError,
  type CatalogueSource,
  listCatalogueVersions,
  loadCatalogue,
} from './load-catalogue.js';
export * from './types.js';
export { compareCatalogueVersions, cycleOfVersion, isCatalogueVersion } from './versions.js';
