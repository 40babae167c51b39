// The device cost model: every estimate is finite and positive, energy is time × power, the
// commands rank as the protocol says, the restructured tap path does not grow with the range
// bits but by its additions — and the counts the model writes as data match what the code does,
// counted by src/crypto/op_count.ts, within COUNT_TOLERANCE. No wall-clock assertion here: the
// comparison of the host prices with measured command times is a benchmark (offline.bench.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeWorld } from '../../test/support/world.ts';
import { paymentSe } from '../../test/support/payments.ts';
import { countOps, countOpsSync, zeroGroupOps, type GroupOpCounts } from '../crypto/op_count.ts';
import {
  G1Point, G2Point, Transcript, decodeCredentialProof, encodeCredentialProof, makeTestIssuer, proveCredential, proveRange,
  combTimesG, finishPayment, precomputeSpendToken, proveAmountRange, randomScalar, seededRng, verifyCredential, verifyRange,
} from '../crypto/index.ts';
import {
  COUNT_TOLERANCE, HARDWARE, PAYMENT_STEPS, bbsVerifyOps, commandOps, estimate, paymentCost, rangeProveOps, rangeVerifyOps,
  restructuredPaymentCost, stepOps, type CostedHardware, type OpCounts, type PaymentCommand,
} from './cost_model.ts';
import { PROFILES } from './profiles.ts';

const COMMANDS: PaymentCommand[] = ['BUILD_PAYMENT_REQUEST', 'AUTHORIZE_PAYMENT', 'ACCEPT_PAYMENT', 'PRECOMPUTE_PAYMENT'];
const CLASSES = Object.keys(HARDWARE) as CostedHardware[];

/** The group-operation kinds the model and the counter share. */
const SHARED = ['g1Mul', 'g2Mul', 'g1MsmPoints', 'g1Add', 'pointDecodes', 'millerLoops', 'finalExps'] as const;

function assertCountsMatch(what: string, model: OpCounts, counted: GroupOpCounts, kinds: readonly (typeof SHARED)[number][] = SHARED) {
  for (const k of kinds) {
    const m = model[k];
    const c = counted[k];
    const slack = Math.max(1, Math.ceil(COUNT_TOLERANCE * Math.max(m, c)));
    assert.ok(Math.abs(m - c) <= slack, `${what}: ${k} — the model says ${m}, the code does ${c} (tolerance ${slack})`);
  }
}

test('estimates are positive, energy is time × power, and today\'s commands rank as the protocol says', () => {
  for (const hw of CLASSES) {
    for (const c of COMMANDS) {
      const e = estimate(commandOps(c), hw);
      assert.ok(Number.isFinite(e.timeMs) && e.timeMs > 0, `${c} on ${hw}`);
      assert.ok(Math.abs(e.energyMj - (e.timeMs * HARDWARE[hw].activeMw) / 1000) < 1e-9);
      assert.ok(Math.abs(Object.values(e.breakdown).reduce((a, b) => a + b, 0) - e.timeMs) < 1e-6);
    }
    const cost = paymentCost(hw, hw);
    assert.ok(cost.authorize.timeMs > cost.accept.timeMs && cost.accept.timeMs > cost.build.timeMs, hw);
    assert.ok(paymentCost(hw, hw, { precomputed: true }).authorize.timeMs < cost.authorize.timeMs);
    const busy = estimate(commandOps('ACCEPT_PAYMENT', { seenNullifiers: 1024 }), hw).timeMs;
    const idle = estimate(commandOps('ACCEPT_PAYMENT', { seenNullifiers: 0 }), hw).timeMs;
    assert.ok(hw === 'host' ? busy >= idle : busy > idle, `${hw}: a larger nullifier set costs NVM time`);
  }
  assert.ok(paymentCost('se-smartcard', 'se-smartcard').totalMs > paymentCost('se-embedded', 'se-embedded').totalMs);
  for (const p of Object.values(PROFILES)) assert.ok(p.hardware in HARDWARE);
});

test('every step of the restructured payment has non-negative counts and a positive price on every class', () => {
  for (const step of PAYMENT_STEPS) {
    const counts = stepOps(step);
    for (const [k, v] of Object.entries(counts)) assert.ok(Number.isFinite(v) && v >= 0, `${step}: ${k} = ${v}`);
    for (const hw of CLASSES) assert.ok(estimate(counts, hw).timeMs > 0, `${step} on ${hw}`);
  }
});

test('the restructured tap path is a constant SE path: no pairing, X25519, ECDSA or MSM, one G1 multiplication', () => {
  const tap = stepOps('payer.se.tap');
  assert.equal(tap.g1Mul, 1);
  for (const k of ['millerLoops', 'finalExps', 'x25519', 'ecdsaSign', 'ecdsaVerify', 'g1MsmPoints', 'pointDecodes'] as const) assert.equal(tap[k], 0, k);
  // Wider ranges cost the SE only the additions building C_a; the host pays for the proof.
  const wide = stepOps('payer.se.tap', { bits: 32 });
  for (const k of Object.keys(tap) as Array<keyof OpCounts>) if (k !== 'g1Add') assert.equal(wide[k], tap[k], k);
  assert.equal(wide.g1Add - tap.g1Add, 4, "⌈32/4⌉ − ⌈16/4⌉ comb additions");
  assert.ok(stepOps('payer.host.tap', { bits: 32 }).g1MsmPoints > stepOps('payer.host.tap').g1MsmPoints);
  for (const hw of CLASSES) {
    const r = restructuredPaymentCost(hw, hw);
    assert.ok(r.tap.timeMs < paymentCost(hw, hw, { precomputed: true }).authorize.timeMs / 10, `${hw}: tap at least 10× lighter than today`);
    assert.ok(r.precompute.timeMs > r.tap.timeMs, `${hw}: the heavy part moved to idle`);
  }
});

