// The worst case a fully broken SE can spend before it is detected, computed from the policy table
// and the live device counts per tier (DESIGN §3.4 Contain, README "Guarantees and their bounds").
//
// The number, exactly: a credential allows L(t) payments of at most cap(t) each, so L × cap per
// credential. A device gets a credential only for the current or the next epoch, and a new one
// only after a sync whose running totals were consistent (renewal_gate.ts); so after its last
// accepted sync a device holds at most CREDENTIALS_WITHOUT_SYNC_MAX = 2 credentials, and can spend
// at most 2 × L × cap(t) that no accepted report accounts for. Summed over the enrolled devices of
// every tier, that is the most the network can lose to broken SEs that stop syncing. A broken SE
// that keeps syncing with self-consistent lies can spend L × cap(t) per epoch; that is not
// attributed to it but shows up as received exceeding spent (flows.ts), with the amount.

import { TIERS, limitsFor, worstCaseLossPerEpochMinor, type PolicyTable } from '../policy/limits.ts';
import { RENEWAL_EPOCHS_AHEAD } from './fi/renewal_gate.ts';

/** Current epoch plus the epochs ahead a credential may be issued for. */
export const CREDENTIALS_WITHOUT_SYNC_MAX = 1n + RENEWAL_EPOCHS_AHEAD;

export interface TierExposure {
  tier: number;
  devices: bigint;
  paymentsPerEpoch: number;
  capMinor: bigint;
  /** L × cap(t): one credential, fully spent. */
  perCredentialMinor: bigint;
  /** CREDENTIALS_WITHOUT_SYNC_MAX × L × cap(t): one device after its last accepted sync. */
  perDeviceMinor: bigint;
  totalMinor: bigint;
}

export interface Exposure {
  policyVersion: bigint;
  credentialsWithoutSyncMax: bigint;
  tiers: TierExposure[];
  /** Σ over tiers: the most broken SEs that stop syncing can spend unaccounted, network-wide. */
  totalMinor: bigint;
  /** Σ over tiers of devices × L × cap: per epoch, for broken SEs that keep syncing with consistent lies. */
  perEpochIfSyncingMinor: bigint;
}

/** Exposure of `devicesPerTier` (tier → enrolled devices) under `policy`. */
export function brokenSeExposure(policy: PolicyTable, devicesPerTier: ReadonlyMap<number, bigint>): Exposure {
  const tiers = TIERS.map((tier) => {
    const limits = limitsFor(policy, tier);
    const devices = devicesPerTier.get(tier) ?? 0n;
    const perCredentialMinor = worstCaseLossPerEpochMinor(limits);
    const perDeviceMinor = CREDENTIALS_WITHOUT_SYNC_MAX * perCredentialMinor;
    return { tier, devices, paymentsPerEpoch: limits.paymentsPerEpoch, capMinor: limits.capMinor, perCredentialMinor, perDeviceMinor, totalMinor: devices * perDeviceMinor };
  });
  return {
    policyVersion: policy.version,
    credentialsWithoutSyncMax: CREDENTIALS_WITHOUT_SYNC_MAX,
    tiers,
    totalMinor: tiers.reduce((s, t) => s + t.totalMinor, 0n),
    perEpochIfSyncingMinor: tiers.reduce((s, t) => s + t.devices * t.perCredentialMinor, 0n),
  };
}

/** Plain text for the CLI and the audit (also of an Exposure read back from JSON, bigints as strings). */
export function formatExposure(e: Exposure): string[] {
  const lines = [`broken-SE exposure under policy v${e.policyVersion}: at most ${e.credentialsWithoutSyncMax} credentials per device without a consistent sync`];
  for (const t of e.tiers) {
    if (BigInt(t.devices) === 0n) continue;
    lines.push(`  tier ${t.tier}: ${t.devices} device(s) × ${e.credentialsWithoutSyncMax} × L ${t.paymentsPerEpoch} × cap ${t.capMinor} = ${t.totalMinor} (L×cap ${t.perCredentialMinor} per credential)`);
  }
  lines.push(`  total unaccounted if every device stops syncing: ${e.totalMinor}; per epoch if they keep syncing with consistent lies: ${e.perEpochIfSyncingMinor} (caught in aggregate by the discrepancy alarm)`);
  return lines;
}

/** Devices per tier in an FI database. */
export async function devicesPerTier(q: { query: (sql: string) => Promise<Array<Record<string, unknown>>> }): Promise<Map<number, bigint>> {
  const rows = await q.query('SELECT tier, CAST(COUNT(*) AS BIGINT) AS n FROM devices GROUP BY tier');
  return new Map(rows.map((r) => [Number(r['tier']), BigInt(r['n'] as bigint | number)]));
}
