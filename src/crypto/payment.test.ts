// The payment proof: completeness, tampering of every public input and proof element, context
// binding, policy soundness (amount, cap, counter set), batching, linkability only on counter reuse,
// and the split of work between an idle precomputation, a host's range proof and the tap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, G2Point, scalarAdd } from './group.ts';
import { gK } from './generators.ts';
import { randomScalar, seededRng, type Rng } from './rng.ts';
import { makeTestIssuer, offSubgroupPoint } from './fixtures.ts';
import { recoverDeviceKey, contextScalar } from './nullifier.ts';
import {
  PaymentProofError,
  provePayment,
  provePaymentUnchecked,
  finishPayment,
  paymentRangeBits,
  precomputeAmountRange,
  precomputeSpendToken,
  proveAmountRange,
  verifyPayment,
  verifyPaymentBatch,
  type PaymentParams,
  type PaymentProof,
  type PaymentStatement,
} from './payment.ts';
import { PAYMENT_BYTES, decodePaymentProof, encodePaymentProof } from './payment_codec.ts';
import { decodeSpendToken, encodeSpendToken } from './spend_token.ts';
import { signCounterSet, verifyCounterSet } from './counter_set.ts';

const rng = seededRng('payment-tests');

function setup(r: Rng) {
  return makeTestIssuer(r);
}

const { params, issue, secretKey } = setup(rng);
const k = randomScalar(rng);
const credential = issue(k);
const ctx = (label: string) => new TextEncoder().encode(`payee-nonce|payee-key|payer-key|request|${label}`);
const honest = provePayment({ params, credential, counter: 3, amountMinor: 1_250n, context: ctx('one'), rng });

/** A counter set for L = 128 under the test issuer's key: its signatures are valid, but for another L. */
function makeTestIssuerSet() {
  return signCounterSet(secretKey, params.issuerKey, 128);
}

const ok = (s: PaymentStatement, p: PaymentProof, pp: PaymentParams = params) => verifyPayment(pp, s, p, rng).ok;
const bump = (P: G1Point) => P.add(G1Point.BASE);

test('verifyPayment() accepts an honest payment and its encoding round-trips', () => {
  assert.ok(ok(honest.statement, honest.proof));
  const bytes = encodePaymentProof(honest.statement, honest.proof);
  assert.equal(honest.statement.rangeBits, 16, 'the test cap (20 000) takes 16-bit ranges');
  assert.equal(bytes.length, PAYMENT_BYTES);
  assert.ok(PAYMENT_BYTES <= 2560, `payment is ${PAYMENT_BYTES} bytes`);
  const decoded = decodePaymentProof(bytes, honest.statement.context);
  assert.deepEqual(encodePaymentProof(decoded.statement, decoded.proof), bytes);
  assert.ok(ok(decoded.statement, decoded.proof));
});

test('verifyPayment() rejects each tampered public input', () => {
  const s = honest.statement;
  const variants: Array<[string, PaymentStatement]> = [
    ['epoch', { ...s, epoch: s.epoch + 1n }],
    ['tier', { ...s, tier: s.tier + 1 }],
    ['deviceClass', { ...s, deviceClass: s.deviceClass + 1 }],
    ['C_a', { ...s, C_a: bump(s.C_a) }],
    ['rangeBits', { ...s, rangeBits: 32 }],
    ['N', { ...s, N: bump(s.N) }],
    ['T', { ...s, T: bump(s.T) }],
    ['E1', { ...s, E1: bump(s.E1) }],
    ['E2', { ...s, E2: bump(s.E2) }],
    ['context', { ...s, context: ctx('two') }],
  ];
  for (const [name, v] of variants) assert.ok(!ok(v, honest.proof), `tampered ${name} must fail`);
  const paramVariants: Array<[string, PaymentParams]> = [
    ['issuerKey', { ...params, issuerKey: params.issuerKey.add(G2Point.BASE) }],
    ['regulatorKey', { ...params, regulatorKey: bump(params.regulatorKey) }],
    ['capMinor', { ...params, capMinor: params.capMinor + 1n }],
    ['paymentsPerEpoch', { ...params, paymentsPerEpoch: params.paymentsPerEpoch - 1 }],
  ];
  for (const [name, pp] of paramVariants) assert.ok(!ok(s, honest.proof, pp), `tampered ${name} must fail`);
});