test('countOps counts nothing outside its call, nests, and lets an error through with the counter removed', async () => {
  const P = G1Point.BASE.mul(5n);
  const outside = zeroGroupOps();
  const { counts } = await countOps(async () => {
    P.add(P);
    const inner = countOpsSync(() => P.mul(3n));
    assert.equal(inner.counts.g1Mul, 1);
    assert.equal(inner.counts.g1Add, 0);
  });
  assert.equal(counts.g1Mul, 1);
  assert.equal(counts.g1Add, 1);
  await assert.rejects(countOps(() => { P.mul(2n); throw new RangeError('boom'); }), RangeError);
  P.mul(7n); // after every counter is gone: counted nowhere
  const after = countOpsSync(() => undefined);
  assert.deepEqual(after.counts, outside);
});

test('BUILD_PAYMENT_REQUEST through the SE does the group operations the model counts', async () => {
  const w = makeWorld('cost-count-build');
  const payee = await paymentSe(w, {});
  await payee.client.buildPaymentRequest(100n); // first call: generators and caches
  const { counts } = await countOps(() => payee.client.buildPaymentRequest(100n));
  assertCountsMatch('BUILD_PAYMENT_REQUEST', commandOps('BUILD_PAYMENT_REQUEST'), counts);
});

test('a credential presentation verified from bytes does the group operations bbsVerifyOps counts', async () => {
  const rng = seededRng('cost-count-bbs');
  const issuer = makeTestIssuer(rng);
  const credential = issuer.issue(randomScalar(rng));
  const context = new TextEncoder().encode('cost-model');
  const bytes = encodeCredentialProof(proveCredential({ issuerKey: issuer.params.issuerKey, credential, context, rng }));
  const keyBytes = issuer.params.issuerKey.toBytes();
  const { result, counts } = await countOps(() =>
    verifyCredential({ issuerKey: G2Point.fromBytes(keyBytes), proof: decodeCredentialProof(bytes), context, rng }));
  assert.equal(result, true);
  assertCountsMatch('credential proof verification', bbsVerifyOps(5), counts);
});

test('a 2 × 32-bit range proof does the group operations rangeProveOps and rangeVerifyOps count', () => {
  const rng = seededRng('cost-count-range');
  const input = { values: [5n, 1_000n], blindings: [randomScalar(rng), randomScalar(rng)], bits: 32 as const, rng };
  const proved = countOpsSync(() => proveRange({ ...input, transcript: new Transcript('TALLY-V1/cost-model') }));
  assertCountsMatch('range proof 2 × 32, prove', rangeProveOps(2, 32), proved.counts);
  const { proof, commitments } = proved.result;
  const verified = countOpsSync(() => verifyRange({ transcript: new Transcript('TALLY-V1/cost-model'), proof, commitments, bits: 32, rng }));
  assert.equal(verified.result, true);
  assertCountsMatch('range proof 2 × 32, verify', rangeVerifyOps(2, 32), verified.counts);
});

test('the tap path counted on the real code: finishPayment does exactly what payer.se.tap prices', () => {
  const rng = seededRng('tap-count');
  const issuer = makeTestIssuer(rng);
  const credential = issuer.issue(randomScalar(rng));
  const model = stepOps('payer.se.tap', { bits: 16 });
  combTimesG(1n); // the comb table is fixed data (ROM on an SE), built once per process here
  for (const amountMinor of [1n, 1_234n, 20_000n]) {
    const token = precomputeSpendToken({ params: issuer.params, credential, counter: Number(amountMinor % 60n), rng });
    const { range } = proveAmountRange({ capMinor: issuer.params.capMinor, amountMinor, r_a: token.r_a, rng });
    const context = new TextEncoder().encode(`tap-count-${amountMinor}`);
    const { counts } = countOpsSync(() => finishPayment({ params: issuer.params, token, amountMinor, range, context }));
    assert.equal(counts.g1Mul, model.g1Mul, `${amountMinor}: scalar multiplications at tap`);
    assert.ok(counts.g1Add <= model.g1Add, `${amountMinor}: ${counts.g1Add} additions, the model prices ${model.g1Add}`);
    for (const k of ['g2Mul', 'g1MsmPoints', 'millerLoops', 'finalExps', 'pointDecodes'] as const) assert.equal(counts[k], 0, `${amountMinor}: ${k} at tap`);
  }
});

test('the idle token counted on the real code stays within the model of payer.se.precompute', () => {
  const rng = seededRng('idle-count');
  const issuer = makeTestIssuer(rng);
  const credential = issuer.issue(randomScalar(rng));
  precomputeSpendToken({ params: issuer.params, credential, counter: 0, rng }); // generators and tables hashed once
  const { counts } = countOpsSync(() => precomputeSpendToken({ params: issuer.params, credential, counter: 1, rng }));
  const model = stepOps('payer.se.precompute', { bits: 16 });
  const cost = (c: { g1Mul: number; g1MsmPoints: number }) => c.g1Mul + 0.35 * c.g1MsmPoints;
  assert.ok(cost(counts) <= cost(model) * (1 + COUNT_TOLERANCE), `counted ${counts.g1Mul} mults + ${counts.g1MsmPoints} MSM points; model ${model.g1Mul} + ${model.g1MsmPoints}`);
  assert.equal(counts.millerLoops + counts.finalExps, 0, 'no pairing while idle either');
});
