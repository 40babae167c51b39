// What the payment handlers need to judge the *other* device and to keep transient state:
// which issuer keys a peer's credential may be under, whether a peer's disclosed epoch is live,
// the payee's receive reservations, the receipt signature, and the issuer keys the host may read.
//
// Why apart from the handlers: each rule here is small and shared by payer and payee, and the
// handlers stay a readable sequence of checks.

import { p256 } from '@noble/curves/nist.js';
import { assert } from '../crypto/assert.ts';
import { G2Point } from '../crypto/group.ts';
import { TIERS, limitsFor, type TierLimits } from '../policy/limits.ts';
import { receiptSignedBytes } from '../protocol/messages.ts';
import { equalBytes } from './bytes.ts';
import { RECEIPT_LOG_ENTRIES_MAX } from './constants.ts';
import { credentialValidUntilMs, refuse, tierLimits } from './enforce.ts';
import { PENDING_REQUESTS_MAX } from './payment_limits.ts';
import { receiptCount, type PendingRequest, type StateTx } from './state.ts';
import { SW } from './status.ts';

/**
 * Issuer keys a peer's credential of `epoch` may be under. Keys come only from CB certificates
 * (FINISH_ISSUANCE and INSTALL_ISSUER_KEYS check them). When the SE knows the key of exactly that
 * epoch, only that key; otherwise every key it holds, as tiers with different epoch lengths number
 * their epochs differently (a deployment with one key per epoch number installs the other tiers'
 * keys at sync, and then the exact match applies).
 */
export function candidateIssuerKeys(tx: StateTx, epoch: bigint): G2Point[] {
  const known = knownIssuerKeys(tx);
  const exact = known.filter((k) => k.epoch === epoch);
  const out: Uint8Array[] = [];
  for (const k of exact.length > 0 ? exact : known) if (!out.some((x) => equalBytes(x, k.publicKey))) out.push(k.publicKey);
  return out.map((k) => G2Point.fromBytes(k));
}

/** Limits of a peer's disclosed tier, or null when the tier is unknown to this SE's policy. */
export function peerLimits(tx: StateTx, tier: number): TierLimits | null {
  return (TIERS as readonly number[]).includes(tier) ? limitsFor(tx.get('policy').table, tier) : null;
}

/** True when a credential of `epoch` under `limits` is valid at `nowMs` (started, grace not over). */
export function epochLive(epoch: bigint, limits: TierLimits, nowMs: bigint): boolean {
  return epoch * limits.epochMs <= nowMs && nowMs < credentialValidUntilMs(epoch, limits);
}

export const pendingRequests = (tx: StateTx): PendingRequest[] =>
  tx.has('payment_requests') ? tx.get('payment_requests').entries : [];

/** This SE's receipt-log capacity: what the manufacturer configured, at most the global bound. */
export const receiptLogCapacity = (tx: StateTx): number =>
  tx.has('storage') ? Math.min(tx.get('storage').receiptLogCapacity, RECEIPT_LOG_ENTRIES_MAX) : RECEIPT_LOG_ENTRIES_MAX;

/**
 * Refuses a request table (after adding a new request) unless the log and the holding limit have
 * room for every unpaid request in it: a payee never asks for a payment it could not then accept,
 * so a payer's debit is not stranded by a limit the payee knew about.
 */
export function reserveReceive(tx: StateTx, entries: readonly PendingRequest[]): void {
  const unpaid = entries.filter((r) => r.paidHash === null);
  const capacity = receiptLogCapacity(tx);
  if (receiptCount(tx) + unpaid.length > capacity) {
    refuse(SW.LOG_FULL, `${receiptCount(tx)} receipts and ${unpaid.length} open requests exceed the log of ${capacity}`);
  }
  const reserved = unpaid.reduce((s, r) => s + r.amountMinor, 0n);
  const balance = tx.get('wallet').balanceMinor;
  const limit = tierLimits(tx).holdingLimitMinor;
  if (balance + reserved > limit) refuse(SW.HOLDING_LIMIT, `balance ${balance} + open requests ${reserved} above holding limit ${limit}`);
}

/** Adds a request, evicting the oldest paid one first and only then the oldest unpaid one. */
export function withRequest(entries: readonly PendingRequest[], added: PendingRequest): PendingRequest[] {
  const kept = [...entries];
  if (kept.length >= PENDING_REQUESTS_MAX) {
    const paid = kept.findIndex((r) => r.paidHash !== null);
    kept.splice(paid >= 0 ? paid : 0, 1);
  }
  kept.push(added);
  assert(kept.length <= PENDING_REQUESTS_MAX, 'withRequest: bound kept');
  return kept;
}

/** ECDSA P-256 over receiptSignedBytes(hash) with the attestation key, compact r ‖ s. */
export function signReceipt(attestationSecretKey: Uint8Array, hash: Uint8Array): Uint8Array {
  const sig = p256.sign(receiptSignedBytes(hash), attestationSecretKey);
  assert(sig.length === 64, 'signReceipt: compact signature expected');
  return sig;
}

/** Every issuer key this SE holds (its credentials' and the CB-certified ones), for the host's checks. */
export function knownIssuerKeys(tx: StateTx): Array<{ epoch: bigint; publicKey: Uint8Array }> {
  const out: Array<{ epoch: bigint; publicKey: Uint8Array }> = [];
  const all = [
    ...tx.get('credentials').credentials.map((c) => ({ epoch: c.epoch, publicKey: c.issuerPublicKey })),
    ...(tx.has('issuer_keys') ? tx.get('issuer_keys').entries : []),
  ];
  for (const k of all) if (!out.some((x) => x.epoch === k.epoch && equalBytes(x.publicKey, k.publicKey))) out.push(k);
  return out;
}
