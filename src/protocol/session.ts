// The encrypted session between payer and payee, and the payment context the proof is bound to.
//
// Key schedule: shared = X25519(own secret, peer public); okm = HKDF-SHA-256(ikm = shared,
// salt = requestId, info = label ‖ payeeSessionKey ‖ payerSessionKey, 44 bytes); the first 32 bytes
// are the ChaCha20-Poly1305 key, the last 12 the nonce. Both ephemeral keys are fresh per payment,
// so every key is used for exactly one seal; a Session object refuses a second seal, which keeps
// the nonce unique even if a caller retries with a different opening.
//
// The amount opening (a, r_a) travels sealed with associated data = paymentContext(...), the same
// bytes the crypto layer hashes into R (DESIGN §3.2). The context holds the payee nonce ρ, the
// payee's identity (a hash of its attestation key: only that device may upload the payment), both
// session public keys, the request id, the policy version the payment is made under (so the
// ledger re-verifies it under that version, whatever the CB published since), the time and the
// protocol version. Replay protection follows: a
// proof made for payee A's session has R bound to A's ρ and A's session key; replayed to payee B
// (or to A in a later session) the verifier recomputes R from B's own ρ and keys, so the proof
// fails and the sealed opening does not authenticate. Binding the payer's key too stops a
// man-in-the-middle from splicing its own key under the payer's proof to read the amount.

import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from '../crypto/assert.ts';
import { R_ORDER } from '../crypto/group.ts';
import * as L from './limits.ts';
import type { PaymentRequest } from './messages.ts';
import { isCanonicalX25519PublicKey, type SessionKeyPair } from './session_keys.ts';

export const SessionErrorCode = {
  /** Peer key is not a canonical 32-byte X25519 u-coordinate, or echoes our own key. */
  BAD_KEY: 'BAD_KEY',
  /** Peer key is a low-order point: the shared secret would be all zero. */
  WEAK_KEY: 'WEAK_KEY',
  /** Sealed opening has the wrong length. */
  BAD_LENGTH: 'BAD_LENGTH',
  /** Authentication failed: ciphertext or context tampered, or sealed under another session key. */
  AUTH_FAILED: 'AUTH_FAILED',
  /** Decrypted opening is out of bounds (amount outside limits, r_a not a canonical scalar). */
  BAD_OPENING: 'BAD_OPENING',
} as const;
export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode];

export class SessionError extends Error {
  readonly code: SessionErrorCode;
  constructor(code: SessionErrorCode, message: string) {
    super(message);
    this.name = 'SessionError';
    this.code = code;
  }
}

export type SessionRole = 'payer' | 'payee';

export interface Opening {
  amountMinor: bigint;
  /** Blinding of C_a = a·G + r_a·H, a scalar mod r. */
  rA: bigint;
}

const utf8 = new TextEncoder();
const SESSION_INFO_LABEL = utf8.encode('TALLY-V1/session/opening\x00');
export const PAYMENT_CONTEXT_LABEL = utf8.encode('TALLY-V1/payment-context\x00');
const AEAD_KEY_BYTES = 32;
const AEAD_NONCE_BYTES = 12;

/** One payment's session: both public keys, the request id and the derived AEAD key and nonce. */
export class Session {
  readonly role: SessionRole;
  readonly requestId: Uint8Array;
  readonly payeeSessionKey: Uint8Array;
  readonly payerSessionKey: Uint8Array;
  readonly #key: Uint8Array;
  readonly #nonce: Uint8Array;
  #sealed = false;

  constructor(role: SessionRole, requestId: Uint8Array, payeeKey: Uint8Array, payerKey: Uint8Array, key: Uint8Array, nonce: Uint8Array) {
    assert(key.length === AEAD_KEY_BYTES && nonce.length === AEAD_NONCE_BYTES, 'Session: bad key schedule output');
    this.role = role;
    this.requestId = requestId.slice();
    this.payeeSessionKey = payeeKey.slice();
    this.payerSessionKey = payerKey.slice();
    this.#key = key;
    this.#nonce = nonce;
  }

