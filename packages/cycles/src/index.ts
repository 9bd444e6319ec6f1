// Examination cycles as operated data: the records on cycles.v1 (settings, closing, audit), the book every
// service keeps of them over the shipped defaults, operators' actions, and how a submission's time falls in
// its cycle (open, late, closed).
export {
  type Actor,
  CycleAdminError,
  closeCycle,
  designateCurrentCycle,
  openCycle,
  reopenCycle,
} from './admin.js';
export {
  beijingTime,
  CycleBook,
  type CycleBookListener,
  type CycleWindow,
  cycleWindow,
} from './book.js';
export {
  type CurrentCycleRecord,
  type CycleAction,
  type CycleActionName,
  type CycleRecord,
  type CyclesTopicRecord,
  currentKey,
  cycleKey,
  type OperatedCycleSettings,
  parseCyclesRecord,
} from './record.js';
export {
  cyclesTopic,
  ensureCyclesTopic,
  followCycles,
  loadCycles,
  publishCyclesRecord,
} from './topic.js';
