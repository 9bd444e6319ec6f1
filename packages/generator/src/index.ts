// Generators of examination data: the quick start's sample cycle and, built on the same pieces, whole
// national cycles for benchmarks and fault tests. Deterministic from a seed.
export { generateObservation } from './observations.js';
export { createRandom, type Random } from './random.js';
export { type SampleCycle, type SampleOptions, sampleCycle } from './sample.js';
