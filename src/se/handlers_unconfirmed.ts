// The payer's bookkeeping of payments it debited and holds no receipt for (issue 9): every one is
// kept whole, up to UNCONFIRMED_PAYMENTS_MAX, until the payee's receipt (CONFIRM_PAYMENT) or the FI's
// signed word at sync (settled by its payee, or reclaimed by this SE) drops it.
//
// Why a module of its own: AUTHORIZE_PAYMENT calls only keptPaymentFor() at its start and
// keepUnconfirmed() at its end, so the tap-time proving between them changes without touching
// this, and the rules here (bound, re-request, receipt check) are read in one place.
//
// A receipt is checked the way the payer's host checks it (exchange.ts checkReceipt), plus the one
// thing only the SE can know: the signing key must be the payee the SE paid (SHA-256 identity of
// the attestation key equals the context's payeeIdentity). A bad receipt changes nothing.

import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from '../crypto/assert.ts';
import { settlementWindowEndMs } from '../policy/settlement.ts';
import { decodePayment, decodeReceipt, paymentHash, receiptSignedBytes, type PaymentRequest, type Receipt } from '../protocol/messages.ts';
import { payeeIdentityOf, paymentContextOf } from '../protocol/session.ts';
import { isWireError } from '../protocol/wire_error.ts';
import { encodePaymentRecord } from '../protocol/payment_record.ts';
import { openPaymentOutcomes, openReclaimRefusal, signReclaimClaim } from './reclaim_messages.ts';
import { unloadRecordBody } from './messages.ts';
import { signEnvelope, verifyP256 } from './signed.ts';
import { equalBytes } from './bytes.ts';
import { refuse } from './enforce.ts';
import { command, type AnyRegisteredCommand } from './handler.ts';
import { PAID_REQUEST_IDS_MAX, RECLAIM_REFUSALS_MAX, UNCONFIRMED_PAYMENTS_MAX } from './payment_limits.ts';
import {
  UNCONFIRMED_SLOTS, assertWalletTotals, type PayerState, type StateTx, type UnconfirmedPayment, type UnconfirmedSlot, type UnconfirmedSlotName,
} from './state.ts';
import { SW } from './status.ts';
import { UNCONFIRMED_COMMANDS } from './unconfirmed_commands.ts';

assert(UNCONFIRMED_SLOTS.length === UNCONFIRMED_PAYMENTS_MAX, 'one NVM cell per kept payment');

const slotOf = (tx: StateTx, slot: UnconfirmedSlotName): UnconfirmedSlot => (tx.has(slot) ? tx.get(slot) : { seq: 0n, entry: null });

/** Kept payments oldest first (one NVM cell each, state.ts UNCONFIRMED_SLOTS) and the paid request ids. */
export function payerState(tx: StateTx): PayerState {
  const kept = UNCONFIRMED_SLOTS.map((slot) => slotOf(tx, slot)).filter((s) => s.entry !== null).sort((a, b) => (a.seq < b.seq ? -1 : 1));
  return { unconfirmed: kept.map((s) => s.entry!), paidRequestIds: tx.has('payer') ? tx.get('payer').paidRequestIds : [] };
}

/** Writes `next` back: only the cells whose entry changed, and the paid ids when they did. */
function setPayerState(tx: StateTx, next: PayerState): void {
  const before = payerState(tx);
  if (next.paidRequestIds.length !== before.paidRequestIds.length || !next.paidRequestIds.every((id, i) => equalBytes(id, before.paidRequestIds[i]!))) {
    tx.set('payer', { paidRequestIds: next.paidRequestIds });
  }
  const keep = (u: UnconfirmedPayment) => next.unconfirmed.some((n) => equalBytes(n.paymentHash, u.paymentHash));
  let seq = UNCONFIRMED_SLOTS.reduce((m, slot) => (slotOf(tx, slot).seq > m ? slotOf(tx, slot).seq : m), 0n);
  for (const slot of UNCONFIRMED_SLOTS) {
    const e = slotOf(tx, slot).entry;
    if (e !== null && !keep(e)) tx.set(slot, { seq: slotOf(tx, slot).seq, entry: null });
  }
  for (const u of next.unconfirmed.filter((n) => !before.unconfirmed.some((b) => equalBytes(b.paymentHash, n.paymentHash)))) {
    const free = UNCONFIRMED_SLOTS.find((slot) => slotOf(tx, slot).entry === null);
    assert(free !== undefined, 'setPayerState: more kept payments than slots');
    tx.set(free, { seq: ++seq, entry: u });
  }
}

