// SE state in the crypto layer's types: the credential (k, e, t, c, s) of a stored record and the
// public parameters a payment is proved and verified under. paymentInputs gathers everything a
// whole provePayment needs (tests and tools; the SE itself proves through spend tokens,
// payment_tokens.ts). The returned values hold secrets (k, the signature); they must never reach a
// response.

import { G1Point, G2Point, scalarFromBytes } from '../crypto/group.ts';
import { decodeCounterSet } from '../crypto/counter_set.ts';
import type { Credential, PaymentParams } from '../crypto/payment.ts';
import type { TierLimits } from '../policy/limits.ts';
import { checkSpend, tierLimits } from './enforce.ts';
import type { CredentialRecord, StateTx } from './state.ts';

/** The crypto-layer credential (k, e, t, c, s) for a stored record. */
export function credentialForProof(record: CredentialRecord, k: Uint8Array): Pick<Credential, 'signature' | 'messages'> {
  return {
    signature: { A: G1Point.fromBytes(record.A), e: scalarFromBytes(record.e) },
    messages: [scalarFromBytes(k), record.epoch, BigInt(record.tier), BigInt(record.deviceClass), scalarFromBytes(record.s)],
  };
}

/** The public parameters a payment is proved and verified under: the epoch's issuer key, Y_reg, cap(t) and L. */
export function paymentParamsFor(issuerPublicKey: Uint8Array, regulatorKey: Uint8Array, limits: TierLimits): PaymentParams {
  return {
    issuerKey: G2Point.fromBytes(issuerPublicKey),
    regulatorKey: G1Point.fromBytes(regulatorKey),
    capMinor: limits.capMinor,
    paymentsPerEpoch: limits.paymentsPerEpoch,
  };
}

export interface PaymentInputs {
  params: PaymentParams;
  credential: Credential;
  counter: number;
  epoch: bigint;
  tier: number;
  deviceClass: number;
}

/** Runs the spend checks for `amountMinor` and gathers the proof inputs; refuses like checkSpend. */
export function paymentInputs(tx: StateTx, amountMinor: bigint, nowMs: bigint): PaymentInputs {
  const { credential: record, counter } = checkSpend(tx, amountMinor, nowMs);
  const limits = tierLimits(tx);
  return {
    params: paymentParamsFor(record.issuerPublicKey, tx.get('anchors').regulatorKey, limits),
    credential: { ...credentialForProof(record, tx.get('identity').k), counterSet: decodeCounterSet(record.counterSet, limits.paymentsPerEpoch) },
    counter: Number(counter),
    epoch: record.epoch,
    tier: record.tier,
    deviceClass: record.deviceClass,
  };
}
