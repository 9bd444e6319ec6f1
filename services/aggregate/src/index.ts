// What other parts of citycheck (the CLI's recompute command, benchmarks) use of the aggregate service:
// the derivation of rollups from the lake and the reference data it joins against.
export {
  type CycleSettings,
  createDerivation,
  cyclesInLake,
  type Derivation,
  type DerivationOptions,
  type DeriveResult,
  deriveCycles,
  derivedObjectKey,
  type ReviewStanding,
} from './derive.js';
export { cutChunks, writeChunk } from './lake-writer.js';
export {
  writeCycleReference,
  writeRectificationReference,
  writeReference,
  writeReviewReference,
} from './reference.js';
