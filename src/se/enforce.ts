// The limits the SE enforces (DESIGN §4, §7), as checks over a StateTx that refuse with their own
// status word, and the state updates that go with them.
//
// Why a separate file: the payment commands (added by the lead) and the value commands here share
// these rules, and each rule is testable on its own before any payment proof exists. Checks come
// in a fixed order so the refusal a host sees is predictable; each `record*` asserts its own
// postcondition (value is conserved, counters only grow).

import { assert } from '../crypto/assert.ts';
import { R_ORDER, bytesToBigintBE } from '../crypto/group.ts';
import { limitsFor, type TierLimits } from '../policy/limits.ts';
import { equalBytes } from './bytes.ts';
import { RECEIPT_LOG_ENTRIES_MAX, SEEN_NULLIFIERS_MAX } from './constants.ts';
import { SW, SeRefusal, type StatusWord } from './status.ts';
import { assertWalletTotals, receiptCount, type CredentialRecord, type ReceiptEntry, type StateTx } from './state.ts';

export function refuse(sw: StatusWord, detail: string): never {
  throw new SeRefusal(sw, detail);
}

export const tierLimits = (tx: StateTx): TierLimits => limitsFor(tx.get('policy').table, tx.get('wallet').tier);

/** Epoch e runs over [e·epochMs, (e+1)·epochMs); its credential is accepted graceMs longer. */
export function epochAt(nowMs: bigint, limits: TierLimits): bigint {
  return nowMs / limits.epochMs;
}
export function credentialValidUntilMs(epoch: bigint, limits: TierLimits): bigint {
  return (epoch + 1n) * limits.epochMs + limits.graceMs;
}

/** The newest credential valid at `nowMs` (epoch started, grace not over); refuses otherwise. */
export function activeCredential(tx: StateTx, nowMs: bigint): CredentialRecord {
  const limits = tierLimits(tx);
  const all = tx.get('credentials').credentials;
  if (all.length === 0) refuse(SW.NO_CREDENTIAL, 'no credential installed');
  const valid = all.filter((c) => c.epoch * limits.epochMs <= nowMs && nowMs < credentialValidUntilMs(c.epoch, limits));
  if (valid.length === 0) {
    const started = all.filter((c) => c.epoch * limits.epochMs <= nowMs);
    if (started.length === 0) refuse(SW.NO_CREDENTIAL, `no credential has started at ${nowMs} ms`);
    refuse(SW.CREDENTIAL_EXPIRED, `newest credential (epoch ${started.at(-1)!.epoch}) expired with its grace`);
  }
  return valid.reduce((a, b) => (b.epoch > a.epoch ? b : a));
}

/**
 * Checks that the SE may pay `amountMinor` now and returns the credential and the counter to use.
 * Order: device revoked, credential, receive-only tier, amount, cap, balance, offline spend, counter.
 */
export function checkSpend(tx: StateTx, amountMinor: bigint, nowMs: bigint): { credential: CredentialRecord; counter: bigint } {
  if (isDeviceRevoked(tx)) refuse(SW.DEVICE_REVOKED, `revocation list ${tx.get('revocation').version} names this device: it may not pay`);
  const credential = activeCredential(tx, nowMs);
  const limits = tierLimits(tx);
  const wallet = tx.get('wallet');
  const spending = tx.get('spending');
  if (limits.paymentsPerEpoch === 0) refuse(SW.RECEIVE_ONLY, `tier ${wallet.tier} receives only`);
  if (amountMinor <= 0n) refuse(SW.WRONG_DATA, `amount must be positive (got ${amountMinor})`);
  if (amountMinor > limits.capMinor) refuse(SW.CAP_EXCEEDED, `amount ${amountMinor} above cap ${limits.capMinor}`);
  if (amountMinor > wallet.balanceMinor) refuse(SW.INSUFFICIENT_BALANCE, `amount ${amountMinor} above balance ${wallet.balanceMinor}`);
  if (wallet.spentSinceSyncMinor + amountMinor > limits.offlineSpendBeforeSyncMinor) {
    refuse(SW.OFFLINE_SPEND_SYNC_REQUIRED, `spent ${wallet.spentSinceSyncMinor} + ${amountMinor} exceeds ${limits.offlineSpendBeforeSyncMinor}`);
  }
  if (credential.epoch < spending.epoch) {
    refuse(SW.NO_CREDENTIAL, `credential epoch ${credential.epoch} is older than the spending epoch ${spending.epoch}`);
  }
  const counter = credential.epoch === spending.epoch ? spending.counter : 0n;
  if (counter >= BigInt(limits.paymentsPerEpoch)) {
    refuse(SW.EPOCH_PAYMENTS_EXHAUSTED, `all ${limits.paymentsPerEpoch} counters of epoch ${credential.epoch} are used`);
  }
  return { credential, counter };
}

