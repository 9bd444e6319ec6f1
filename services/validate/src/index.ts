// The validate worker as a factory over its clients, for tests that run it in-process.
export { createValidateWorker, transactionalIdFor, type ValidateWorker } from './worker.js';
