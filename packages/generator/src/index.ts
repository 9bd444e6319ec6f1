// Generators of examination data: the quick start's sample cycle and, built on the same pieces, whole
// national cycles for benchmarks and fault tests (written as NDJSON per city, with the rollups they must
// produce worked out independently), and the city clients that push them through the ingest endpoint.
// Deterministic from a seed. The records a fresh stack needs (topics, cycle, credentials) are `./stack`.
export {
  type ActualRollup,
  compareRollups,
  computeExpectedRollups,
  type ExpectedLevel,
  type ExpectedRollup,
  type ExpectedRollups,
  type RollupMismatch,
} from './expected.js';
export {
  type CityFile,
  type CycleManifest,
  type CycleTotals,
  manifestFileName,
  readCityLines,
  readCycleManifest,
  type WriteCycleOptions,
  writeNationalCycle,
} from './files.js';
export {
  type CityCycle,
  type Correction,
  type DeliberateBreak,
  type DeliberateError,
  deliberateBreaks,
  type NationalCycleOptions,
  nationalCycle,
} from './national.js';
export { generateObservation, neighbourhoodScale, type UnitScale } from './observations.js';
export {
  type CityWork,
  createTally,
  type PacedItem,
  type PacedOptions,
  type PacedResult,
  type PushOptions,
  type PushTally,
  pushCities,
  pushPaced,
  quantile,
  type RequestRecord,
} from './push.js';
export { createKeyedRandom, createRandom, type Random } from './random.js';
export { type SampleCycle, type SampleOptions, sampleCycle } from './sample.js';
