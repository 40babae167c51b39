// ECDSA P-256 signed envelopes: every message one party signs for another (load vouchers, unload
// records, balance reports, sync acks, key certificates) travels as CBOR {body, sig}.
//
// Why this shape: the signature covers the exact body bytes, so the verifier checks it before it
// parses the body at all, and the body's `type` field (checked by each decoder) separates the
// domains: a voucher signature can never be read as an ack. Keys are 33-byte compressed points,
// signatures 64-byte compact (r || s). We sign low-S (noble) and verify either form (node:crypto,
// src/crypto/p256_verify.ts, as noble's `lowS: false` would), as real SEs
// and HSMs emit either form (DESIGN §3); nothing in Tally keys on signature bytes, so malleability
// is harmless. Verifiers return a reason and never throw on bad input.

import { p256 } from '@noble/curves/nist.js';
import { assert } from '../crypto/assert.ts';
import { verifyP256Signature } from '../crypto/p256_verify.ts';
import type { Rng } from '../crypto/rng.ts';
import { Fields, SeDecodeError, decodeCbor, encodeCbor } from './cbor.ts';

export const P256_SECRET_KEY_BYTES = 32;
export const P256_PUBLIC_KEY_BYTES = 33;
export const P256_SIGNATURE_BYTES = 64;

export interface P256KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A P-256 key pair from injected randomness (48 bytes hashed to a scalar, as noble's keygen does). */
export function p256KeyPair(rng: Rng): P256KeyPair {
  const { secretKey, publicKey } = p256.keygen(rng(48));
  assert(publicKey.length === P256_PUBLIC_KEY_BYTES, 'p256KeyPair: expected a compressed public key');
  return { secretKey, publicKey };
}

export function p256PublicKey(secretKey: Uint8Array): Uint8Array {
  return p256.getPublicKey(secretKey, true);
}

/** True if `bytes` is a valid compressed P-256 point. */
export function isP256PublicKey(bytes: Uint8Array): boolean {
  if (bytes.length !== P256_PUBLIC_KEY_BYTES) return false;
  try {
    p256.Point.fromBytes(bytes).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** Signs canonical CBOR of `body` and wraps both in an envelope. */
export function signEnvelope(secretKey: Uint8Array, body: Record<string, unknown>): Uint8Array {
  const bodyBytes = encodeCbor(body);
  const sig = p256.sign(bodyBytes, secretKey);
  assert(sig.length === P256_SIGNATURE_BYTES, 'signEnvelope: compact signature expected');
  return encodeCbor({ body: bodyBytes, sig });
}

export type OpenResult = { ok: true; body: unknown; bodyBytes: Uint8Array } | { ok: false; reason: 'MALFORMED' | 'SIGNATURE' };

/** Decodes an envelope, verifies its signature under `publicKey`, then decodes the body CBOR. */
export function openEnvelope(bytes: Uint8Array, publicKey: Uint8Array, maxBytes: number, what: string): OpenResult {
  let bodyBytes: Uint8Array;
  let sig: Uint8Array;
  try {
    const f = new Fields(decodeCbor(bytes, maxBytes, what), ['body', 'sig'], what);
    bodyBytes = f.bytes('body', 1, maxBytes);
    sig = f.bytes('sig', P256_SIGNATURE_BYTES);
  } catch (e) {
    if (e instanceof SeDecodeError) return { ok: false, reason: 'MALFORMED' };
    throw e;
  }
  if (!verifyP256(sig, bodyBytes, publicKey)) return { ok: false, reason: 'SIGNATURE' };
  try {
    return { ok: true, body: decodeCbor(bodyBytes, maxBytes, what), bodyBytes };
  } catch (e) {
    if (e instanceof SeDecodeError) return { ok: false, reason: 'MALFORMED' };
    throw e;
  }
}

/** Reads an envelope's body without checking the signature (for a party that only inspects it). */
export function peekEnvelopeBody(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  const f = new Fields(decodeCbor(bytes, maxBytes, what), ['body', 'sig'], what);
  return decodeCbor(f.bytes('body', 1, maxBytes), maxBytes, what);
}

export function verifyP256(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== P256_SIGNATURE_BYTES || publicKey.length !== P256_PUBLIC_KEY_BYTES) return false;
  return verifyP256Signature(sig, message, publicKey);
}