  /** Payer side: seals the opening once. A second call is a programmer error (nonce reuse). */
  seal(opening: Opening, context: Uint8Array): Uint8Array {
    assert(this.role === 'payer', 'Session.seal: only the payer seals the opening');
    assert(!this.#sealed, 'Session.seal: this session already sealed an opening');
    assert(opening.amountMinor >= L.AMOUNT_MINOR_MIN && opening.amountMinor <= L.AMOUNT_MINOR_MAX, 'Session.seal: amount out of range');
    assert(opening.rA >= 0n && opening.rA < R_ORDER, 'Session.seal: r_a is not a scalar mod r');
    this.#sealed = true;
    const plain = new Uint8Array(L.OPENING_AMOUNT_BYTES + L.OPENING_BLINDING_BYTES);
    writeBigintBE(plain, 0, L.OPENING_AMOUNT_BYTES, opening.amountMinor);
    writeBigintBE(plain, L.OPENING_AMOUNT_BYTES, L.OPENING_BLINDING_BYTES, opening.rA);
    const sealed = chacha20poly1305(this.#key, this.#nonce, context).encrypt(plain);
    assert(sealed.length === L.SEALED_OPENING_BYTES, 'Session.seal: sealed opening has a fixed size');
    return sealed;
  }

  /** Payee side: opens and bounds-checks the opening, or throws SessionError. */
  open(sealed: Uint8Array, context: Uint8Array): Opening {
    if (sealed.length !== L.SEALED_OPENING_BYTES) {
      throw new SessionError(SessionErrorCode.BAD_LENGTH, `Cannot open amount: expected ${L.SEALED_OPENING_BYTES} bytes, found ${sealed.length}`);
    }
    let plain: Uint8Array;
    try {
      plain = chacha20poly1305(this.#key, this.#nonce, context).decrypt(sealed);
    } catch {
      throw new SessionError(
        SessionErrorCode.AUTH_FAILED,
        'Cannot open amount: authentication failed (ciphertext or payment context altered, or sealed under another session key)',
      );
    }
    const amountMinor = readBigintBE(plain, 0, L.OPENING_AMOUNT_BYTES);
    const rA = readBigintBE(plain, L.OPENING_AMOUNT_BYTES, L.OPENING_BLINDING_BYTES);
    if (amountMinor < L.AMOUNT_MINOR_MIN || amountMinor > L.AMOUNT_MINOR_MAX) {
      throw new SessionError(SessionErrorCode.BAD_OPENING, `Cannot open amount: expected ${L.AMOUNT_MINOR_MIN}..${L.AMOUNT_MINOR_MAX}, found ${amountMinor}`);
    }
    if (rA >= R_ORDER) throw new SessionError(SessionErrorCode.BAD_OPENING, 'Cannot open amount: r_a is not below the group order r');
    return { amountMinor, rA };
  }
}

export interface DeriveSessionParams {
  role: SessionRole;
  own: SessionKeyPair;
  peerPublicKey: Uint8Array;
  requestId: Uint8Array;
}

/** Both sides derive the same Session from their own pair and the peer's public key. */
export function deriveSession(p: DeriveSessionParams): Session {
  assert(p.requestId.length === L.REQUEST_ID_BYTES, 'deriveSession: request id has the wrong length');
  assert(isCanonicalX25519PublicKey(p.own.publicKey), 'deriveSession: own public key not canonical');
  if (!isCanonicalX25519PublicKey(p.peerPublicKey)) {
    throw new SessionError(SessionErrorCode.BAD_KEY, `Peer session key: expected a canonical 32-byte X25519 key, found ${p.peerPublicKey.length} bytes`);
  }
  if (equal(p.peerPublicKey, p.own.publicKey)) {
    throw new SessionError(SessionErrorCode.BAD_KEY, 'Peer session key: peer echoed our own session key');
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(p.own.secretKey, p.peerPublicKey);
  } catch {
    // noble refuses an all-zero result, which only a low-order peer key produces.
    throw new SessionError(SessionErrorCode.WEAK_KEY, 'Peer session key: low-order point, shared secret would be zero');
  }
  const payeeKey = p.role === 'payee' ? p.own.publicKey : p.peerPublicKey;
  const payerKey = p.role === 'payer' ? p.own.publicKey : p.peerPublicKey;
  const info = concatAll([SESSION_INFO_LABEL, payeeKey, payerKey]);
  const okm = hkdf(sha256, shared, p.requestId, info, AEAD_KEY_BYTES + AEAD_NONCE_BYTES);
  return new Session(p.role, p.requestId, payeeKey, payerKey, okm.slice(0, AEAD_KEY_BYTES), okm.slice(AEAD_KEY_BYTES));
}

export function sealOpening(session: Session, opening: Opening, context: Uint8Array): Uint8Array {
  return session.seal(opening, context);
}

export function openOpening(session: Session, sealed: Uint8Array, context: Uint8Array): Opening {
  return session.open(sealed, context);
}

export interface PaymentContextFields {
  version: number;
  requestId: Uint8Array;
  payeeNonce: Uint8Array;
  payeeIdentity: Uint8Array;
  payeeSessionKey: Uint8Array;
  payerSessionKey: Uint8Array;
  policyVersion: bigint;
  timeMs: number;
}

const PAYEE_IDENTITY_DOMAIN = utf8.encode('TALLY-V1/payee-identity\x00');

/** The payee identity a context names: SHA-256 over a domain label and the SE's attestation key. */
export function payeeIdentityOf(attestationPublicKey: Uint8Array): Uint8Array {
  assert(attestationPublicKey.length > 0, 'payeeIdentityOf: empty attestation key');
  const out = sha256(concatAll([PAYEE_IDENTITY_DOMAIN, attestationPublicKey]));
  assert(out.length === L.PAYEE_IDENTITY_BYTES, 'payeeIdentityOf: SHA-256 is 32 bytes');
  return out;
}

/** Field lengths of the fixed layout, in order; the offsets of parsePaymentContext follow from them. */
const CONTEXT_LAYOUT = [
  ['label', PAYMENT_CONTEXT_LABEL.length],
  ['version', 2],
  ['requestId', L.REQUEST_ID_BYTES],
  ['payeeNonce', L.PAYEE_NONCE_BYTES],
  ['payeeIdentity', L.PAYEE_IDENTITY_BYTES],
  ['payeeSessionKey', L.SESSION_KEY_BYTES],
  ['payerSessionKey', L.SESSION_KEY_BYTES],
  ['policyVersion', 8],
  ['timeMs', 8],
] as const;

export const PAYMENT_CONTEXT_BYTES = CONTEXT_LAYOUT.reduce((n, [, len]) => n + len, 0);

/** Bytes of the payment context (fixed layout, PAYMENT_CONTEXT_BYTES = 187): label ‖ version u16 ‖
 *  requestId 16 ‖ ρ 32 ‖ payeeIdentity 32 ‖ payeeSessionKey 32 ‖ payerSessionKey 32 ‖
 *  policyVersion u64 ‖ timeMs u64, all big-endian. Every field has a fixed length, so the encoding
 *  is injective and parsePaymentContext inverts it. */
export function paymentContext(f: PaymentContextFields): Uint8Array {
  assert(Number.isInteger(f.version) && f.version >= 0 && f.version < 1 << 16, 'paymentContext: version is a u16');
  assert(f.requestId.length === L.REQUEST_ID_BYTES, 'paymentContext: request id length');
  assert(f.payeeNonce.length === L.PAYEE_NONCE_BYTES, 'paymentContext: payee nonce length');
  assert(f.payeeIdentity.length === L.PAYEE_IDENTITY_BYTES, 'paymentContext: payee identity length');
  assert(f.payeeSessionKey.length === L.SESSION_KEY_BYTES, 'paymentContext: payee session key length');
  assert(f.payerSessionKey.length === L.SESSION_KEY_BYTES, 'paymentContext: payer session key length');
  assert(f.policyVersion >= 1n && f.policyVersion <= L.POLICY_VERSION_MAX, 'paymentContext: policy version out of range');
  assert(Number.isSafeInteger(f.timeMs) && f.timeMs >= 0 && f.timeMs <= L.TIME_MS_MAX, 'paymentContext: time out of range');
  const head = new Uint8Array(2);
  writeBigintBE(head, 0, 2, BigInt(f.version));
  const policy = new Uint8Array(8);
  writeBigintBE(policy, 0, 8, f.policyVersion);
  const time = new Uint8Array(8);
  writeBigintBE(time, 0, 8, BigInt(f.timeMs));
  const out = concatAll([
    PAYMENT_CONTEXT_LABEL, head, f.requestId, f.payeeNonce, f.payeeIdentity, f.payeeSessionKey, f.payerSessionKey, policy, time,
  ]);
  assert(out.length === PAYMENT_CONTEXT_BYTES, 'paymentContext: fixed length');
  return out;
}

/** Splits context bytes back into fields (the ledger reads the payee and the policy version from
 *  them); undefined for bytes that are not a context of this layout, never throws. */
export function parsePaymentContext(bytes: Uint8Array): PaymentContextFields | undefined {
  if (bytes.length !== PAYMENT_CONTEXT_BYTES || !equal(bytes.subarray(0, PAYMENT_CONTEXT_LABEL.length), PAYMENT_CONTEXT_LABEL)) return undefined;
  const parts = new Map<string, Uint8Array>();
  let at = 0;
  for (const [name, len] of CONTEXT_LAYOUT) {
    parts.set(name, bytes.slice(at, at + len));
    at += len;
  }
  const timeMs = readBigintBE(parts.get('timeMs')!, 0, 8);
  const policyVersion = readBigintBE(parts.get('policyVersion')!, 0, 8);
  if (timeMs > BigInt(L.TIME_MS_MAX) || policyVersion < 1n || policyVersion > L.POLICY_VERSION_MAX) return undefined;
  return {
    version: Number(readBigintBE(parts.get('version')!, 0, 2)),
    requestId: parts.get('requestId')!,
    payeeNonce: parts.get('payeeNonce')!,
    payeeIdentity: parts.get('payeeIdentity')!,
    payeeSessionKey: parts.get('payeeSessionKey')!,
    payerSessionKey: parts.get('payerSessionKey')!,
    policyVersion,
    timeMs: Number(timeMs),
  };
}

/** The context of the payment answering `request` from the payer holding `payerSessionKey`:
 *  time, policy version and payee identity as the request states them, version = the request's
 *  wire version. Both sides call this. */
export function paymentContextOf(request: PaymentRequest, payerSessionKey: Uint8Array): Uint8Array {
  return paymentContext({
    version: request.v,
    requestId: request.requestId,
    payeeNonce: request.payeeNonce,
    payeeIdentity: request.payeeIdentity,
    payeeSessionKey: request.payeeSessionKey,
    payerSessionKey,
    policyVersion: request.policyVersion,
    timeMs: request.timeMs,
  });
}

function writeBigintBE(out: Uint8Array, offset: number, length: number, x: bigint): void {
  assert(x >= 0n && x < 1n << BigInt(8 * length), 'writeBigintBE: value does not fit');
  for (let i = length - 1; i >= 0; i--) {
    out[offset + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function readBigintBE(b: Uint8Array, offset: number, length: number): bigint {
  let x = 0n;
  for (let i = 0; i < length; i++) x = (x << 8n) | BigInt(b[offset + i]!);
  return x;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
