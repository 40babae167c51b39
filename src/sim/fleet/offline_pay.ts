// One offline payment between two simulated devices, and the names of the refusals that force a
// device to sync: what the engine and the fault drivers pay with.

import { LedgerError } from '../../ledger/index.ts';
import type { Device } from '../../device/index.ts';
import { memoryLinkPair } from '../../protocol/index.ts';
import { SeError } from '../../se/status.ts';
import { countingTransport } from '../network.ts';
import type { SyncRecord } from './types.ts';

/** The SE refusals that end an offline run, and the reason the forced sync records. */
export const FORCING: Partial<Record<string, SyncRecord['reason']>> = {
  LOG_FULL: 'receipt-log-full',
  OFFLINE_SPEND_SYNC_REQUIRED: 'offline-spend-limit',
  EPOCH_PAYMENTS_EXHAUSTED: 'counter-limit',
  CREDENTIAL_EXPIRED: 'epoch-end',
  NO_CREDENTIAL: 'epoch-end',
  HOLDING_LIMIT: 'holding-limit',
};

/** The stable code of an SE or ledger refusal, else the error's message. */
export const codeOf = (e: unknown): string => (e instanceof SeError ? e.code : e instanceof LedgerError ? e.code : (e as Error).message);

export interface PayResult {
  payment: Uint8Array | null;
  epoch: number;
  bytesOut: number;
  bytesIn: number;
  /** The refusing side's status name, or null when paid. */
  error: string | null;
  side: 'payer' | 'payee' | null;
}

/**
 * One offline payment over an in-memory link (as network.ts payOffline), but it never throws for a
 * refusal: it waits for both sides, so no half of the exchange is left running, and names who refused.
 */
export async function payOffline(payer: Device, payee: Device, amountMinor: bigint, radio: 'nfc' | 'ble'): Promise<PayResult> {
  const [a, b] = memoryLinkPair();
  const out: number[] = [];
  const inn: number[] = [];
  const payerT = countingTransport(payer.transport(a, radio, payee.profile.bleMtu), out);
  const payeeT = countingTransport(payee.transport(b, radio, payer.profile.bleMtu), inn);
  const epoch = Number((await payer.info()).spendingEpoch);
  const paying = payer.pay(payerT, { maxAmountMinor: amountMinor }).finally(() => payerT.close());
  const receiving = payee.receive(payeeT, amountMinor).finally(() => payeeT.close());
  const [p, r] = await Promise.allSettled([paying, receiving]);
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  if (p.status === 'fulfilled' && r.status === 'fulfilled') {
    return { payment: p.value.payment, epoch, bytesOut: sum(out), bytesIn: sum(inn), error: null, side: null };
  }
  // The side that refused with a status word is the one to name; the other only lost its link.
  const se = [p, r].map((x) => (x.status === 'rejected' && x.reason instanceof SeError ? x.reason.code : null));
  const side = se[0] !== null ? 'payer' : se[1] !== null ? 'payee' : p.status === 'rejected' ? 'payer' : 'payee';
  const reason = se[0] ?? se[1] ?? codeOf(p.status === 'rejected' ? p.reason : (r as PromiseRejectedResult).reason);
  return { payment: null, epoch, bytesOut: sum(out), bytesIn: sum(inn), error: reason, side };
}
