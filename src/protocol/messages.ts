// The three messages of an offline payment (DESIGN §5) and one codec each:
//   payee → payer  PaymentRequest   payer → payee  Payment   payee → payer  Receipt
// Each is a CBOR map with small integer keys (compact on a 106–424 kbit/s radio): key 0 is the
// wire version, key 1 the message type, so one message can never be parsed as another. Decoders
// check, in this order: length against the message's limit, bounds and canonical CBOR (cbor.ts),
// then meaning (version, type, exact key set, each field's type, length, range and encoding).
// Proofs are opaque bytes here; the crypto layer decodes them. Encoders assert their input is
// valid: producing a message our own decoder would refuse is a programmer error.
//
// Wire layout (CBOR map, integer keys; bstr = byte string, uint = unsigned integer):
//   PaymentRequest  0:v=1  1:type=1  2:amountMinor uint 1..2^32−1  3:requestId bstr16  4:payeeNonce bstr32
//                   5:payeeSessionKey bstr32 (canonical X25519)  6:payeeCredentialProof bstr 1..1024
//                   7:policyVersion uint 1..2^32−1  8:timeMs uint ≤ 2^53−1
//                   9:payeeIdentity bstr32 (SHA-256 of the payee's attestation key)       ≤ 1178 bytes
//   Payment         0:v=1  1:type=2  2:requestId bstr16  3:payerSessionKey bstr32  4:proof bstr 1..2560
//                   5:sealedOpening bstr56                                                ≤ 2681 bytes
//   Receipt         0:v=1  1:type=3  2:paymentHash bstr32  3:payeeSignature bstr64 (r‖s, 1 ≤ r,s < n)
//                   4:payeeAttestationKey bstr33 (compressed P-256, on the curve)          = 143 bytes

import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from '../crypto/assert.ts';
import {
  bigintInRange,
  bytesBounded,
  bytesExact,
  decodeCanonical,
  encodeCanonical,
  expectMap,
  uintInRange,
  type CborValue,
  type WireMap,
} from './cbor.ts';
import * as L from './limits.ts';
import { isCanonicalX25519PublicKey } from './session_keys.ts';
import { WireError, WireErrorCode, isWireError } from './wire_error.ts';