/** The newest kept payment, or null (GET_LAST_PAYMENT's answer). */
export function newestUnconfirmed(tx: StateTx): UnconfirmedPayment | null {
  return payerState(tx).unconfirmed.at(-1) ?? null;
}

/**
 * AUTHORIZE_PAYMENT's first check. An identical re-request of a kept payment returns it (the host
 * re-sends it; nothing is debited). A request paid before, or the same id with other fields, is
 * refused (REQUEST_ALREADY_PAID); a new payment while every slot is taken is refused
 * (UNCONFIRMED_PAYMENTS_FULL) before anything is debited. Returns null for a payable request.
 */
export function keptPaymentFor(tx: StateTx, requestId: Uint8Array, requestHash: Uint8Array): UnconfirmedPayment | null {
  const payer = payerState(tx);
  const kept = payer.unconfirmed.find((u) => equalBytes(u.requestId, requestId));
  if (kept !== undefined) {
    if (!equalBytes(kept.requestHash, requestHash)) refuse(SW.REQUEST_ALREADY_PAID, 'request id already paid with other request fields');
    return kept;
  }
  if (payer.paidRequestIds.some((id) => equalBytes(id, requestId))) {
    refuse(SW.REQUEST_ALREADY_PAID, 'this request was paid before (never pay one request twice)');
  }
  if (payer.unconfirmed.length >= UNCONFIRMED_PAYMENTS_MAX) {
    refuse(
      SW.UNCONFIRMED_PAYMENTS_FULL,
      `${payer.unconfirmed.length} earlier payments await a receipt (at most ${UNCONFIRMED_PAYMENTS_MAX}); a receipt from their payee or a sync frees one`,
    );
  }
  return null;
}

export interface MadePayment {
  request: PaymentRequest;
  requestHash: Uint8Array;
  /** The encoded Payment the SE just built and debited for. */
  payment: Uint8Array;
  amountMinor: bigint;
  epoch: bigint;
  /** N, the payment's nullifier (compressed G1). */
  nullifier: Uint8Array;
  /** r_a as a 32-byte scalar. */
  blinding: Uint8Array;
  nowMs: bigint;
}

/** AUTHORIZE_PAYMENT's last step, in the same transaction as the debit: keep the payment, remember the id. */
export function keepUnconfirmed(tx: StateTx, made: MadePayment): void {
  const payer = payerState(tx);
  assert(payer.unconfirmed.length < UNCONFIRMED_PAYMENTS_MAX, 'keepUnconfirmed: keptPaymentFor must refuse a full list first');
  const decoded = decodePayment(made.payment);
  assert(equalBytes(decoded.requestId, made.request.requestId), 'keepUnconfirmed: the payment answers another request');
  const entry: UnconfirmedPayment = {
    requestId: made.request.requestId,
    requestHash: made.requestHash,
    payment: made.payment,
    paymentHash: paymentHash(made.payment),
    context: paymentContextOf(made.request, decoded.payerSessionKey),
    amountMinor: made.amountMinor,
    blinding: made.blinding,
    epoch: made.epoch,
    nullifier: made.nullifier,
    payeeIdentity: made.request.payeeIdentity,
    paidAtMs: made.nowMs,
  };
  const paidRequestIds = [...payer.paidRequestIds, made.request.requestId].slice(-PAID_REQUEST_IDS_MAX);
  setPayerState(tx, { unconfirmed: [...payer.unconfirmed, entry], paidRequestIds });
  // A kept payment's id must stay remembered, or a dropped-then-re-requested id could be paid twice.
  assert(payerState(tx).unconfirmed.every((u) => paidRequestIds.some((id) => equalBytes(id, u.requestId))), 'keepUnconfirmed: kept id forgotten');
}

