// Who lives in the simulated city (issue 13): customers over the FIs, each with a phone wallet and
// 0–3 IoT devices (watch, ring, vehicle), some with a smart meter that pays the grid by itself;
// merchants with terminals (transit gates, POS, vending machines, EV chargers, a grid terminal per
// FI). Each payer device carries a spending policy (what it may pay, to whom, how much at most),
// which is what lets a car or a meter pay with no person involved. Plain data, drawn from the
// run's SimRandom, so the same seed gives the same city.

import { MINOR_PER_UNIT } from '../../policy/limits.ts';
import type { ProfileName } from '../../device/profiles.ts';
import type { SimRandom } from './random.ts';

export type Workload = 'transit' | 'retail' | 'ev' | 'vending' | 'm2m';
export type TerminalKind = 'transitGate' | 'pos' | 'vending' | 'evCharger' | 'grid';

export const units = (n: number): bigint => BigInt(Math.round(n * 100)) * (MINOR_PER_UNIT / 100n);

/** What a payer device may pay on its own: per workload, the terminals it pays and the amounts. */
export interface SpendRule {
  workload: Workload;
  payee: TerminalKind;
  /** Expected payments per simulated day (a Poisson-like draw of up to 2× this). */
  perDay: number;
  minMinor: bigint;
  maxMinor: bigint;
}

export interface SpendPolicy {
  rules: SpendRule[];
  /** The host refuses to ask its SE for more than this in one payment. */
  maxPaymentMinor: bigint;
  /** Balance the device is topped up to from its owner's account at a sync, when below half. */
  topUpToMinor: bigint;
}

export interface PlannedDevice {
  name: string;
  profile: ProfileName;
  owner: string;
  fiId: string;
  role: 'payer' | 'terminal';
  /** Days between its own syncs (wearables: none, they sync through the owner's phone). */
  syncEveryDays: number | null;
  /** The phone a wearable syncs through. */
  via?: string;
  terminal?: TerminalKind;
  policy?: SpendPolicy;
}

export interface PlannedCustomer {
  name: string;
  fiId: string;
  rural: boolean;
  merchant: boolean;
}

export interface Population {
  customers: PlannedCustomer[];
  devices: PlannedDevice[];
}

const rule = (workload: Workload, payee: TerminalKind, perDay: number, min: number, max: number): SpendRule => ({
  workload, payee, perDay, minMinor: units(min), maxMinor: units(max),
});

/** The city for `customers` people over `fiIds` (at least two). */
/** A customer's opening deposit at its FI (a merchant opens with none). */
const CUSTOMER_DEPOSIT = units(20_000);
/** What the CB issues each FI at least before its customers open their accounts (every run's figure up to 1000 customers). */
const FI_ALLOCATION_MIN = units(10_000_000);

export const openingDeposit = (c: PlannedCustomer): bigint => (c.merchant ? 0n : CUSTOMER_DEPOSIT);

/**
 * What the CB issues `fiId` at the start of a run: its customers' opening deposits, and never less
 * than FI_ALLOCATION_MIN (so the runs of up to 1000 customers, whose FIs that always covered, report
 * what they always did; a larger city used to stop at its first registration past it).
 */
export function fiAllocation(plan: Population, fiId: string): bigint {
  const deposits = plan.customers.filter((c) => c.fiId === fiId).reduce((sum, c) => sum + openingDeposit(c), 0n);
  return deposits > FI_ALLOCATION_MIN ? deposits : FI_ALLOCATION_MIN;
}

export function planPopulation(rand: SimRandom, customers: number, fiIds: readonly string[]): Population {
  if (fiIds.length < 2) throw new RangeError('a fleet needs at least two FIs');
  if (!Number.isInteger(customers) || customers < 1) throw new RangeError('--customers must be a positive integer');
  const out: Population = { customers: [], devices: [] };
  const perKind = Math.max(2, Math.ceil(customers / 12));
  const kinds: TerminalKind[] = ['transitGate', 'pos', 'vending', 'evCharger'];
  const profileOf: Record<TerminalKind, ProfileName> = { transitGate: 'transitGate', pos: 'pos', vending: 'vending', evCharger: 'evCharger', grid: 'evCharger' };
  let m = 0;
  const merchant = (kind: TerminalKind, fiId: string) => {
    const name = `m${m++}-${kind}`;
    out.customers.push({ name, fiId, rural: false, merchant: true });
    out.devices.push({ name: `${name}-t`, profile: profileOf[kind], owner: name, fiId, role: 'terminal', syncEveryDays: 1, terminal: kind });
  };
  for (const kind of kinds) for (let i = 0; i < perKind; i++) merchant(kind, fiIds[(m + i) % fiIds.length]!);
  for (const fiId of fiIds) merchant('grid', fiId);

  for (let c = 0; c < customers; c++) {
    const name = `c${c}`;
    const fiId = fiIds[c % fiIds.length]!;
    const rural = rand.chance(0.2);
    out.customers.push({ name, fiId, rural, merchant: false });
    const wallet = `${name}-wallet`;
    out.devices.push({
      name: wallet, profile: 'wallet', owner: name, fiId, role: 'payer', syncEveryDays: rural ? 3 : 1,
      policy: {
        rules: [rule('retail', 'pos', 0.8, 2, 40), rule('vending', 'vending', 0.3, 1, 4), rule('transit', 'transitGate', 0.6, 2, 3.5)],
        maxPaymentMinor: units(100), topUpToMinor: units(400),
      },
    });
    const iot = rand.int(0, 3);
    const owned = new Set<ProfileName>();
    for (let i = 0; i < iot; i++) owned.add(rand.pick<ProfileName>(['watch', 'ring', 'vehicle']));
    for (const p of owned) {
      const d = `${name}-${p}`;
      if (p === 'vehicle') {
        out.devices.push({
          name: d, profile: p, owner: name, fiId, role: 'payer', syncEveryDays: rural ? 3 : 2,
          policy: { rules: [rule('ev', 'evCharger', 0.35, 12, 45)], maxPaymentMinor: units(45), topUpToMinor: units(150) },
        });
      } else {
        out.devices.push({
          name: d, profile: p, owner: name, fiId, role: 'payer', syncEveryDays: null, via: wallet,
          policy: {
            rules: p === 'watch' ? [rule('transit', 'transitGate', 1.2, 2, 3.5), rule('retail', 'pos', 0.3, 2, 15)] : [rule('transit', 'transitGate', 1.5, 2, 3.5)],
            maxPaymentMinor: units(20), topUpToMinor: units(100),
          },
        });
      }
    }
    // A smart meter (on the vehicle profile's SE: BLE, IoT tier) pays the grid each day by itself.
    if (rand.chance(0.25)) {
      out.devices.push({
        name: `${name}-meter`, profile: 'vehicle', owner: name, fiId, role: 'payer', syncEveryDays: 1,
        policy: { rules: [rule('m2m', 'grid', 1, 1, 6)], maxPaymentMinor: units(10), topUpToMinor: units(60) },
      });
    }
  }
  return out;
}
