// What `tally device show` says about payments the SE debited and holds no receipt for (issue 9):
// request id, amount, age, payee identity and status. The status comes from the SE's own
// settlement window (GET_UNCONFIRMED_PAYMENTS reclaimableAtMs): before it ends the payment can
// still be re-sent (`tally device pay --resend ID`); after it, the next sync claims it back.

import { bytesToHex } from '@noble/hashes/utils.js';
import type { UnconfirmedSummary } from '../se/index.ts';
import { formatAmount } from './amount.ts';
import type { Io } from './command.ts';

export type UnconfirmedStatus = 'awaiting-receipt' | 'reclaimable';

export interface UnconfirmedLine {
  requestId: string;
  amountMinor: bigint;
  amount: string;
  paidAtMs: bigint;
  ageMs: bigint;
  payeeIdentity: string;
  epoch: bigint;
  reclaimableAtMs: bigint;
  status: UnconfirmedStatus;
}

export function describeUnconfirmed(kept: readonly UnconfirmedSummary[], nowMs: bigint): UnconfirmedLine[] {
  return kept.map((u) => ({
    requestId: bytesToHex(u.requestId),
    amountMinor: u.amountMinor,
    amount: formatAmount(u.amountMinor),
    paidAtMs: u.paidAtMs,
    ageMs: nowMs > u.paidAtMs ? nowMs - u.paidAtMs : 0n,
    payeeIdentity: bytesToHex(u.payeeIdentity),
    epoch: u.epoch,
    reclaimableAtMs: u.reclaimableAtMs,
    status: nowMs >= u.reclaimableAtMs ? 'reclaimable' : 'awaiting-receipt',
  }));
}

/** "3 d 4 h", "12 min", "40 s": enough to tell a fresh payment from a stale one. */
export function formatAge(ms: bigint): string {
  const s = ms / 1000n;
  if (s < 60n) return `${s} s`;
  if (s < 3600n) return `${s / 60n} min`;
  if (s < 86_400n) return `${s / 3600n} h ${(s % 3600n) / 60n} min`;
  return `${s / 86_400n} d ${(s % 86_400n) / 3600n} h`;
}

export function printUnconfirmed(io: Io, lines: readonly UnconfirmedLine[]): void {
  io.out(`  unconfirmed payments  ${lines.length === 0 ? 'none' : lines.length}`);
  for (const u of lines) {
    const status = u.status === 'reclaimable'
      ? 'reclaimable: the next sync claims it back'
      : `awaiting receipt: re-send with 'tally device pay --resend ${u.requestId}', reclaimable from ${new Date(Number(u.reclaimableAtMs)).toISOString()}`;
    io.out(`    ${u.requestId}  ${u.amount.padStart(10)}  ${formatAge(u.ageMs)} ago  payee ${u.payeeIdentity.slice(0, 16)}…  ${status}`);
  }
}
