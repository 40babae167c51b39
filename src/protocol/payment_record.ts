// What a payee's SE logs for each accepted payment and later uploads at sync: the payment bytes as
// received plus the context the payee built for it (the ledger needs the context to recompute
// R = H(ctx) and re-verify the proof). The amount and its blinding are NOT in the record: the ledger
// sees them only summed over a batch (DESIGN §3.3).
//
// Layout: version u8 | context length u16 | context | payment (its length set by its range width).

import {
  CREDENTIAL_PROOF_BYTES,
  CryptoDecodeError,
  PAYMENT_BYTES_MAX as PAYMENT_PROOF_MAX,
  expectedPaymentLength,
  PAYMENT_CONTEXT_BYTES_MAX,
  assert,
  concatBytes,
  decodePaymentProof,
} from '../crypto/index.ts';
import { CREDENTIAL_PROOF_BYTES_MAX, PAYMENT_PROOF_BYTES_MAX } from './limits.ts';
import { PAYMENT_CONTEXT_BYTES } from './session.ts';
import type { PaymentProof, PaymentStatement } from '../crypto/index.ts';

export const PAYMENT_RECORD_VERSION = 1;

// The wire limits (protocol) must hold what the crypto layer actually produces.
assert(PAYMENT_PROOF_MAX <= PAYMENT_PROOF_BYTES_MAX, `a payment proof (${PAYMENT_PROOF_MAX} B) fits PAYMENT_PROOF_BYTES_MAX`);
assert(CREDENTIAL_PROOF_BYTES <= CREDENTIAL_PROOF_BYTES_MAX, 'a credential proof fits CREDENTIAL_PROOF_BYTES_MAX');
assert(PAYMENT_CONTEXT_BYTES <= PAYMENT_CONTEXT_BYTES_MAX, 'the session context fits what the payment proof hashes');
export const PAYMENT_RECORD_BYTES_MAX = 3 + PAYMENT_CONTEXT_BYTES_MAX + PAYMENT_PROOF_MAX;

export interface PaymentRecord {
  context: Uint8Array;
  payment: Uint8Array;
}

export function encodePaymentRecord(r: PaymentRecord): Uint8Array {
  if (r.context.length > PAYMENT_CONTEXT_BYTES_MAX) throw new RangeError(`context of ${r.context.length} bytes is above ${PAYMENT_CONTEXT_BYTES_MAX}`);
  const head = new Uint8Array(3);
  head[0] = PAYMENT_RECORD_VERSION;
  new DataView(head.buffer).setUint16(1, r.context.length);
  return concatBytes(head, r.context, r.payment);
}

/** Splits a record; checks lengths and version only (decodePaymentRecordFull also decodes the proof). */
export function decodePaymentRecord(bytes: Uint8Array): PaymentRecord {
  if (bytes.length < 3 || bytes.length > PAYMENT_RECORD_BYTES_MAX) {
    throw new CryptoDecodeError('LENGTH', `payment record must be 3..${PAYMENT_RECORD_BYTES_MAX} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== PAYMENT_RECORD_VERSION) {
    throw new CryptoDecodeError('MALFORMED', `payment record version must be ${PAYMENT_RECORD_VERSION}, got ${bytes[0]}`);
  }
  const contextLength = new DataView(bytes.buffer, bytes.byteOffset).getUint16(1);
  const paymentLength = contextLength <= PAYMENT_CONTEXT_BYTES_MAX ? expectedPaymentLength(bytes.subarray(3 + contextLength)) : null;
  if (paymentLength === null || bytes.length !== 3 + contextLength + paymentLength) {
    throw new CryptoDecodeError('LENGTH', `payment record with a ${contextLength}-byte context has a payment of the wrong length (${bytes.length} bytes in all)`);
  }
  return { context: bytes.slice(3, 3 + contextLength), payment: bytes.slice(3 + contextLength) };
}

export function decodePaymentRecordFull(bytes: Uint8Array): { statement: PaymentStatement; proof: PaymentProof } {
  const r = decodePaymentRecord(bytes);
  return decodePaymentProof(r.payment, r.context);
}
