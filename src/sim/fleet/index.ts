// Public surface of the fleet simulator (`tally sim`): run a fleet from a seed and options, the
// faults it can inject, what a run records, and the error a broken invariant stops it with.
export { FLEET_FI_IDS, runFleet } from './engine.ts';
export { DEFAULT_FAULTS, FAULT_NAMES, givenFaults, type FaultRates } from './fault_rates.ts';
export { FleetInvariantBroken } from './invariants.ts';
export { DAY_MS, type FleetOptions } from './world.ts';
export type { FaultRecord, PaymentRecord, RunRecord, SyncRecord } from './types.ts';
