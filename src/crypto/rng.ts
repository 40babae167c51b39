// Randomness is injected: production code passes `systemRng`, tests pass `seededRng(seed)` so a
// failing run can be replayed from its seed. An Rng returns `n` fresh bytes per call.

import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToBigintBE, mod } from './group.ts';
import { assert } from './assert.ts';

export type Rng = (n: number) => Uint8Array;

export const systemRng: Rng = (n) => {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
};

/** Deterministic RNG: ChaCha20 keystream under SHA-256(seed). For tests and simulation only. */
export function seededRng(seed: string | Uint8Array | number): Rng {
  const seedBytes =
    typeof seed === 'string' || typeof seed === 'number'
      ? new TextEncoder().encode(String(seed))
      : seed;
  const key = sha256(seedBytes);
  let counter = 0;
  return (n) => {
    assert(n >= 0 && n <= 1 << 20, `seededRng: bad length ${n}`);
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(8, counter++);
    return chacha20(key, nonce, new Uint8Array(n));
  };
}

/** Uniform non-zero scalar: 48 bytes reduced mod r (bias < 2^-128), retried on zero. */
export function randomScalar(rng: Rng): bigint {
  for (;;) {
    const x = mod(bytesToBigintBE(rng(48)));
    if (x !== 0n) return x;
  }
}
