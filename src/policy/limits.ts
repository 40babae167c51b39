// The AML/CFT policy table of DESIGN §7: per tier, the limits every SE enforces offline and the
// ledger enforces online. Amounts are bigint minor units (1 currency unit = 100 minor units).
// The table is versioned; the CB signs it (see policy_codec.ts) and versions only increase.

import { assert } from '../crypto/assert.ts';

export const MINOR_PER_UNIT = 100n;
const DAY_MS = 86_400_000n;

/** Policy tiers. Tier 0 is a delegated IoT device, 1 and 2 are KYC levels, 3 is a merchant terminal. */
export const Tier = { iot: 0, basic: 1, full: 2, merchant: 3 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];
export const TIERS: readonly Tier[] = [Tier.iot, Tier.basic, Tier.full, Tier.merchant];

/** Device classes carried in the credential (message 3). */
export const DeviceClass = {
  wallet: 0,
  wearable: 1,
  vehicle: 2,
  evCharger: 3,
  pos: 4,
  transitGate: 5,
  vending: 6,
} as const;
export type DeviceClass = (typeof DeviceClass)[keyof typeof DeviceClass];

export interface TierLimits {
  /** Largest single offline payment. 0 for receive-only tiers. */
  capMinor: bigint;
  /** Largest balance an SE of this tier may hold; a receipt that would exceed it is refused. */
  holdingLimitMinor: bigint;
  /** Offline payments per epoch, `L`: spending counters run 0..L-1. */
  paymentsPerEpoch: number;
  /** Cumulative offline spend after which the SE refuses to pay until it syncs. */
  offlineSpendBeforeSyncMinor: bigint;
  /** Epoch length and grace: a credential is valid for epochMs and accepted graceMs longer. */
  epochMs: bigint;
  graceMs: bigint;
  /** Online limits the FI applies to account movements. */
  dailyOnlineLimitMinor: bigint;
  monthlyOnlineLimitMinor: bigint;
}

export interface PolicyTable {
  version: bigint;
  tiers: Readonly<Record<Tier, TierLimits>>;
}

const units = (n: number): bigint => BigInt(n) * MINOR_PER_UNIT;

export const DEFAULT_POLICY: PolicyTable = {
  version: 1n,
  tiers: {
    [Tier.iot]: {
      capMinor: units(50),
      holdingLimitMinor: units(250),
      paymentsPerEpoch: 32,
      offlineSpendBeforeSyncMinor: units(250),
      epochMs: 7n * DAY_MS,
      graceMs: 2n * DAY_MS,
      dailyOnlineLimitMinor: units(500),
      monthlyOnlineLimitMinor: units(5_000),
    },
    [Tier.basic]: {
      capMinor: units(200),
      holdingLimitMinor: units(1_000),
      paymentsPerEpoch: 64,
      offlineSpendBeforeSyncMinor: units(1_000),
      epochMs: 7n * DAY_MS,
      graceMs: 3n * DAY_MS,
      dailyOnlineLimitMinor: units(2_000),
      monthlyOnlineLimitMinor: units(20_000),
    },
    [Tier.full]: {
      capMinor: units(500),
      holdingLimitMinor: units(3_000),
      paymentsPerEpoch: 64,
      offlineSpendBeforeSyncMinor: units(3_000),
      epochMs: 14n * DAY_MS,
      graceMs: 3n * DAY_MS,
      dailyOnlineLimitMinor: units(10_000),
      monthlyOnlineLimitMinor: units(100_000),
    },
    [Tier.merchant]: {
      capMinor: 0n,
      holdingLimitMinor: units(10_000),
      paymentsPerEpoch: 0,
      offlineSpendBeforeSyncMinor: 0n,
      epochMs: 7n * DAY_MS,
      graceMs: 3n * DAY_MS,
      dailyOnlineLimitMinor: units(100_000),
      monthlyOnlineLimitMinor: units(1_000_000),
    },
  },
};

/** Range proofs are 32-bit: every cap and L must fit so `cap − a` and `L − 1 − n` do. */
export const RANGE_PROOF_BITS = 32;

export function limitsFor(policy: PolicyTable, tier: number): TierLimits {
  const limits = policy.tiers[tier as Tier];
  assert(limits !== undefined, `limitsFor: unknown tier ${tier}`);
  return limits;
}

/** `L × cap`: the most a fully broken SE of this tier can spend in one epoch (DESIGN §3.4). */
export function worstCaseLossPerEpochMinor(limits: TierLimits): bigint {
  return BigInt(limits.paymentsPerEpoch) * limits.capMinor;
}

export function checkPolicy(policy: PolicyTable): void {
  for (const tier of TIERS) {
    const l = limitsFor(policy, tier);
    assert(l.capMinor >= 0n && l.capMinor < 1n << BigInt(RANGE_PROOF_BITS), `tier ${tier}: cap out of range`);
    assert(l.paymentsPerEpoch >= 0 && l.paymentsPerEpoch <= 512, `tier ${tier}: L out of range (at most the counter set size, 512)`);
    assert(l.capMinor <= l.holdingLimitMinor, `tier ${tier}: cap above holding limit`);
    assert(l.epochMs > 0n && l.graceMs >= 0n, `tier ${tier}: bad epoch`);
  }
}

checkPolicy(DEFAULT_POLICY);