/** Drops the kept payments `drop` selects; returns how many went. */
export function dropUnconfirmed(tx: StateTx, drop: (u: UnconfirmedPayment) => boolean): number {
  const payer = payerState(tx);
  const unconfirmed = payer.unconfirmed.filter((u) => !drop(u));
  const dropped = payer.unconfirmed.length - unconfirmed.length;
  if (dropped > 0) setPayerState(tx, { ...payer, unconfirmed });
  return dropped;
}

function decodeReceiptOrRefuse(bytes: Uint8Array): Receipt {
  try {
    return decodeReceipt(bytes);
  } catch (e) {
    if (isWireError(e)) refuse(SW.WRONG_DATA, `receipt: ${e.message}`);
    throw e;
  }
}

function receiptSignatureValid(receipt: Receipt): boolean {
  return verifyP256(receipt.payeeSignature, receiptSignedBytes(receipt.paymentHash), receipt.payeeAttestationKey);
}

export const confirmPayment = command(UNCONFIRMED_COMMANDS.confirmPayment, (ctx, req) => {
  const { tx } = ctx;
  const receipt = decodeReceiptOrRefuse(req.receipt);
  const kept = payerState(tx).unconfirmed.find((u) => equalBytes(u.paymentHash, receipt.paymentHash));
  if (kept === undefined) return { dropped: false, unconfirmedCount: payerState(tx).unconfirmed.length };
  if (!equalBytes(payeeIdentityOf(receipt.payeeAttestationKey), kept.payeeIdentity)) {
    refuse(SW.BAD_RECEIPT, 'the receipt is signed by another key than the payee this payment was made to');
  }
  if (!receiptSignatureValid(receipt)) refuse(SW.BAD_RECEIPT, 'the receipt signature does not verify under the payee attestation key');
  const dropped = dropUnconfirmed(tx, (u) => u === kept);
  assert(dropped === 1, 'confirmPayment: exactly the receipted payment is dropped');
  return { dropped: true, unconfirmedCount: payerState(tx).unconfirmed.length };
});

export const getUnconfirmedPayments = command(UNCONFIRMED_COMMANDS.getUnconfirmedPayments, (ctx) => {
  const { tx } = ctx;
  const table = tx.get('policy').table;
  const tier = tx.get('wallet').tier;
  return {
    payments: payerState(tx).unconfirmed.map((u) => ({
      requestId: u.requestId, paymentHash: u.paymentHash, payment: u.payment, amountMinor: u.amountMinor, epoch: u.epoch,
      payeeIdentity: u.payeeIdentity, paidAtMs: u.paidAtMs, reclaimableAtMs: settlementWindowEndMs(table, tier, u.epoch),
    })),
  };
});

/** Sync: one SE-signed claim per kept payment; the FI keeps them and credits back those no payee settles. */
export const exportReclaimClaims = command(UNCONFIRMED_COMMANDS.exportReclaimClaims, (ctx) => {
  const id = ctx.tx.get('identity');
  return {
    claims: payerState(ctx.tx).unconfirmed.map((u) => {
      const record = encodePaymentRecord({ context: u.context, payment: decodePayment(u.payment).proof });
      const claim = signReclaimClaim(id.attestationSecretKey, {
        deviceId: id.deviceId, paymentHash: u.paymentHash, recordHash: sha256(record), amountMinor: u.amountMinor, blinding: u.blinding,
        epoch: u.epoch, nullifier: u.nullifier, paidAtMs: u.paidAtMs,
      });
      return { claim, record };
    }),
  };
});

