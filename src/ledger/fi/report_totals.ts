// The FI's check of an SE-signed balance report's running totals (DESIGN §3.4 Contain), run at
// every sync after the batch's proofs and its Σa are verified. What the FI knows: the vouchers it
// signed (loaded), the unload records it applied (unloaded), the receipts it settled (received)
// and the totals it accepted last time. Check order, each with its own code: the balance identity
// (BALANCE_IDENTITY), no total went down (TOTALS_DECREASED), loaded = Σ vouchers below the load
// counter (LOADED_MISMATCH), unloaded agrees with the records applied (UNLOADED_MISMATCH), received
// grew by exactly this batch's Σa (RECEIVED_MISMATCH). A report that passes is "consistent"; only
// a consistent sync re-opens credential renewal (renewal_gate.ts).
//
// What this cannot see: spending the SE hides by lowering its spent total together with its
// balance. That is self-consistent here, and shows up only in aggregate, as received exceeding
// spent across the network (flows.ts).

import { bytesToHex } from '@noble/hashes/utils.js';
import type { BalanceReport } from '../../se/messages.ts';
import { rowBigint, type Queryable } from '../db/adapter.ts';
import type { DeviceRow } from './devices.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { assert } from '../../crypto/assert.ts';
import { SYNC_BATCH_ENTRIES_MAX } from '../../se/constants.ts';
import { SYNC_PAYMENTS_MAX } from '../limits.ts';

// An SE's full batch must be one the FI accepts, or an honest SE with receipts left over is refused.
assert(SYNC_BATCH_ENTRIES_MAX <= SYNC_PAYMENTS_MAX, 'an SE batch must fit the FI\'s sync batch limit');

export interface RunningTotals {
  loadedTotalMinor: bigint;
  receivedTotalMinor: bigint;
  receivedPendingMinor: bigint;
  spentTotalMinor: bigint;
  unloadedTotalMinor: bigint;
}

export const ZERO_TOTALS: RunningTotals = { loadedTotalMinor: 0n, receivedTotalMinor: 0n, receivedPendingMinor: 0n, spentTotalMinor: 0n, unloadedTotalMinor: 0n };

export const TOTALS_COLUMNS = 'loaded_total_minor, received_total_minor, received_pending_minor, spent_total_minor, unloaded_total_minor';

export const totalsOf = (r: BalanceReport): RunningTotals => ({
  loadedTotalMinor: r.loadedTotalMinor,
  receivedTotalMinor: r.receivedTotalMinor,
  receivedPendingMinor: r.receivedPendingMinor,
  spentTotalMinor: r.spentTotalMinor,
  unloadedTotalMinor: r.unloadedTotalMinor,
});

/** The totals of the device's last accepted batch (zeros before its first sync). */
export async function lastAcceptedTotals(q: Queryable, device: DeviceRow): Promise<RunningTotals> {
  if (device.lastBatchId === 0n) return ZERO_TOTALS;
  const rows = await q.query(`SELECT ${TOTALS_COLUMNS} FROM sync_batches WHERE device_id = $1 AND batch_id = $2`, [device.deviceId, device.lastBatchId]);
  if (rows.length === 0) return ZERO_TOTALS;
  const r = rows[0]!;
  return {
    loadedTotalMinor: rowBigint(r, 'loaded_total_minor'),
    receivedTotalMinor: rowBigint(r, 'received_total_minor'),
    receivedPendingMinor: rowBigint(r, 'received_pending_minor'),
    spentTotalMinor: rowBigint(r, 'spent_total_minor'),
    unloadedTotalMinor: rowBigint(r, 'unloaded_total_minor'),
  };
}

async function sumBelow(q: Queryable, table: 'load_vouchers' | 'unload_records', column: string, deviceId: Uint8Array, below: bigint) {
  const rows = await q.query(
    `SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM ${table} WHERE device_id = $1 AND ${column} < $2`,
    [deviceId, below],
  );
  return { count: rowBigint(rows[0]!, 'n'), totalMinor: rowBigint(rows[0]!, 'total') };
}