test('verifyPayment() rejects each tampered proof element', () => {
  const p = honest.proof;
  const s = honest.statement;
  for (const [part, resp] of [['bbs', 'bbsResponses'], ['counter', 'counterResponses']] as const) {
    for (const key of ['Abar', 'Bbar', 'D', 'T1', 'T2'] as const) {
      assert.ok(!ok(s, { ...p, [part]: { ...p[part], [key]: bump(p[part][key]) } }), `${part}.${key}`);
    }
    for (const key of ['eHat', 'r1Hat', 'r3Hat'] as const) {
      assert.ok(!ok(s, { ...p, [resp]: { ...p[resp], [key]: scalarAdd(p[resp][key], 1n) } }), `${resp}.${key}`);
    }
    p[resp].mHat.forEach((_, i) => {
      const mHat = p[resp].mHat.map((m, j) => (i === j ? scalarAdd(m, 1n) : m));
      assert.ok(!ok(s, { ...p, [resp]: { ...p[resp], mHat } }), `${resp}.mHat[${i}]`);
    });
  }
  p.sigmaCommitments.forEach((_, i) => {
    const sigmaCommitments = p.sigmaCommitments.map((c, j) => (i === j ? bump(c) : c));
    assert.ok(!ok(s, { ...p, sigmaCommitments }), `sigmaCommitments[${i}]`);
  });
  p.sigmaResponses.forEach((_, i) => {
    const sigmaResponses = p.sigmaResponses.map((z, j) => (i === j ? scalarAdd(z, 1n) : z));
    assert.ok(!ok(s, { ...p, sigmaResponses }), `sigmaResponses[${i}]`);
  });
  let rangeFields = 0;
  for (const [key, value] of Object.entries(p.range)) {
    const tampered = (v: unknown): unknown =>
      v instanceof G1Point ? bump(v) : typeof v === 'bigint' ? scalarAdd(v, 1n) : undefined;
    if (Array.isArray(value)) {
      value.forEach((_, i) => {
        const arr = value.map((v, j) => (i === j ? tampered(v) : v));
        assert.ok(!ok(s, { ...p, range: { ...p.range, [key]: arr } }), `range.${key}[${i}]`);
        rangeFields++;
      });
    } else if (typeof value === 'object' && value !== null && !(value instanceof G1Point)) {
      for (const [sub, sv] of Object.entries(value)) {
        if (Array.isArray(sv)) {
          sv.forEach((_, i) => {
            const arr = sv.map((v, j) => (i === j ? tampered(v) : v));
            assert.ok(!ok(s, { ...p, range: { ...p.range, [key]: { ...value, [sub]: arr } } }), `range.${key}.${sub}[${i}]`);
            rangeFields++;
          });
        } else if (tampered(sv) !== undefined) {
          assert.ok(!ok(s, { ...p, range: { ...p.range, [key]: { ...value, [sub]: tampered(sv) } } }), `range.${key}.${sub}`);
          rangeFields++;
        }
      }
    } else if (tampered(value) !== undefined) {
      assert.ok(!ok(s, { ...p, range: { ...p.range, [key]: tampered(value) } }), `range.${key}`);
      rangeFields++;
    }
  }
  // A, S, T1, T2, taux, mu, tHat, 5 L, 5 R, a, b (2 × 16 bits: log2(32) = 5 rounds)
  assert.equal(rangeFields, 19, 'every range-proof element was tampered once');
});

test('a payment made for one context fails under another payee nonce or session', () => {
  const other = { ...honest.statement, context: ctx('another-payee') };
  assert.ok(!ok(other, honest.proof));
});

test('provePayment() refuses a counter ≥ L, a negative amount and an amount above the cap', () => {
  const base = { params, credential, context: ctx('x'), rng };
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof PaymentProofError ? e.code : 'OTHER';
    }
    return 'NONE';
  };
  assert.equal(code(() => provePayment({ ...base, counter: 64, amountMinor: 1n })), 'COUNTER_EXHAUSTED');
  assert.equal(code(() => provePayment({ ...base, counter: 1, amountMinor: -1n })), 'AMOUNT_NEGATIVE');
  assert.equal(code(() => provePayment({ ...base, counter: 1, amountMinor: 20_001n })), 'AMOUNT_ABOVE_CAP');
});

