// Session crypto: both sides derive the same key, the opening round-trips, and every tamper —
// ciphertext, context, wrong key, another session — fails with a typed SessionError. The payment
// context changes with every field, which is what binds a proof to one payee and one session.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { R_ORDER } from '../crypto/group.ts';
import { seededRng } from '../crypto/rng.ts';
import * as L from './limits.ts';
import {
  PAYMENT_CONTEXT_BYTES,
  SessionError,
  deriveSession,
  openOpening,
  paymentContext,
  parsePaymentContext,
  sealOpening,
  type PaymentContextFields,
  type SessionErrorCode,
} from './session.ts';
import { generateSessionKeyPair, isCanonicalX25519PublicKey } from './session_keys.ts';

const rng = seededRng('session.test');
const requestId = rng(16);

function pair(id = requestId) {
  const payee = generateSessionKeyPair(rng);
  const payer = generateSessionKeyPair(rng);
  const payerSession = deriveSession({ role: 'payer', own: payer, peerPublicKey: payee.publicKey, requestId: id });
  const payeeSession = deriveSession({ role: 'payee', own: payee, peerPublicKey: payer.publicKey, requestId: id });
  const context = paymentContext({
    version: 1,
    requestId: id,
    payeeNonce: rng(32),
    payeeIdentity: rng(32),
    payeeSessionKey: payee.publicKey,
    payerSessionKey: payer.publicKey,
    policyVersion: 1n,
    timeMs: 1_764_000_000_000,
  });
  return { payee, payer, payerSession, payeeSession, context };
}

function fails(f: () => unknown, code: SessionErrorCode): void {
  assert.throws(f, (e: unknown) => e instanceof SessionError && e.code === code, `expected ${code}`);
}

test('sealOpening()/openOpening() round-trip any amount and blinding between payer and payee', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: L.AMOUNT_MINOR_MIN, max: L.AMOUNT_MINOR_MAX }), fc.bigInt({ min: 0n, max: R_ORDER - 1n }), (amountMinor, rA) => {
      const s = pair();
      const sealed = sealOpening(s.payerSession, { amountMinor, rA }, s.context);
      assert.equal(sealed.length, L.SEALED_OPENING_BYTES);
      assert.deepEqual(openOpening(s.payeeSession, sealed, s.context), { amountMinor, rA });
    }),
    { numRuns: 50 },
  );
});

test('openOpening() refuses any flipped bit of the sealed opening with AUTH_FAILED', () => {
  const s = pair();
  const sealed = sealOpening(s.payerSession, { amountMinor: 500n, rA: 42n }, s.context);
  for (let i = 0; i < sealed.length * 8; i += 7) {
    const bad = sealed.slice();
    bad[i >> 3]! ^= 1 << (i & 7);
    fails(() => openOpening(s.payeeSession, bad, s.context), 'AUTH_FAILED');
  }
  fails(() => openOpening(s.payeeSession, sealed.subarray(1), s.context), 'BAD_LENGTH');
  fails(() => openOpening(s.payeeSession, new Uint8Array([...sealed, 0]), s.context), 'BAD_LENGTH');
});

test('openOpening() refuses an opening sealed under another session (wrong key) or another context', () => {
  const a = pair();
  const b = pair();
  const sealed = sealOpening(a.payerSession, { amountMinor: 500n, rA: 42n }, a.context);
  fails(() => openOpening(b.payeeSession, sealed, a.context), 'AUTH_FAILED');
  fails(() => openOpening(a.payeeSession, sealed, b.context), 'AUTH_FAILED');
  const ctx = a.context.slice();
  ctx[ctx.length - 1]! ^= 1;
  fails(() => openOpening(a.payeeSession, sealed, ctx), 'AUTH_FAILED');
  // Same key pairs but another request id: another key.
  const other = deriveSession({ role: 'payee', own: a.payee, peerPublicKey: a.payer.publicKey, requestId: rng(16) });
  fails(() => openOpening(other, sealed, a.context), 'AUTH_FAILED');
});

test('a man in the middle that swaps in its own session key cannot open the amount', () => {
  const s = pair();
  const mallory = generateSessionKeyPair(rng);
  const sealed = sealOpening(s.payerSession, { amountMinor: 900n, rA: 7n }, s.context);
  // Mallory derives with the payer's key as if it were the payee: a different shared secret.
  const mSession = deriveSession({ role: 'payee', own: mallory, peerPublicKey: s.payer.publicKey, requestId });
  fails(() => openOpening(mSession, sealed, s.context), 'AUTH_FAILED');
});

