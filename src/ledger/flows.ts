// Reconciliation of aggregate flows (DESIGN §3.4 Contain): value spent, from the SE-signed running
// totals of each device's last accepted report, against value received, from the receipts the FIs
// settled. Every payment is spent by one SE and received by another, so across the network
// received ≤ spent + in flight, where in flight is value spent but not yet reported by its payer.
// An honest SE's unreported spend is at most offlineSpendBeforeSync(t) (it must sync to spend more),
// so the in-flight bound is Σ over devices of that limit (0 when every device has synced after its
// last payment). Received beyond spent + booked double spends + that bound is value a broken SE
// spent and hid from its totals: the CB raises an alarm naming the amount, stored in
// discrepancy_alarms and shown by the network audit. The alarm says how much, not who: linking a
// received payment to its payer is what the design forbids.
//
// Why the comparison is network-wide: one FI's devices receive from other FIs' devices, so one
// FI's own spent and received do not balance; each FI contributes its figures (fiFlows) and the CB
// compares the sums.

import { sha256 } from '@noble/hashes/sha2.js';
import { limitsFor, type PolicyTable } from '../policy/limits.ts';
import { rowBigint, type Queryable } from './db/adapter.ts';

export interface FiFlows {
  fiId: string;
  /** Σ spent total of every device's last accepted report. */
  spentMinor: bigint;
  /** Σa over every batch this FI settled. */
  receivedMinor: bigint;
  /** Σ offlineSpendBeforeSync(t) over this FI's devices: spend an honest SE may not have reported yet. */
  inFlightBoundMinor: bigint;
}

export const AlarmCode = { spentReceivedDiscrepancy: 'SPENT_RECEIVED_DISCREPANCY' } as const;

export interface DiscrepancyAlarm {
  code: string;
  receivedMinor: bigint;
  spentMinor: bigint;
  /** Value of identified double spends booked to the incident account (explained excess). */
  bookedMinor: bigint;
  inFlightBoundMinor: bigint;
  /** received − spent − booked − bound: value spent that no accepted report accounts for. */
  excessMinor: bigint;
  message: string;
}

/** One FI's figures for its own devices. */
export async function fiFlows(q: Queryable, fiId: string, policy: PolicyTable): Promise<FiFlows> {
  const spent = await q.query(
    'SELECT CAST(COALESCE(SUM(b.spent_total_minor), 0) AS BIGINT) AS total FROM devices d JOIN sync_batches b ON b.device_id = d.device_id AND b.batch_id = d.last_batch_id',
  );
  const received = await q.query('SELECT CAST(COALESCE(SUM(received_minor), 0) AS BIGINT) AS total FROM sync_batches');
  const tiers = await q.query('SELECT tier, CAST(COUNT(*) AS BIGINT) AS n FROM devices GROUP BY tier');
  let inFlightBoundMinor = 0n;
  for (const r of tiers) inFlightBoundMinor += rowBigint(r, 'n') * limitsFor(policy, Number(rowBigint(r, 'tier'))).offlineSpendBeforeSyncMinor;
  return { fiId, spentMinor: rowBigint(spent[0]!, 'total'), receivedMinor: rowBigint(received[0]!, 'total'), inFlightBoundMinor };
}

/** The network comparison; `quiescent` (every device synced after its last payment) sets the bound to 0. */
export function compareFlows(flows: readonly FiFlows[], bookedMinor: bigint, quiescent: boolean): DiscrepancyAlarm | null {
  const receivedMinor = flows.reduce((s, f) => s + f.receivedMinor, 0n);
  const spentMinor = flows.reduce((s, f) => s + f.spentMinor, 0n);
  const inFlightBoundMinor = quiescent ? 0n : flows.reduce((s, f) => s + f.inFlightBoundMinor, 0n);
  const excessMinor = receivedMinor - spentMinor - bookedMinor - inFlightBoundMinor;
  if (excessMinor <= 0n) return null;
  return {
    code: AlarmCode.spentReceivedDiscrepancy, receivedMinor, spentMinor, bookedMinor, inFlightBoundMinor, excessMinor,
    message: `received exceeds spent by ${excessMinor} beyond booked double spends ${bookedMinor} and the in-flight bound ${inFlightBoundMinor} (received ${receivedMinor}, spent ${spentMinor}): value a broken SE spent and hid from its totals`,
  };
}

/** Stores the alarm at the CB once per distinct set of figures (a repeated audit adds nothing). */
export async function recordAlarm(cbDb: Queryable, alarm: DiscrepancyAlarm, nowMs: number): Promise<void> {
  const key = sha256(new TextEncoder().encode(`${alarm.receivedMinor}/${alarm.spentMinor}/${alarm.bookedMinor}/${alarm.inFlightBoundMinor}`));
  await cbDb.run(
    'INSERT INTO discrepancy_alarms (alarm_key, received_minor, spent_minor, booked_minor, in_flight_bound_minor, excess_minor, raised_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
    [key, alarm.receivedMinor, alarm.spentMinor, alarm.bookedMinor, alarm.inFlightBoundMinor, alarm.excessMinor, BigInt(nowMs)],
  );
}
