// The faults and attacks a fleet run injects, each with a rate (`tally sim --fault NAME=RATE`):
// their names, their defaults, the check of a given set and what the run's record keeps of it.

/** Rates of the faults and attacks the run injects (per opportunity unless named per day). */
export interface FaultRates {
  /** Per wallet payment: the owner images the SE before paying and spends the same counter again from the restored image at another terminal. */
  restoredSnapshot: number;
  /** Per simulated day: a hostile peer sends a terminal fuzzed frames in place of a payment. */
  hostilePeer: number;
  /** Per sync: the same sync is sent again (a lost answer, a retry). */
  duplicateSync: number;
  /** Per scheduled sync: it is delayed 6–30 h, so syncs arrive late and out of order. */
  lateSync: number;
  /** Per simulated day: one FI node crashes and restarts from its SQLite file. */
  fiRestart: number;
  /** Per simulated day: one payer device's SE clock drifts by up to ±30 minutes for the rest of the run. */
  clockSkew: number;
  /** Per payment: the link drops after the payer's debit, before the payee's SE sees the payment. */
  linkLost: number;
  /** Of those, the share the payer re-sends at once over a new link; the rest stay stranded until reclaimed. */
  resendAfterLoss: number;
  /** Per payment and per sync: power fails in the middle of one of its SE commands (an NVM write torn or cut), then the SE restarts. */
  powerCut: number;
  /** Per simulated day, on average: an attacker extracts a payer SE's secrets and spends from the cloned state beyond the SE's limits. */
  brokenSe: number;
  /** Per simulated day, on average: an untrusted host around an honest wallet SE tries a tampered amount, a replayed payment or a swapped payee. */
  hostAttack: number;
  /** Per wallet payment: the payer and a payee collude on a double spend (the payee takes it knowingly and holds its receipts back). */
  collusion: number;
}

export const DEFAULT_FAULTS: FaultRates = { restoredSnapshot: 0.004, hostilePeer: 0.5, duplicateSync: 0.05, lateSync: 0.1, fiRestart: 0.3, linkLost: 0.01, resendAfterLoss: 0.7, clockSkew: 0.3, powerCut: 0.005, brokenSe: 0.05, hostAttack: 0.3, collusion: 0.002 };

/** Every fault rate's name, in FaultRates' order (`tally sim --fault NAME=RATE`). */
export const FAULT_NAMES: readonly (keyof FaultRates)[] = Object.keys(DEFAULT_FAULTS) as (keyof FaultRates)[];

/**
 * The rates a run was given, checked (a known name, a finite number ≥ 0; RangeError naming it
 * otherwise) and sorted by name: what RunRecord.options.faults records.
 */
export function givenFaults(faults: Partial<FaultRates> | undefined): Partial<FaultRates> {
  const given: Partial<FaultRates> = {};
  for (const name of Object.keys(faults ?? {}).sort()) {
    const rate = (faults as Record<string, unknown>)[name];
    if (rate === undefined) continue;
    if (!(FAULT_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown fault '${name}' (known: ${FAULT_NAMES.join(', ')})`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw new RangeError(`fault ${name}: the rate must be a finite number ≥ 0, got ${String(rate)}`);
    given[name as keyof FaultRates] = rate;
  }
  return given;
}

/** RunRecord.options.faults: the rates given, or nothing (so a run on the defaults records what it always did). */
export function faultsOption(faults: Partial<FaultRates> | undefined): { faults?: Record<string, number> } {
  const given = givenFaults(faults);
  return Object.keys(given).length === 0 ? {} : { faults: given as Record<string, number> };
}
