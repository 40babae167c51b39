// How much memory a fleet run needs, and making sure the process may use it. A run keeps every
// device (its SE state, NVM and host) and the whole RunRecord in memory, so memory grows with
// customers and with customer-days; V8's default heap limit (about 4 GiB here) would stop a large
// run hours in. `tally sim` estimates the need up front: within the default limit it just runs; above it,
// and within the machine's memory, it runs itself again with a larger heap; past the machine's memory it
// refuses before enrolling anyone.
//
// Measured (docs/simulator.md "Scale", 2 cores, Node 20), resident at most: 311 MiB for 100
// customers over a day, 548 MiB for 1000, 3.95 GiB for 10,000 (about 363 KiB per customer there:
// more per customer in a larger city, so the constant is set from the largest run, with a margin
// of about 25 %); the record about 4.6 KB of JSON per customer-day. Past 10,000 customers the
// estimate is an extrapolation.

/** Resident memory of the process, the network and the report and plots of --out, before any device (MiB). */
export const SIM_MEMORY_BASE_MIB = 400;
/** Per customer: their devices' SEs, NVM and hosts, and their ledger rows in memory (KiB). */
export const SIM_MEMORY_PER_CUSTOMER_KIB = 448;
/** Per customer and simulated day: the payments, syncs and faults the RunRecord keeps (KiB). */
export const SIM_MEMORY_PER_CUSTOMER_DAY_KIB = 16;
/** Share of the machine's memory a run may plan to use (the rest: the OS, SQLite's page cache). */
export const SIM_MEMORY_SHARE_MAX = 0.85;

/** The memory (MiB) a run of `customers` over `days` is estimated to need. */
export function simMemoryNeedMiB(customers: number, days: number): number {
  if (!(Number.isInteger(customers) && customers >= 1 && Number.isInteger(days) && days >= 1)) {
    throw new RangeError(`simMemoryNeedMiB: customers and days must be positive integers, got ${customers}, ${days}`);
  }
  return Math.ceil(SIM_MEMORY_BASE_MIB + (customers * SIM_MEMORY_PER_CUSTOMER_KIB + customers * days * SIM_MEMORY_PER_CUSTOMER_DAY_KIB) / 1024);
}

export type HeapPlan =
  | { kind: 'enough' }
  | { kind: 'raise'; heapMiB: number }
  | { kind: 'too-big'; usableMiB: number };

/**
 * What to do about a run needing `needMiB` with a heap limit of `heapLimitMiB` on a machine of
 * `totalMiB`: run as is, run again with a heap of `heapMiB` (the need, never past the usable share
 * of the machine), or refuse.
 */
export function heapPlan(needMiB: number, heapLimitMiB: number, totalMiB: number): HeapPlan {
  const usableMiB = Math.floor(totalMiB * SIM_MEMORY_SHARE_MAX);
  if (needMiB > usableMiB) return { kind: 'too-big', usableMiB };
  if (needMiB <= heapLimitMiB) return { kind: 'enough' };
  return { kind: 'raise', heapMiB: needMiB };
}