/** Debits a payment made with `counter` of `epoch` (after checkSpend). */
export function recordSpend(tx: StateTx, amountMinor: bigint, epoch: bigint, counter: bigint): void {
  const wallet = tx.get('wallet');
  const before = tx.get('spending');
  assert(amountMinor > 0n && amountMinor <= wallet.balanceMinor, 'recordSpend: amount not checked');
  const expected = epoch === before.epoch ? before.counter : 0n;
  assert(epoch >= before.epoch && counter === expected, 'recordSpend: counter must be the next unused one');
  tx.set('wallet', {
    ...wallet,
    balanceMinor: wallet.balanceMinor - amountMinor,
    spentSinceSyncMinor: wallet.spentSinceSyncMinor + amountMinor,
    spentTotalMinor: wallet.spentTotalMinor + amountMinor,
  });
  tx.set('spending', { epoch, counter: counter + 1n });
  assert(tx.get('wallet').balanceMinor >= 0n, 'recordSpend: balance went negative');
  assertWalletTotals(tx.get('wallet'), 'recordSpend');
}

/** The installed revocation list names this SE's own key (DESIGN §7 freeze). */
export const isDeviceRevoked = (tx: StateTx): boolean => tx.has('revocation') && tx.get('revocation').deviceRevoked;

const isRevoked = (tx: StateTx, nullifier: Uint8Array): boolean =>
  tx.has('revocation') && tx.get('revocation').nullifiers.some((n) => equalBytes(n, nullifier));

/** Checks that the SE may receive this payment. Order: nullifier seen, revoked, log space, holding limit. */
export function checkReceive(tx: StateTx, amountMinor: bigint, nullifier: Uint8Array): void {
  if (tx.get('nullifiers').entries.some((e) => equalBytes(e.nullifier, nullifier))) {
    refuse(SW.NULLIFIER_SEEN, 'nullifier already received');
  }
  if (isRevoked(tx, nullifier)) refuse(SW.NULLIFIER_REVOKED, 'nullifier on the revocation list');
  if (receiptCount(tx) >= RECEIPT_LOG_ENTRIES_MAX) refuse(SW.LOG_FULL, `${RECEIPT_LOG_ENTRIES_MAX} receipts await sync`);
  const limits = tierLimits(tx);
  const balance = tx.get('wallet').balanceMinor;
  if (amountMinor <= 0n) refuse(SW.WRONG_DATA, `amount must be positive (got ${amountMinor})`);
  if (balance + amountMinor > limits.holdingLimitMinor) {
    refuse(SW.HOLDING_LIMIT, `balance ${balance} + ${amountMinor} above holding limit ${limits.holdingLimitMinor}`);
  }
}

/** Credits a received payment, logs it and remembers its nullifier (after checkReceive). */
export function recordReceipt(tx: StateTx, entry: ReceiptEntry, currentEpoch: bigint): bigint {
  assert(bytesToBigintBE(entry.blinding) < R_ORDER, 'recordReceipt: blinding r_a is not a canonical scalar');
  rememberNullifier(tx, entry.epoch, entry.nullifier, currentEpoch);
  const wallet = tx.get('wallet');
  tx.set('wallet', { ...wallet, balanceMinor: wallet.balanceMinor + entry.amountMinor, receivedTotalMinor: wallet.receivedTotalMinor + entry.amountMinor });
  const seq = tx.appendReceipt(entry);
  assert(tx.get('wallet').balanceMinor === wallet.balanceMinor + entry.amountMinor, 'recordReceipt: credit not applied once');
  assertWalletTotals(tx.get('wallet'), 'recordReceipt');
  return seq;
}

/** Adds a nullifier to the bounded seen set, first dropping epochs that can no longer be paid in. */
export function rememberNullifier(tx: StateTx, epoch: bigint, nullifier: Uint8Array, currentEpoch: bigint): void {
  let entries = tx.get('nullifiers').entries;
  if (entries.length >= SEEN_NULLIFIERS_MAX) entries = entries.filter((e) => e.epoch + 1n >= currentEpoch);
  if (entries.length >= SEEN_NULLIFIERS_MAX) refuse(SW.NULLIFIER_SET_FULL, `${SEEN_NULLIFIERS_MAX} nullifiers of live epochs are held`);
  tx.set('nullifiers', { entries: [...entries, { epoch, nullifier }] });
}

/** Credits a load voucher's amount, refusing above the holding limit. */
export function creditLoad(tx: StateTx, amountMinor: bigint): void {
  const limits = tierLimits(tx);
  const wallet = tx.get('wallet');
  if (amountMinor <= 0n) refuse(SW.WRONG_DATA, 'voucher amount must be positive');
  if (wallet.balanceMinor + amountMinor > limits.holdingLimitMinor) {
    refuse(SW.HOLDING_LIMIT, `balance ${wallet.balanceMinor} + ${amountMinor} above holding limit ${limits.holdingLimitMinor}`);
  }
  tx.set('wallet', {
    ...wallet,
    balanceMinor: wallet.balanceMinor + amountMinor,
    loadCounter: wallet.loadCounter + 1n,
    loadedTotalMinor: wallet.loadedTotalMinor + amountMinor,
  });
  assertWalletTotals(tx.get('wallet'), 'creditLoad');
}
