// What the payer and payee state machines share: their one error type with stable codes, the
// guard that makes every state usable once, and the payer's check of a receipt.
//
// Why the SE is a port here: the protocol part sits below the SE part (crypto ← protocol ← se is
// the only way the SE can build and check these messages), so the state machines take the SE as
// a small interface the device layer fills with an SeClient. Nothing here holds a secret.

import { p256 } from '@noble/curves/nist.js';
import { decodeReceipt, paymentHash, receiptSignedBytes, type Receipt } from './messages.ts';
import { isWireError } from './wire_error.ts';

export const ExchangeErrorCode = {
  /** A state object was used a second time. */
  STATE_USED: 'STATE_USED',
  /** The peer sent bytes that are not the message this state expects. */
  BAD_MESSAGE: 'BAD_MESSAGE',
  /** The payer's user (or its policy callback) declined the request. */
  DECLINED: 'DECLINED',
  /** The receipt names another payment. */
  RECEIPT_MISMATCH: 'RECEIPT_MISMATCH',
  /** The receipt's signature does not verify under the key it carries. */
  BAD_RECEIPT_SIGNATURE: 'BAD_RECEIPT_SIGNATURE',
  /** The link failed after the payer was debited; the error carries the state to resume from. */
  LINK_LOST: 'LINK_LOST',
} as const;
export type ExchangeErrorCode = (typeof ExchangeErrorCode)[keyof typeof ExchangeErrorCode];

export class ExchangeError extends Error {
  readonly code: ExchangeErrorCode;
  constructor(code: ExchangeErrorCode, message: string) {
    super(message);
    this.name = 'ExchangeError';
    this.code = code;
  }
}

/** Each state calls `use()` first in its one transition: a second call throws STATE_USED. */
export class OneShot {
  #used = false;
  constructor(private readonly state: string) {}
  use(): void {
    if (this.#used) throw new ExchangeError(ExchangeErrorCode.STATE_USED, `${this.state}: this state was already used; continue from the state it returned`);
    this.#used = true;
  }
}

/** Decodes with a wire decoder; a WireError becomes BAD_MESSAGE naming what was expected. */
export function decodeOrBadMessage<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch (e) {
    if (isWireError(e)) throw new ExchangeError(ExchangeErrorCode.BAD_MESSAGE, `expected a ${what}: ${e.message}`);
    throw e;
  }
}

/** Checks that `receiptBytes` acknowledges exactly `payment` under the signature it carries. */
export function checkReceipt(receiptBytes: Uint8Array, payment: Uint8Array): Receipt {
  const receipt = decodeOrBadMessage(decodeReceipt, receiptBytes, 'Receipt');
  const hash = paymentHash(payment);
  if (!equal(receipt.paymentHash, hash)) throw new ExchangeError(ExchangeErrorCode.RECEIPT_MISMATCH, 'Receipt names another payment than the one sent');
  let ok = false;
  try {
    ok = p256.verify(receipt.payeeSignature, receiptSignedBytes(hash), receipt.payeeAttestationKey, { lowS: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new ExchangeError(ExchangeErrorCode.BAD_RECEIPT_SIGNATURE, 'Receipt signature does not verify under the payee attestation key it carries');
  return receipt;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
