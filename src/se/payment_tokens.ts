// The SE's pool of spend tokens (crypto/payment.ts, SpendToken; DESIGN §3.2 "What runs when"):
// made while the device is idle (PRECOMPUTE_PAYMENT), one per future counter of the active
// credential, kept in NVM so a power cycle does not throw the idle work away, and consumed by
// AUTHORIZE_PAYMENT in the same NVM transaction as the debit.
//
// Why in NVM and not RAM: a token is only dangerous if it answers two challenges, and both answers
// carry its N (same counter), so a restored NVM snapshot that replays one is an ordinary double
// spend — detected by the registry and attributed by the tags. A token in RAM would be lost at
// every power-down of a ring, which is most of its life.
//
// Order: tokens are for consecutive counters starting at the next unused one; any token that no
// longer matches (another credential became active, its counter was used by a slow-path payment)
// is dropped before use, never used.

import { assert } from '../crypto/assert.ts';
import { scalarToBytes } from '../crypto/group.ts';
import { COUNTER_SIGNATURE_BYTES, counterSignatureAt } from '../crypto/counter_set.ts';
import { precomputeSpendToken, type SpendToken } from '../crypto/payment.ts';
import { decodeSpendToken, encodeSpendToken } from '../crypto/spend_token.ts';
import type { Rng } from '../crypto/rng.ts';
import { activeCredential, tierLimits } from './enforce.ts';
import { credentialForProof, paymentParamsFor } from './payment_inputs.ts';
import { SPEND_TOKENS_MAX } from './payment_limits.ts';
import { SPEND_TOKEN_SLOTS, type CredentialRecord, type SpendTokenSlotName, type StateTx } from './state.ts';

/** Tokens PRECOMPUTE_PAYMENT keeps ready (the bound of the NVM section). */
export const SPEND_TOKENS_TARGET = SPEND_TOKENS_MAX;
assert(SPEND_TOKEN_SLOTS.length === SPEND_TOKENS_MAX, 'one NVM slot per token of the pool');

/** Filled slots: [slot, encoded token]. */
const stored = (tx: StateTx): Array<[SpendTokenSlotName, Uint8Array]> =>
  SPEND_TOKEN_SLOTS.flatMap((slot) => {
    const t = tx.has(slot) ? tx.get(slot).token : null;
    return t === null ? [] : [[slot, t] as [SpendTokenSlotName, Uint8Array]];
  });

/** The next unused counter of `credential`'s epoch. */
function nextCounter(tx: StateTx, credential: CredentialRecord): number {
  const spending = tx.get('spending');
  return credential.epoch === spending.epoch ? Number(spending.counter) : 0;
}

/** Header fields of an encoded token without decoding its points: epoch u64 at 1, counter u32 at 11. */
function tokenKey(bytes: Uint8Array): { epoch: bigint; counter: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { epoch: v.getBigUint64(1), counter: v.getUint32(11) };
}

/** Empties the slots of tokens no longer good for `credential` (another epoch, a used counter); returns the rest. */
function liveTokens(tx: StateTx, credential: CredentialRecord): Array<[SpendTokenSlotName, Uint8Array]> {
  const next = nextCounter(tx, credential);
  const live: Array<[SpendTokenSlotName, Uint8Array]> = [];
  for (const [slot, b] of stored(tx)) {
    const k = tokenKey(b);
    if (k.epoch === credential.epoch && k.counter >= next) live.push([slot, b]);
    else tx.set(slot, { token: null });
  }
  return live.sort((a, b) => tokenKey(a[1]).counter - tokenKey(b[1]).counter);
}

/** The counter set holds one signature per counter below L; a set for another L makes no tokens. */
const setMatches = (credential: CredentialRecord, L: number): boolean => credential.counterSet.length === L * COUNTER_SIGNATURE_BYTES;

function makeToken(tx: StateTx, credential: CredentialRecord, counter: number, rng: Rng): SpendToken {
  const limits = tierLimits(tx);
  const params = paymentParamsFor(credential.issuerPublicKey, tx.get('anchors').regulatorKey, limits);
  const id = tx.get('identity');
  return precomputeSpendToken({
    params,
    credential: credentialForProof(credential, id.k),
    counter,
    counterSignature: counterSignatureAt(credential.counterSet, counter),
    rng,
  });
}

/**
 * Idle work: drops stale tokens and makes new ones up to the target (never past L). Returns how many
 * are ready and the amount blinding r_a of the token the next payment will use (the host needs it
 * for the amount range proof), or null when no payment is possible now.
 */
export function fillTokens(tx: StateTx, rng: Rng, nowMs: bigint, target = SPEND_TOKENS_TARGET): { ready: number; made: number; nextBlinding: Uint8Array | null } {
  const credential = activeCredential(tx, nowMs);
  const L = tierLimits(tx).paymentsPerEpoch;
  const live = liveTokens(tx, credential);
  if (!setMatches(credential, L)) return { ready: 0, made: 0, nextBlinding: null };
  let made = 0;
  let counter = live.length > 0 ? tokenKey(live.at(-1)![1]).counter + 1 : nextCounter(tx, credential);
  const free = SPEND_TOKEN_SLOTS.filter((slot) => !live.some(([s]) => s === slot));
  while (live.length < Math.min(target, SPEND_TOKENS_MAX) && counter < L && free.length > 0) {
    const slot = free.shift()!;
    const token = encodeSpendToken(makeToken(tx, credential, counter, rng));
    tx.set(slot, { token });
    live.push([slot, token]);
    counter++;
    made++;
  }
  const first = live[0];
  const nextBlinding = first !== undefined && tokenKey(first[1]).counter === nextCounter(tx, credential) ? scalarToBytes(decodeSpendToken(first[1]).r_a) : null;
  return { ready: live.length, made, nextBlinding };
}

/**
 * The token for the next counter of `credential`, removed from the pool in this transaction (the
 * caller's debit commits with it), or null when none is ready: the host runs PRECOMPUTE_PAYMENT
 * first, as it needs that token's r_a for the amount range proof anyway.
 */
export function takeToken(tx: StateTx, credential: CredentialRecord): SpendToken | null {
  const next = nextCounter(tx, credential);
  const live = liveTokens(tx, credential);
  const found = live.find(([, b]) => tokenKey(b).counter === next);
  if (found === undefined) return null;
  tx.set(found[0], { token: null });
  return decodeSpendToken(found[1]);
}

/** The public parameters a token of `credential` is made and finished under. */
export function tokenParams(tx: StateTx, credential: CredentialRecord) {
  return paymentParamsFor(credential.issuerPublicKey, tx.get('anchors').regulatorKey, tierLimits(tx));
}
