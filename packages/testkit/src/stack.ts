// What tests and benchmarks use to run the pipeline as processes; free of vitest, so plain node scripts
// (bench/) import it as `@citycheck/testkit/stack`.
export {
  type PrivateInfra,
  type PrivateInfraOptions,
  type StackEnvironmentOptions,
  stackEnvironment,
  startPrivateInfra,
} from './private-infra.js';
export {
  type ExitStatus,
  freePort,
  memoryOf,
  repositoryRoot,
  type ServiceName,
  type ServiceProcess,
  type StartServiceOptions,
  startService,
} from './processes.js';
export { sleep, type WaitOptions, waitFor } from './wait.js';