export const MessageType = { paymentRequest: 1, payment: 2, receipt: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface PaymentRequest {
  v: typeof L.PROTOCOL_VERSION;
  amountMinor: bigint;
  requestId: Uint8Array;
  /** ρ: fresh per request, hashed into the payment context. */
  payeeNonce: Uint8Array;
  /** Payee's ephemeral X25519 public key for this session. */
  payeeSessionKey: Uint8Array;
  /** Who will upload the payment: payeeIdentityOf(payee attestation key), bound into the context. */
  payeeIdentity: Uint8Array;
  /** Opaque: the payee's proof of a genuine device, decoded by the crypto layer. */
  payeeCredentialProof: Uint8Array;
  policyVersion: bigint;
  timeMs: number;
}

export interface Payment {
  v: typeof L.PROTOCOL_VERSION;
  requestId: Uint8Array;
  /** Payer's ephemeral X25519 public key for this session. */
  payerSessionKey: Uint8Array;
  /** Opaque: public inputs and the payment proof of DESIGN §3.2, decoded by the crypto layer. */
  proof: Uint8Array;
  /** AEAD(amount ‖ r_a) under the session key, associated data = payment context (session.ts). */
  sealedOpening: Uint8Array;
}

export interface Receipt {
  v: typeof L.PROTOCOL_VERSION;
  paymentHash: Uint8Array;
  /** ECDSA P-256 r ‖ s by the payee SE's attestation key over receiptSignedBytes(paymentHash). */
  payeeSignature: Uint8Array;
  payeeAttestationKey: Uint8Array;
}

const K = { v: 0, type: 1 } as const;
const REQ = { amountMinor: 2, requestId: 3, payeeNonce: 4, payeeSessionKey: 5, payeeCredentialProof: 6, policyVersion: 7, timeMs: 8, payeeIdentity: 9 } as const;
const PAY = { requestId: 2, payerSessionKey: 3, proof: 4, sealedOpening: 5 } as const;
const RCP = { paymentHash: 2, payeeSignature: 3, payeeAttestationKey: 4 } as const;
const keysOf = (fields: Record<string, number>): number[] => [K.v, K.type, ...Object.values(fields)];

/** Decodes the envelope: length, canonical CBOR, exact key set, version, then message type. */
function openEnvelope(bytes: Uint8Array, type: MessageType, fields: Record<string, number>, bytesMax: number, what: string): WireMap {
  const value = decodeCanonical(bytes, { bytesMax });
  if (value instanceof Map) {
    // Version first: a future version may have other fields, and should be named as such.
    const v = value.get(K.v);
    if (v !== undefined && v !== L.PROTOCOL_VERSION) {
      throw new WireError(WireErrorCode.BAD_VERSION, `${what}: expected version ${L.PROTOCOL_VERSION}, found ${String(v)}`);
    }
    const t = value.get(K.type);
    if (t !== undefined && t !== type) {
      throw new WireError(WireErrorCode.WRONG_TYPE, `${what}: expected message type ${type}, found ${String(t)}`);
    }
  }
  return expectMap(value, keysOf(fields), what);
}

function sessionKey(map: WireMap, key: number, name: string): Uint8Array {
  const k = bytesExact(map, key, name, L.SESSION_KEY_BYTES);
  if (!isCanonicalX25519PublicKey(k)) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${name}: expected a canonical X25519 u-coordinate (< 2^255 − 19), found a value ≥ p`);
  }
  return k;
}

function encodeChecked<T>(body: Map<CborValue, CborValue>, decode: (b: Uint8Array) => T, what: string): Uint8Array {
  const bytes = encodeCanonical(body);
  try {
    decode(bytes);
  } catch (e) {
    assert(!isWireError(e), `encode${what}: fields out of bounds: ${(e as Error).message}`);
    throw e;
  }
  return bytes;
}

// ---- PaymentRequest ------------------------------------------------------------------------------

export function encodePaymentRequest(m: PaymentRequest): Uint8Array {
  const body = new Map<CborValue, CborValue>([
    [K.v, m.v],
    [K.type, MessageType.paymentRequest],
    [REQ.amountMinor, m.amountMinor],
    [REQ.requestId, m.requestId],
    [REQ.payeeNonce, m.payeeNonce],
    [REQ.payeeSessionKey, m.payeeSessionKey],
    [REQ.payeeCredentialProof, m.payeeCredentialProof],
    [REQ.policyVersion, m.policyVersion],
    [REQ.timeMs, m.timeMs],
    [REQ.payeeIdentity, m.payeeIdentity],
  ]);
  return encodeChecked(body, decodePaymentRequest, 'PaymentRequest');
}

export function decodePaymentRequest(bytes: Uint8Array): PaymentRequest {
  const what = 'PaymentRequest';
  const map = openEnvelope(bytes, MessageType.paymentRequest, REQ, L.PAYMENT_REQUEST_BYTES_MAX, what);
  return {
    v: L.PROTOCOL_VERSION,
    amountMinor: bigintInRange(map, REQ.amountMinor, `${what}.amountMinor`, L.AMOUNT_MINOR_MIN, L.AMOUNT_MINOR_MAX),
    requestId: bytesExact(map, REQ.requestId, `${what}.requestId`, L.REQUEST_ID_BYTES),
    payeeNonce: bytesExact(map, REQ.payeeNonce, `${what}.payeeNonce`, L.PAYEE_NONCE_BYTES),
    payeeSessionKey: sessionKey(map, REQ.payeeSessionKey, `${what}.payeeSessionKey`),
    payeeCredentialProof: bytesBounded(map, REQ.payeeCredentialProof, `${what}.payeeCredentialProof`, L.PROOF_BYTES_MIN, L.CREDENTIAL_PROOF_BYTES_MAX),
    policyVersion: bigintInRange(map, REQ.policyVersion, `${what}.policyVersion`, 1n, L.POLICY_VERSION_MAX),
    timeMs: uintInRange(map, REQ.timeMs, `${what}.timeMs`, 0, L.TIME_MS_MAX),
    payeeIdentity: bytesExact(map, REQ.payeeIdentity, `${what}.payeeIdentity`, L.PAYEE_IDENTITY_BYTES),
  };
}

// ---- Payment -------------------------------------------------------------------------------------

export function encodePayment(m: Payment): Uint8Array {
  const body = new Map<CborValue, CborValue>([
    [K.v, m.v],
    [K.type, MessageType.payment],
    [PAY.requestId, m.requestId],
    [PAY.payerSessionKey, m.payerSessionKey],
    [PAY.proof, m.proof],
    [PAY.sealedOpening, m.sealedOpening],
  ]);
  return encodeChecked(body, decodePayment, 'Payment');
}

export function decodePayment(bytes: Uint8Array): Payment {
  const what = 'Payment';
  const map = openEnvelope(bytes, MessageType.payment, PAY, L.PAYMENT_BYTES_MAX, what);
  return {
    v: L.PROTOCOL_VERSION,
    requestId: bytesExact(map, PAY.requestId, `${what}.requestId`, L.REQUEST_ID_BYTES),
    payerSessionKey: sessionKey(map, PAY.payerSessionKey, `${what}.payerSessionKey`),
    proof: bytesBounded(map, PAY.proof, `${what}.proof`, L.PROOF_BYTES_MIN, L.PAYMENT_PROOF_BYTES_MAX),
    sealedOpening: bytesExact(map, PAY.sealedOpening, `${what}.sealedOpening`, L.SEALED_OPENING_BYTES),
  };
}

// ---- Receipt -------------------------------------------------------------------------------------

const P256_N = p256.Point.Fn.ORDER;

export function encodeReceipt(m: Receipt): Uint8Array {
  const body = new Map<CborValue, CborValue>([
    [K.v, m.v],
    [K.type, MessageType.receipt],
    [RCP.paymentHash, m.paymentHash],
    [RCP.payeeSignature, m.payeeSignature],
    [RCP.payeeAttestationKey, m.payeeAttestationKey],
  ]);
  return encodeChecked(body, decodeReceipt, 'Receipt');
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  const what = 'Receipt';
  const map = openEnvelope(bytes, MessageType.receipt, RCP, L.RECEIPT_BYTES_MAX, what);
  const payeeSignature = bytesExact(map, RCP.payeeSignature, `${what}.payeeSignature`, L.RECEIPT_SIGNATURE_BYTES);
  const r = bytesToBigint(payeeSignature.subarray(0, 32));
  const s = bytesToBigint(payeeSignature.subarray(32));
  if (r < 1n || r >= P256_N || s < 1n || s >= P256_N) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${what}.payeeSignature: expected r, s in [1, n−1], found r${r === 0n ? '=0' : ''} s${s === 0n ? '=0' : ''} out of range`);
  }
  const payeeAttestationKey = bytesExact(map, RCP.payeeAttestationKey, `${what}.payeeAttestationKey`, L.ATTESTATION_KEY_BYTES);
  const prefix = payeeAttestationKey[0]!;
  if (prefix !== 0x02 && prefix !== 0x03) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${what}.payeeAttestationKey: expected compressed prefix 0x02/0x03, found 0x${prefix.toString(16).padStart(2, '0')}`);
  }
  try {
    p256.Point.fromBytes(payeeAttestationKey).assertValidity();
  } catch {
    throw new WireError(WireErrorCode.BAD_FIELD, `${what}.payeeAttestationKey: x is not the coordinate of a P-256 point`);
  }
  return {
    v: L.PROTOCOL_VERSION,
    paymentHash: bytesExact(map, RCP.paymentHash, `${what}.paymentHash`, L.PAYMENT_HASH_BYTES),
    payeeSignature,
    payeeAttestationKey,
  };
}

function bytesToBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return x;
}

// ---- Any message, hashes -------------------------------------------------------------------------

export type AnyMessage =
  | { type: typeof MessageType.paymentRequest; message: PaymentRequest }
  | { type: typeof MessageType.payment; message: Payment }
  | { type: typeof MessageType.receipt; message: Receipt };

/** Decodes whichever message `bytes` holds (for a receiver that does not know what comes next). */
export function decodeMessage(bytes: Uint8Array): AnyMessage {
  const value = decodeCanonical(bytes, { bytesMax: L.MESSAGE_BYTES_MAX });
  const t = value instanceof Map ? value.get(K.type) : undefined;
  if (t === MessageType.paymentRequest) return { type: t, message: decodePaymentRequest(bytes) };
  if (t === MessageType.payment) return { type: t, message: decodePayment(bytes) };
  if (t === MessageType.receipt) return { type: t, message: decodeReceipt(bytes) };
  const v = value instanceof Map ? value.get(K.v) : undefined;
  if (v !== undefined && v !== L.PROTOCOL_VERSION) {
    throw new WireError(WireErrorCode.BAD_VERSION, `message: expected version ${L.PROTOCOL_VERSION}, found ${String(v)}`);
  }
  throw new WireError(WireErrorCode.WRONG_TYPE, `message: expected type 1, 2 or 3, found ${t === undefined ? 'none' : String(t)}`);
}

const utf8 = new TextEncoder();
/** Domain prefixes: fixed strings, so prefix ‖ data is unambiguous. */
export const PAYMENT_HASH_DOMAIN = utf8.encode('TALLY-V1/payment-hash\x00');
export const REQUEST_BINDING_DOMAIN = utf8.encode('TALLY-V1/payment-request-binding\x00');

/**
 * The bytes the payee's credential proof must be bound to (e.g. its BBS presentation header):
 * every request field except the proof itself, canonically encoded. Without this binding a relay
 * could put its own session key next to a genuine payee's credential proof and read the amount.
 */
export function paymentRequestBinding(m: Omit<PaymentRequest, 'payeeCredentialProof'>): Uint8Array {
  const body = new Map<CborValue, CborValue>([
    [K.v, m.v],
    [K.type, MessageType.paymentRequest],
    [REQ.amountMinor, m.amountMinor],
    [REQ.requestId, m.requestId],
    [REQ.payeeNonce, m.payeeNonce],
    [REQ.payeeSessionKey, m.payeeSessionKey],
    [REQ.policyVersion, m.policyVersion],
    [REQ.timeMs, m.timeMs],
    [REQ.payeeIdentity, m.payeeIdentity],
  ]);
  assert(m.payeeIdentity.length === L.PAYEE_IDENTITY_BYTES, 'paymentRequestBinding: payee identity length');
  assert(m.requestId.length === L.REQUEST_ID_BYTES && m.payeeNonce.length === L.PAYEE_NONCE_BYTES, 'paymentRequestBinding: field lengths');
  assert(m.payeeSessionKey.length === L.SESSION_KEY_BYTES, 'paymentRequestBinding: session key length');
  return concat(REQUEST_BINDING_DOMAIN, encodeCanonical(body));
}
export const RECEIPT_SIGNATURE_DOMAIN = utf8.encode('TALLY-V1/receipt-signature\x00');

/** Hash of an encoded Payment, carried in the Receipt and used as the payment's id in logs. */
export function paymentHash(paymentBytes: Uint8Array): Uint8Array {
  assert(paymentBytes.length > 0 && paymentBytes.length <= L.PAYMENT_BYTES_MAX, 'paymentHash: not an encoded Payment');
  const out = sha256(concat(PAYMENT_HASH_DOMAIN, paymentBytes));
  assert(out.length === L.PAYMENT_HASH_BYTES, 'paymentHash: SHA-256 is 32 bytes');
  return out;
}

/** The bytes the payee SE signs (ECDSA P-256, SHA-256) to make the Receipt's payeeSignature. */
export function receiptSignedBytes(paymentHashBytes: Uint8Array): Uint8Array {
  assert(paymentHashBytes.length === L.PAYMENT_HASH_BYTES, 'receiptSignedBytes: expected a 32-byte payment hash');
  return concat(RECEIPT_SIGNATURE_DOMAIN, paymentHashBytes);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