/** Sync: the FI's signed word that these kept payments were settled by their payee or credited back; they go. */
export const applyPaymentOutcomes = command(UNCONFIRMED_COMMANDS.applyPaymentOutcomes, (ctx, req) => {
  const { tx } = ctx;
  const opened = openPaymentOutcomes(req.outcomes, tx.get('anchors').fiPublicKey);
  if (!opened.ok) refuse(opened.reason === 'SIGNATURE' ? SW.BAD_ACK_SIGNATURE : SW.WRONG_DATA, `payment outcomes: ${opened.reason}`);
  if (!equalBytes(opened.value.devicePublicKey, tx.get('identity').attestationPublicKey)) refuse(SW.WRONG_DATA, 'payment outcomes name another device');
  const done = opened.value.done;
  const dropped = dropUnconfirmed(tx, (u) => done.some((h) => equalBytes(h, u.paymentHash)));
  return { dropped, unconfirmedCount: payerState(tx).unconfirmed.length };
});

/**
 * Payee, at sync: the CB's signed word that a payment this SE received and uploaded was reclaimed
 * by its payer. The SE reverses what its balance covers by an unload record (the next sync carries
 * it; its proceeds go to the owner's account, which the payee FI charges the whole amount), so the
 * running totals keep their identity and value is conserved; the rest is the account's to cover.
 */
export const applyReclaimRefusal = command(UNCONFIRMED_COMMANDS.applyReclaimRefusal, (ctx, req) => {
  const { tx } = ctx;
  const opened = openReclaimRefusal(req.refusal, tx.get('anchors').cbPublicKey);
  if (!opened.ok) refuse(opened.reason === 'SIGNATURE' ? SW.BAD_REVOCATION_SIGNATURE : SW.WRONG_DATA, `reclaim refusal: ${opened.reason}`);
  const r = opened.value;
  const id = tx.get('identity');
  if (!equalBytes(r.deviceId, id.deviceId)) refuse(SW.WRONG_DATA, 'the reclaim refusal names another device');
  const applied = tx.has('reclaim_refusals') ? tx.get('reclaim_refusals').applied : [];
  const wallet = tx.get('wallet');
  if (applied.some((a) => a.epoch === r.epoch && equalBytes(a.nullifier, r.nullifier))) {
    return { applied: false, reversedMinor: 0n, unloadRecord: null, balanceMinor: wallet.balanceMinor };
  }
  tx.set('reclaim_refusals', { applied: [...applied, { epoch: r.epoch, nullifier: r.nullifier }].slice(-RECLAIM_REFUSALS_MAX) });
  const reversedMinor = r.amountMinor < wallet.balanceMinor ? r.amountMinor : wallet.balanceMinor;
  if (reversedMinor <= 0n) return { applied: true, reversedMinor: 0n, unloadRecord: null, balanceMinor: wallet.balanceMinor };
  const unloadRecord = signEnvelope(id.attestationSecretKey, unloadRecordBody({
    deviceId: id.deviceId, unloadCounter: wallet.unloadCounter, amountMinor: reversedMinor, fiId: tx.get('anchors').fiId, timeMs: ctx.nowMs,
  }));
  tx.set('wallet', {
    ...wallet, balanceMinor: wallet.balanceMinor - reversedMinor, unloadCounter: wallet.unloadCounter + 1n,
    unloadedTotalMinor: wallet.unloadedTotalMinor + reversedMinor, lastUnloadRecord: unloadRecord,
  });
  assertWalletTotals(tx.get('wallet'), 'applyReclaimRefusal');
  return { applied: true, reversedMinor, unloadRecord, balanceMinor: tx.get('wallet').balanceMinor };
});

export const UNCONFIRMED_HANDLERS: readonly AnyRegisteredCommand[] = [
  confirmPayment, getUnconfirmedPayments, exportReclaimClaims, applyPaymentOutcomes, applyReclaimRefusal,
];
