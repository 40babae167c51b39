// The two signed messages of reclaim (issue 9): the payer SE's claim on a payment it holds no
// receipt for, and the FI's word on which kept payments are done with (settled by their payee, or
// reclaimed), after which the SE drops them.
//
// Why the claim signs a hash of the payment record rather than the record: a record is ≈ 3 KB and
// a signed envelope is bounded by SIGNED_MESSAGE_BYTES_MAX; the FI recomputes the hash from the
// record that travels beside the claim. The claim carries (a, r_a) in the clear: the FI checks that
// C_a of the proof opens to the amount it would credit back. Only the payer's own FI sees it.

import { Fields, SeDecodeError } from './cbor.ts';
import { DEVICE_ID_BYTES, DIGEST_BYTES, openMessage } from './messages.ts';
import { P256_PUBLIC_KEY_BYTES, signEnvelope } from './signed.ts';
import { G1_BYTES, SCALAR_BYTES } from '../crypto/group.ts';
import { PAYMENT_HASH_BYTES } from '../protocol/limits.ts';

const VERSION = 1;
export const ReclaimMessageType = {
  claim: 'tally/reclaim-claim',
  outcomes: 'tally/payment-outcomes',
  refusal: 'tally/reclaim-refusal',
} as const;
/** Payment hashes one outcomes message may name: a sync answers every kept payment, twice over for slack. */
export const PAYMENT_OUTCOMES_MAX = 16;

/** Payer SE → its FI: "I paid this and hold no receipt; credit it back if its payee never settles it." */
export interface ReclaimClaim {
  deviceId: Uint8Array;
  paymentHash: Uint8Array;
  /** SHA-256 of the payment record (context + proof) sent beside the claim. */
  recordHash: Uint8Array;
  amountMinor: bigint;
  /** r_a (32-byte scalar): C_a = a·G + r_a·H must hold. */
  blinding: Uint8Array;
  epoch: bigint;
  nullifier: Uint8Array;
  paidAtMs: bigint;
}
/** FI → payer SE: the kept payments it may drop (each settled by its payee, or credited back). */
export interface PaymentOutcomes {
  devicePublicKey: Uint8Array;
  done: Uint8Array[];
}

/**
 * CB → payee SE (through its FI's sync answer): "the payment with this nullifier, which you
 * uploaded, was reclaimed by its payer; reverse its credit". The SE reverses what its balance
 * covers by an unload record (src/se/handlers_unconfirmed.ts), whose proceeds offset the charge
 * the payee FI makes on the owner's account (src/ledger/fi/reclaim.ts).
 */
export interface ReclaimRefusal {
  deviceId: Uint8Array;
  epoch: bigint;
  nullifier: Uint8Array;
  amountMinor: bigint;
}

function fields(body: unknown, type: string, keys: string[]): Fields {
  const f = new Fields(body, ['type', 'v', ...keys], type);
  f.tag('type', type);
  if (f.uint('v', 255) !== VERSION) throw new SeDecodeError('FIELD', `${type}.v: expected ${VERSION}`);
  return f;
}

export function decodeReclaimClaim(body: unknown): ReclaimClaim {
  const f = fields(body, ReclaimMessageType.claim, ['deviceId', 'paymentHash', 'recordHash', 'amountMinor', 'blinding', 'epoch', 'nullifier', 'paidAtMs']);
  return {
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES), paymentHash: f.bytes('paymentHash', PAYMENT_HASH_BYTES), recordHash: f.bytes('recordHash', DIGEST_BYTES),
    amountMinor: f.big('amountMinor'), blinding: f.bytes('blinding', SCALAR_BYTES), epoch: f.big('epoch'), nullifier: f.bytes('nullifier', G1_BYTES),
    paidAtMs: f.big('paidAtMs'),
  };
}

export function decodePaymentOutcomes(body: unknown): PaymentOutcomes {
  const f = fields(body, ReclaimMessageType.outcomes, ['devicePublicKey', 'done']);
  const done = f.list('done', PAYMENT_OUTCOMES_MAX).map((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== PAYMENT_HASH_BYTES) throw new SeDecodeError('FIELD', `${ReclaimMessageType.outcomes}.done[${i}]: expected ${PAYMENT_HASH_BYTES} bytes`);
    return h;
  });
  return { devicePublicKey: f.bytes('devicePublicKey', P256_PUBLIC_KEY_BYTES), done };
}

export function decodeReclaimRefusal(body: unknown): ReclaimRefusal {
  const f = fields(body, ReclaimMessageType.refusal, ['deviceId', 'epoch', 'nullifier', 'amountMinor']);
  return { deviceId: f.bytes('deviceId', DEVICE_ID_BYTES), epoch: f.big('epoch'), nullifier: f.bytes('nullifier', G1_BYTES), amountMinor: f.big('amountMinor') };
}

export const signReclaimRefusal = (cbSecretKey: Uint8Array, r: ReclaimRefusal) => signEnvelope(cbSecretKey, { type: ReclaimMessageType.refusal, v: VERSION, ...r });
export const openReclaimRefusal = (b: Uint8Array, cbPublicKey: Uint8Array) => openMessage(b, cbPublicKey, decodeReclaimRefusal, 'reclaim refusal');
export const signReclaimClaim = (seSecretKey: Uint8Array, c: ReclaimClaim) => signEnvelope(seSecretKey, { type: ReclaimMessageType.claim, v: VERSION, ...c });
export const signPaymentOutcomes = (fiSecretKey: Uint8Array, o: PaymentOutcomes) => signEnvelope(fiSecretKey, { type: ReclaimMessageType.outcomes, v: VERSION, ...o });
export const openReclaimClaim = (b: Uint8Array, devicePublicKey: Uint8Array) => openMessage(b, devicePublicKey, decodeReclaimClaim, 'reclaim claim');
export const openPaymentOutcomes = (b: Uint8Array, fiPublicKey: Uint8Array) => openMessage(b, fiPublicKey, decodePaymentOutcomes, 'payment outcomes');
