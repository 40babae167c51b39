// The node:crypto ECDSA P-256 verifier against noble's `p256.verify(…, { lowS: false })`, the check
// it replaces: the same answer for good signatures in both S forms and for every kind of bad input
// (a flipped bit of the signature, message or key, r or s of 0 or n, a key off the curve, wrong
// lengths), and it never throws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { seededRng } from './rng.ts';
import { verifyP256Signature } from './p256_verify.ts';

const N = p256.Point.Fn.ORDER;
const be32 = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
const scalar = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
const withBit = (b: Uint8Array, i: number) => {
  const c = b.slice();
  c[i % c.length]! ^= 1 << (i % 8);
  return c;
};
const noble = (sig: Uint8Array, msg: Uint8Array, key: Uint8Array) => {
  try {
    return p256.verify(sig, msg, key, { lowS: false });
  } catch {
    return false;
  }
};

test('verifyP256Signature agrees with noble (lowS: false) on good, high-S and tampered signatures', () => {
  const rng = seededRng('p256-verify');
  let good = 0;
  for (let i = 0; i < 60; i++) {
    const { secretKey, publicKey } = p256.keygen(rng(48));
    const msg = rng(i % 50);
    const sig = p256.sign(msg, secretKey);
    const r = sig.slice(0, 32);
    const s = scalar(sig.slice(32));
    const highS = Uint8Array.from([...r, ...be32(N - s)]);
    const other = p256.keygen(rng(48)).publicKey;
    const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [
      ['good', sig, msg, publicKey],
      ['high S', highS, msg, publicKey],
      ['signature bit', withBit(sig, i * 7), msg, publicKey],
      ['message bit', sig, msg.length === 0 ? Uint8Array.of(0) : withBit(msg, i), publicKey],
      ['key bit', sig, msg, withBit(publicKey, 8 + i)],
      ['key parity', sig, msg, Uint8Array.from([publicKey[0]! ^ 1, ...publicKey.slice(1)])],
      ['key prefix 04', sig, msg, Uint8Array.from([4, ...publicKey.slice(1)])],
      ['another key', sig, msg, other],
      ['r = 0', Uint8Array.from([...be32(0n), ...sig.slice(32)]), msg, publicKey],
      ['s = 0', Uint8Array.from([...r, ...be32(0n)]), msg, publicKey],
      ['r = n', Uint8Array.from([...be32(N), ...sig.slice(32)]), msg, publicKey],
      ['s = n', Uint8Array.from([...r, ...be32(N)]), msg, publicKey],
      ['short signature', sig.slice(0, 63), msg, publicKey],
      ['long signature', Uint8Array.from([...sig, 0]), msg, publicKey],
      ['short key', sig, msg, publicKey.slice(0, 32)],
      ['random key bytes', sig, msg, Uint8Array.from([2, ...rng(32)])],
    ];
    for (const [what, a, b, c] of cases) {
      const expected = noble(a, b, c);
      assert.equal(verifyP256Signature(a, b, c), expected, `${i} ${what}: noble says ${expected}`);
      if (expected) good++;
    }
  }
  assert.ok(good >= 120, `good and high-S signatures verify (${good})`);
});

test('verifyP256Signature never throws and refuses what is not bytes', () => {
  const { secretKey, publicKey } = p256.keygen(seededRng('p256-verify-2')(48));
  const sig = p256.sign(Uint8Array.of(1), secretKey);
  assert.equal(verifyP256Signature(sig, Uint8Array.of(1), publicKey), true);
  assert.equal(verifyP256Signature('x' as unknown as Uint8Array, Uint8Array.of(1), publicKey), false);
  assert.equal(verifyP256Signature(sig, null as unknown as Uint8Array, publicKey), false);
  assert.equal(verifyP256Signature(sig, Uint8Array.of(1), new Uint8Array(33)), false);
});
