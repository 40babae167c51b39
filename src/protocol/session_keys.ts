// Ephemeral X25519 key pairs for one payment session (RFC 7748). Both sides make a fresh pair per
// payment, so a session key identifies one session and nothing else; binding both public keys into
// the payment context (session.ts) is what stops a payment being replayed into another session.

import { x25519 } from '@noble/curves/ed25519.js';
import { assert } from '../crypto/assert.ts';
import type { Rng } from '../crypto/rng.ts';
import { SESSION_KEY_BYTES } from './limits.ts';

export interface SessionKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** p = 2^255 − 19, little-endian u-coordinates must be below it to have one encoding. */
const P25519 = (1n << 255n) - 19n;

/** A fresh X25519 key pair from the injected Rng (seeded in tests, system in production). */
export function generateSessionKeyPair(rng: Rng): SessionKeyPair {
  const secretKey = rng(32);
  assert(secretKey.length === 32, 'generateSessionKeyPair: rng returned the wrong length');
  const publicKey = x25519.getPublicKey(secretKey);
  assert(isCanonicalX25519PublicKey(publicKey), 'generateSessionKeyPair: public key not canonical');
  return { secretKey, publicKey };
}

/**
 * True when `u` is 32 bytes holding a u-coordinate below p with the top bit clear. RFC 7748 lets
 * receivers mask and reduce instead; we refuse, so each key has exactly one wire form and the
 * payment context (which includes the key bytes) cannot be varied without changing the key.
 */
export function isCanonicalX25519PublicKey(u: Uint8Array): boolean {
  if (u.length !== SESSION_KEY_BYTES) return false;
  let x = 0n;
  for (let i = u.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(u[i]!);
  return x < P25519;
}