test('a payer who skips the policy check cannot make a verifying proof', () => {
  const base = { params, credential, context: ctx('cheat'), rng };
  for (const [counter, amountMinor, what] of [
    [2, 20_001n, 'amount above cap'],
    [2, -5n, 'negative amount'],
    [2, 1n << 40n, 'amount far out of range'],
  ] as const) {
    const cheat = provePaymentUnchecked({ ...base, counter, amountMinor });
    assert.ok(!ok(cheat.statement, cheat.proof), what);
  }
  // A counter at or above L has no signature in the set; one from a larger set (another L) is
  // under another header and does not verify.
  const wide = makeTestIssuerSet();
  for (const counter of [64, 70]) {
    const cheat = provePaymentUnchecked({ ...base, credential: { ...credential, counterSet: wide }, params: { ...params, paymentsPerEpoch: 128 }, counter, amountMinor: 100n });
    assert.ok(!ok(cheat.statement, cheat.proof), `counter ${counter} ≥ L`);
  }
  const edge = provePayment({ ...base, counter: 63, amountMinor: 20_000n });
  assert.ok(ok(edge.statement, edge.proof), 'counter L−1 and amount = cap are allowed');
  const zero = provePayment({ ...base, counter: 0, amountMinor: 0n });
  assert.ok(ok(zero.statement, zero.proof), 'counter 0 and amount 0 are allowed');
});

test('a credential from another issuer or of another epoch does not verify', () => {
  const other = setup(seededRng('other-issuer'));
  const foreign = other.issue(k);
  const pay = provePayment({ params, credential: foreign, counter: 1, amountMinor: 5n, context: ctx('f'), rng });
  assert.ok(!ok(pay.statement, pay.proof));
});

test('two payments with the same counter share N and reveal K; different counters share nothing', () => {
  const p1 = provePayment({ params, credential, counter: 7, amountMinor: 100n, context: ctx('payee-A'), rng });
  const p2 = provePayment({ params, credential, counter: 7, amountMinor: 900n, context: ctx('payee-B'), rng });
  assert.ok(p1.statement.N.equals(p2.statement.N));
  const recovered = recoverDeviceKey(
    { T: p1.statement.T, R: contextScalar(p1.statement.context) },
    { T: p2.statement.T, R: contextScalar(p2.statement.context) },
  );
  assert.ok(recovered.ok && recovered.K.equals(gK().mul(k)));

  const p3 = provePayment({ params, credential, counter: 8, amountMinor: 100n, context: ctx('payee-C'), rng });
  for (const key of ['N', 'T', 'E1', 'E2', 'C_a'] as const) {
    assert.ok(!p1.statement[key].equals(p3.statement[key]), `${key} differs across counters`);
  }
  const notK = recoverDeviceKey(
    { T: p1.statement.T, R: contextScalar(p1.statement.context) },
    { T: p3.statement.T, R: contextScalar(p3.statement.context) },
  );
  assert.ok(notK.ok && !notK.K.equals(gK().mul(k)), 'an honest device is never identified');
});

test('verifyPaymentBatch() accepts good payments and names the one bad payment', () => {
  const items = [0, 1, 2, 3, 4].map((i) => {
    const pay = provePayment({ params, credential: issue(randomScalar(rng)), counter: i, amountMinor: BigInt(100 * i), context: ctx(`b${i}`), rng });
    return { params, statement: pay.statement, proof: pay.proof };
  });
  assert.deepEqual(verifyPaymentBatch(items, rng), { ok: true, failed: [] });
  const bad = items.map((it, i) => (i === 3 ? { ...it, statement: { ...it.statement, T: bump(it.statement.T) } } : it));
  assert.deepEqual(verifyPaymentBatch(bad, rng), { ok: false, failed: [3] });
});