/** Refuses a report whose totals disagree with what the FI knows (see the file comment for the order). */
export async function checkReportTotals(q: Queryable, device: DeviceRow, r: BalanceReport, carried: readonly CarriedUnload[] = []): Promise<void> {
  const fail = (code: LedgerErrorCode, why: string): never => {
    throw new LedgerError(code, `Balance report of batch ${r.batchId} (device ${bytesToHex(device.deviceId)}): ${why}`);
  };
  const held = r.loadedTotalMinor + r.receivedTotalMinor + r.receivedPendingMinor - r.spentTotalMinor - r.unloadedTotalMinor;
  if (r.balanceMinor !== held) {
    fail(LedgerErrorCode.balanceIdentity, `balance ${r.balanceMinor}, expected loaded ${r.loadedTotalMinor} + received ${r.receivedTotalMinor} + pending ${r.receivedPendingMinor} − spent ${r.spentTotalMinor} − unloaded ${r.unloadedTotalMinor} = ${held}`);
  }
  const last = await lastAcceptedTotals(q, device);
  for (const key of ['loadedTotalMinor', 'receivedTotalMinor', 'spentTotalMinor', 'unloadedTotalMinor'] as const) {
    if (r[key] < last[key]) fail(LedgerErrorCode.totalsDecreased, `${key} ${r[key]} is below the ${last[key]} accepted at batch ${device.lastBatchId}`);
  }
  const vouchers = await sumBelow(q, 'load_vouchers', 'load_counter', device.deviceId, r.loadCounter);
  if (vouchers.count !== r.loadCounter || r.loadedTotalMinor !== vouchers.totalMinor) {
    fail(LedgerErrorCode.loadedMismatch, `loaded ${r.loadedTotalMinor} over ${r.loadCounter} vouchers, expected ${vouchers.totalMinor} over the ${vouchers.count} this FI issued`);
  }
  checkUnloaded(r, await withCarried(q, device, r, await sumBelow(q, 'unload_records', 'unload_counter', device.deviceId, r.unloadCounter), carried), fail);
  const expectedReceived = last.receivedTotalMinor + r.receivedMinor;
  if (r.receivedTotalMinor !== expectedReceived) {
    fail(LedgerErrorCode.receivedMismatch, `received ${r.receivedTotalMinor}, expected ${last.receivedTotalMinor} accepted + ${r.receivedMinor} in this batch = ${expectedReceived}`);
  }
  // A batch stops short of the log only when it is full; a short batch with receipts left over is a lie.
  if (r.receivedPendingMinor > 0n && r.receiptCount < SYNC_BATCH_ENTRIES_MAX) {
    fail(LedgerErrorCode.receivedMismatch, `${r.receivedPendingMinor} pending beyond a batch of ${r.receiptCount} < ${SYNC_BATCH_ENTRIES_MAX} receipts`);
  }
}

/** An SE-signed unload record that rides along this sync (signature checked), applied after the batch. */
export interface CarriedUnload {
  deviceId: Uint8Array;
  unloadCounter: bigint;
  amountMinor: bigint;
}

/** The applied records plus the carried ones not applied yet: the FI knows their amounts exactly. */
async function withCarried(
  q: Queryable, device: DeviceRow, r: BalanceReport, applied: { count: bigint; totalMinor: bigint }, carried: readonly CarriedUnload[],
): Promise<{ count: bigint; totalMinor: bigint }> {
  let { count, totalMinor } = applied;
  const seen = new Set<bigint>();
  for (const c of carried) {
    if (bytesToHex(c.deviceId) !== bytesToHex(device.deviceId) || c.unloadCounter >= r.unloadCounter || seen.has(c.unloadCounter)) continue;
    seen.add(c.unloadCounter);
    const rows = await q.query('SELECT 1 AS one FROM unload_records WHERE device_id = $1 AND unload_counter = $2', [device.deviceId, c.unloadCounter]);
    if (rows.length > 0) continue;
    count += 1n;
    totalMinor += c.amountMinor;
  }
  return { count, totalMinor };
}

/**
 * Every unload record below the counter applied: the totals must be equal. Records not delivered
 * yet (the SE keeps only its last one): each is worth at least one minor unit, so unloaded must be
 * at least the applied sum plus one per missing record; the rest is checked when they arrive.
 */
function checkUnloaded(r: BalanceReport, applied: { count: bigint; totalMinor: bigint }, fail: (code: LedgerErrorCode, why: string) => never): void {
  const missing = r.unloadCounter - applied.count;
  if (missing === 0n && r.unloadedTotalMinor !== applied.totalMinor) {
    fail(LedgerErrorCode.unloadedMismatch, `unloaded ${r.unloadedTotalMinor}, expected the ${applied.totalMinor} of the ${applied.count} records applied`);
  }
  if (missing > 0n && r.unloadedTotalMinor < applied.totalMinor + missing) {
    fail(LedgerErrorCode.unloadedMismatch, `unloaded ${r.unloadedTotalMinor} cannot cover the ${applied.totalMinor} applied and ${missing} records not yet delivered`);
  }
}
