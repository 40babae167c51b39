// The ledger's view of one payment record as a payee SE logs it (src/protocol/payment_record.ts
// defines the layout: version u8 | context length u16 | context | payment). This reads only the
// fixed-offset public fields the FI needs without any curve work (epoch, tier, nullifier N,
// C_a), so the main thread stays cheap; the workers decode the whole proof canonically and a
// record whose N is not a valid point fails there. Layout offsets come from the payment codec's
// fixed layout (src/crypto/payment_codec.ts): header 12 bytes (the last is the range width, which
// sets the length), then C_a, N, T (48 each).
//
// Why not import protocol's decoder: it only splits bytes, and this file must stay loadable in a
// worker without the protocol part; a test pins both readers to the same bytes.

import { sha256 } from '@noble/hashes/sha2.js';
import {
  G1_BYTES, PAYMENT_AMOUNT_COMMITMENT_OFFSET, PAYMENT_BYTES_MAX, PAYMENT_CONTEXT_BYTES_MAX, PAYMENT_NULLIFIER_OFFSET, expectedPaymentLength,
} from '../../crypto/index.ts';

export const RECORD_VERSION = 1;
export const RECORD_BYTES_MAX = 3 + PAYMENT_CONTEXT_BYTES_MAX + PAYMENT_BYTES_MAX;
const OFFSET_C_A = PAYMENT_AMOUNT_COMMITMENT_OFFSET;
const OFFSET_N = PAYMENT_NULLIFIER_OFFSET;

export interface RecordView {
  record: Uint8Array;
  context: Uint8Array;
  payment: Uint8Array;
  epoch: bigint;
  tier: number;
  nullifier: Uint8Array;
  C_a: Uint8Array;
  /** SHA-256 of the whole record: the payment's identity in every registry. */
  paymentHash: Uint8Array;
}

/** Splits a record and reads its public fields, or returns a reason (never throws). */
export function viewRecord(record: Uint8Array): { ok: true; view: RecordView } | { ok: false; reason: string } {
  if (!(record instanceof Uint8Array) || record.length < 3 || record.length > RECORD_BYTES_MAX) {
    return { ok: false, reason: `record must be 3..${RECORD_BYTES_MAX} bytes` };
  }
  if (record[0] !== RECORD_VERSION) return { ok: false, reason: `record version ${record[0]}, expected ${RECORD_VERSION}` };
  const contextLength = (record[1]! << 8) | record[2]!;
  const paymentLength = contextLength <= PAYMENT_CONTEXT_BYTES_MAX ? expectedPaymentLength(record.subarray(3 + contextLength)) : null;
  if (paymentLength === null || record.length !== 3 + contextLength + paymentLength) {
    return { ok: false, reason: `record with a ${contextLength}-byte context has length ${record.length}` };
  }
  const context = record.slice(3, 3 + contextLength);
  const payment = record.slice(3 + contextLength);
  const view = new DataView(payment.buffer, payment.byteOffset, payment.byteLength);
  return {
    ok: true,
    view: {
      record,
      context,
      payment,
      epoch: view.getBigUint64(1),
      tier: payment[9]!,
      nullifier: payment.slice(OFFSET_N, OFFSET_N + G1_BYTES),
      C_a: payment.slice(OFFSET_C_A, OFFSET_C_A + G1_BYTES),
      paymentHash: sha256(record),
    },
  };
}