test('decodePaymentProof() rejects truncated, extended and corrupted bytes with a typed error', () => {
  const bytes = encodePaymentProof(honest.statement, honest.proof);
  const c = honest.statement.context;
  assert.throws(() => decodePaymentProof(bytes.subarray(1), c), { name: 'CryptoDecodeError' });
  assert.throws(() => decodePaymentProof(new Uint8Array([...bytes, 0]), c), { name: 'CryptoDecodeError' });
  const badVersion = Uint8Array.from(bytes);
  badVersion[0] = 1;
  assert.throws(() => decodePaymentProof(badVersion, c), { name: 'CryptoDecodeError' });
  const badPoint = Uint8Array.from(bytes);
  badPoint[12] = 0; // first byte of C_a: clears the compression flag
  assert.throws(() => decodePaymentProof(badPoint, c), { name: 'CryptoDecodeError' });
  // Flipping any byte either fails decoding or fails verification; sample across the layout.
  for (let i = 1; i < bytes.length; i += 97) {
    const flipped = Uint8Array.from(bytes);
    flipped[i]! ^= 0x01;
    let accepted = false;
    try {
      const d = decodePaymentProof(flipped, c);
      accepted = ok(d.statement, d.proof);
    } catch (e) {
      assert.equal((e as Error).name, 'CryptoDecodeError', `byte ${i}: ${(e as Error).message}`);
    }
    assert.ok(!accepted, `flipping byte ${i} must not verify`);
  }
});

test('idle token, host range proof and tap finish make a verifying payment; the token survives NVM encoding', () => {
  const token = decodeSpendToken(encodeSpendToken(precomputeSpendToken({ params, credential, counter: 11, rng })));
  const nonces = precomputeAmountRange(params.capMinor, rng);
  const { C_a, range } = proveAmountRange({ capMinor: params.capMinor, amountMinor: 77n, r_a: token.r_a, rng, nonces });
  const pay = finishPayment({ params, token, amountMinor: 77n, range, context: ctx('pre') });
  assert.ok(pay.statement.C_a.equals(C_a), 'the SE computes the C_a the host proved the range of');
  assert.ok(ok(pay.statement, pay.proof));
  assert.throws(() => finishPayment({ params, token, amountMinor: 77n, range, context: ctx('again') }), /already used/);
  assert.throws(() => proveAmountRange({ capMinor: params.capMinor, amountMinor: 78n, r_a: token.r_a, rng, nonces }), { name: 'RangeProofError' });
});

test('a host cannot make the SE sign for one amount while the range proof covers another', () => {
  const token = precomputeSpendToken({ params, credential, counter: 12, rng });
  // The host proves 5.00 but asks the SE to debit 150.00: the SE's C_a is for 150.00, so the
  // host's range proof is about another commitment and the payment fails.
  const { range } = proveAmountRange({ capMinor: params.capMinor, amountMinor: 500n, r_a: token.r_a, rng });
  const pay = finishPayment({ params, token, amountMinor: 15_000n, range, context: ctx('swap') });
  assert.ok(!ok(pay.statement, pay.proof));
  // A range proof over another r_a (the host's own blinding) fails the same way.
  const token2 = precomputeSpendToken({ params, credential, counter: 13, rng });
  const own = proveAmountRange({ capMinor: params.capMinor, amountMinor: 500n, r_a: randomScalar(rng), rng });
  const pay2 = finishPayment({ params, token: token2, amountMinor: 500n, range: own.range, context: ctx('own-r') });
  assert.ok(!ok(pay2.statement, pay2.proof));
});

test('a range proof swapped after the SE finished does not verify (the transcript holds its bytes)', () => {
  const token = precomputeSpendToken({ params, credential, counter: 14, rng });
  const first = proveAmountRange({ capMinor: params.capMinor, amountMinor: 900n, r_a: token.r_a, rng });
  const second = proveAmountRange({ capMinor: params.capMinor, amountMinor: 900n, r_a: token.r_a, rng });
  const pay = finishPayment({ params, token, amountMinor: 900n, range: first.range, context: ctx('swap-range') });
  assert.ok(ok(pay.statement, pay.proof));
  assert.ok(!ok(pay.statement, { ...pay.proof, range: second.range }), 'a second valid range proof for the same C_a is refused');
});