test('a session seals once: a second seal is a programmer error (nonce reuse)', () => {
  const s = pair();
  sealOpening(s.payerSession, { amountMinor: 1n, rA: 1n }, s.context);
  assert.throws(() => sealOpening(s.payerSession, { amountMinor: 2n, rA: 1n }, s.context), /already sealed/);
  assert.throws(() => sealOpening(s.payeeSession, { amountMinor: 2n, rA: 1n }, s.context), /only the payer/);
});

test('deriveSession() refuses low-order, non-canonical and echoed peer keys', () => {
  const own = generateSessionKeyPair(rng);
  const zero = new Uint8Array(32);
  const one = new Uint8Array(32);
  one[0] = 1;
  fails(() => deriveSession({ role: 'payer', own, peerPublicKey: zero, requestId }), 'WEAK_KEY');
  fails(() => deriveSession({ role: 'payer', own, peerPublicKey: one, requestId }), 'WEAK_KEY');
  fails(() => deriveSession({ role: 'payer', own, peerPublicKey: new Uint8Array(32).fill(0xff), requestId }), 'BAD_KEY');
  fails(() => deriveSession({ role: 'payer', own, peerPublicKey: new Uint8Array(31), requestId }), 'BAD_KEY');
  fails(() => deriveSession({ role: 'payer', own, peerPublicKey: own.publicKey, requestId }), 'BAD_KEY');
});

test('isCanonicalX25519PublicKey() accepts u < 2^255 − 19 only', () => {
  const pMinus1 = Uint8Array.from(Buffer.from(((1n << 255n) - 20n).toString(16), 'hex').reverse());
  const p = Uint8Array.from(Buffer.from(((1n << 255n) - 19n).toString(16), 'hex').reverse());
  assert.equal(isCanonicalX25519PublicKey(pMinus1), true);
  assert.equal(isCanonicalX25519PublicKey(p), false);
  assert.equal(isCanonicalX25519PublicKey(new Uint8Array(33)), false);
});

test('paymentContext() changes when any byte of any field changes (binds payee, session, policy and time)', () => {
  const base: PaymentContextFields = {
    version: 1,
    requestId: rng(16),
    payeeNonce: rng(32),
    payeeIdentity: rng(32),
    payeeSessionKey: rng(32),
    payerSessionKey: rng(32),
    policyVersion: 3n,
    timeMs: 1_764_000_000_000,
  };
  const ctx = paymentContext(base);
  assert.equal(ctx.length, PAYMENT_CONTEXT_BYTES);
  assert.deepEqual(paymentContext({ ...base }), ctx);
  const seen = new Set<string>([Buffer.from(ctx).toString('hex')]);
  for (const field of ['requestId', 'payeeNonce', 'payeeIdentity', 'payeeSessionKey', 'payerSessionKey'] as const) {
    for (let i = 0; i < base[field].length; i++) {
      const v = base[field].slice();
      v[i]! ^= 0x80;
      const changed = Buffer.from(paymentContext({ ...base, [field]: v })).toString('hex');
      assert.ok(!seen.has(changed), `${field}[${i}] change must change the context`);
      seen.add(changed);
    }
  }
  for (const timeMs of [0, 1, base.timeMs + 1, L.TIME_MS_MAX]) seen.add(Buffer.from(paymentContext({ ...base, timeMs })).toString('hex'));
  for (const version of [0, 2, 65535]) seen.add(Buffer.from(paymentContext({ ...base, version })).toString('hex'));
  for (const policyVersion of [1n, 2n, 4n, L.POLICY_VERSION_MAX]) seen.add(Buffer.from(paymentContext({ ...base, policyVersion })).toString('hex'));
  assert.equal(seen.size, 1 + 16 + 32 * 4 + 4 + 3 + 4);
  assert.deepEqual(parsePaymentContext(ctx), base, 'parsePaymentContext inverts paymentContext');
  assert.equal(parsePaymentContext(ctx.subarray(1)), undefined, 'a short context does not parse');
  const badLabel = ctx.slice();
  badLabel[0]! ^= 1;
  assert.equal(parsePaymentContext(badLabel), undefined, 'another label does not parse');
  const zeroPolicy = paymentContext(base);
  zeroPolicy.fill(0, PAYMENT_CONTEXT_BYTES - 16, PAYMENT_CONTEXT_BYTES - 8);
  assert.equal(parsePaymentContext(zeroPolicy), undefined, 'policy version 0 does not parse');
  // Swapping the two session keys (payer poses as payee) is a different context too.
  const swapped = paymentContext({ ...base, payeeSessionKey: base.payerSessionKey, payerSessionKey: base.payeeSessionKey });
  assert.notDeepEqual(swapped, ctx);
});