test('one token answering two contexts (a restored SE) is a double spend that names the device', () => {
  const bytes = encodeSpendToken(precomputeSpendToken({ params, credential, counter: 20, rng }));
  const pays = ['payee-X', 'payee-Y'].map((label) => {
    const token = decodeSpendToken(bytes);
    const { range } = proveAmountRange({ capMinor: params.capMinor, amountMinor: 300n, r_a: token.r_a, rng });
    return finishPayment({ params, token, amountMinor: 300n, range, context: ctx(label) }).statement;
  });
  assert.ok(pays[0]!.N.equals(pays[1]!.N), 'same N: the registry sees the reuse');
  const r = recoverDeviceKey({ T: pays[0]!.T, R: contextScalar(pays[0]!.context) }, { T: pays[1]!.T, R: contextScalar(pays[1]!.context) });
  assert.ok(r.ok && r.K.equals(gK().mul(k)), 'and the tags name K');
});

test('paymentRangeBits() takes the smallest width that holds the cap', () => {
  assert.equal(paymentRangeBits(0n), 8);
  assert.equal(paymentRangeBits(255n), 8);
  assert.equal(paymentRangeBits(256n), 16);
  assert.equal(paymentRangeBits(50_000n), 16);
  assert.equal(paymentRangeBits(65_536n), 32);
  assert.throws(() => paymentRangeBits(1n << 32n));
  for (const cap of [200n, 3_000_000n]) {
    const pp = { ...params, capMinor: cap };
    const pay = provePayment({ params: pp, credential, counter: 30, amountMinor: cap, context: ctx(`cap${cap}`), rng });
    assert.equal(pay.statement.rangeBits, paymentRangeBits(cap));
    assert.ok(ok(pay.statement, pay.proof, pp), `cap ${cap}`);
    const back = decodePaymentProof(encodePaymentProof(pay.statement, pay.proof), pay.statement.context);
    assert.ok(ok(back.statement, back.proof, pp), `cap ${cap} after encoding`);
  }
});

test('the counter set verifies as a whole and a single wrong signature fails it', () => {
  const L = 16;
  const sk = randomScalar(rng);
  const pk = G2Point.BASE.mul(sk);
  const set = signCounterSet(sk, pk, L);
  assert.ok(verifyCounterSet(pk, L, set, rng));
  assert.ok(!verifyCounterSet(pk, L + 1, [...set, set[0]!], rng), 'a set for another L');
  assert.ok(!verifyCounterSet(pk, L, [...set.slice(0, 5), set[6]!, ...set.slice(6)], rng), 'n = 5 carries the signature on 6');
  assert.ok(!verifyCounterSet(pk, L, set.map((s, i) => (i === 9 ? { ...s, e: scalarAdd(s.e, 1n) } : s)), rng), 'a bad e');
  assert.ok(!verifyCounterSet(params.issuerKey, L, set, rng), 'another issuer key');
});

test('a proof element moved off G1 decodes (deferred check) but fails; a public input off G1 does not decode', () => {
  const { torsion } = offSubgroupPoint();
  const bytes = encodePaymentProof(honest.statement, honest.proof);
  const c = honest.statement.context;
  const range = honest.proof.range;
  const moved = { ...honest.proof, range: { ...range, ipa: { ...range.ipa, L: [range.ipa.L[0]!.add(torsion), ...range.ipa.L.slice(1)] } } };
  const movedBytes = encodePaymentProof(honest.statement, moved);
  const decoded = decodePaymentProof(movedBytes, c);
  assert.ok(!ok(decoded.statement, decoded.proof), 'the transcript binds the exact bytes');
  const sigmaMoved = { ...honest.proof, sigmaCommitments: [honest.proof.sigmaCommitments[0]!.add(torsion), ...honest.proof.sigmaCommitments.slice(1)] };
  assert.ok(!ok(honest.statement, sigmaMoved));
  const publicMoved = encodePaymentProof({ ...honest.statement, N: honest.statement.N.add(torsion) }, honest.proof);
  assert.throws(() => decodePaymentProof(publicMoved, c), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'POINT_NOT_IN_SUBGROUP');
  assert.notDeepEqual(movedBytes, bytes);
});
