// Nullifier, tag and key recovery: determinism of N, recovery of K from a reused counter, no
// recovery for an honest device, and the linear relations through the real sigma prover/verifier
// with every public input and proof element tampered in turn.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { G1Point, R_ORDER, scalarAdd, scalarInv, scalarMul } from './group.ts';
import { gK, gN, hT } from './generators.ts';
import { randomScalar, seededRng } from './rng.ts';
import { proveSigma, verifySigma, type SigmaProof } from './sigma.ts';
import {
  computeNullifier,
  computeTag,
  contextScalar,
  nullifierExponent,
  nullifierRelations,
  recoverDeviceKey,
  type NullifierPublic,
} from './nullifier.ts';

const LABEL = 'TALLY-V1/test/nullifier';
const IDX = { k: 0, n: 1, w: 2 } as const;
// Device keys: k + n must never be 0 mod r for the counters a test uses (n ≤ 127). fast-check
// favours boundary values, so the top 128 keys are left out: a real k hits them with probability
// 2^-248, and computeNullifier's refusal of k + n = 0 has its own test below.
const scalarArb = fc.bigInt({ min: 1n, max: R_ORDER - 129n });
const counterArb = fc.bigInt({ min: 0n, max: 63n });
const epochArb = fc.bigInt({ min: 0n, max: 3n }); // few epochs: each g_N(e) costs a hash-to-curve
const utf8 = new TextEncoder();

/** One honest payment by device k with counter n in epoch e under context ctx. */
function pay(k: bigint, n: bigint, epoch: bigint, ctx: string) {
  const w = nullifierExponent(k, n);
  const R = contextScalar(utf8.encode(ctx));
  return { w, R, N: computeNullifier(k, n, epoch), T: computeTag(k, w, R, epoch) };
}

function prove(pub: NullifierPublic, witnesses: bigint[], seed: string): SigmaProof {
  return proveSigma(LABEL, nullifierRelations(pub, IDX), witnesses, seededRng(seed));
}

function verify(pub: NullifierPublic, proof: SigmaProof): boolean {
  return verifySigma(LABEL, nullifierRelations(pub, IDX), 3, proof);
}

test('nullifierExponent() is the inverse of k + n', () => {
  fc.assert(
    fc.property(scalarArb, counterArb, (k, n) => {
      assert.equal(scalarMul(nullifierExponent(k, n), scalarAdd(k, n)), 1n);
    }),
    { numRuns: 20 },
  );
});

test('computeNullifier() refuses k + n = 0 (no inverse) as a broken invariant', () => {
  assert.throws(() => computeNullifier(R_ORDER - 5n, 5n, 1n), /k \+ n = 0/);
});

test('the same device, counter and epoch always give the same nullifier; another counter or epoch does not', () => {
  fc.assert(
    fc.property(scalarArb, counterArb, epochArb, (k, n, e) => {
      const N = computeNullifier(k, n, e);
      assert.ok(N.equals(computeNullifier(k, n, e)));
      assert.ok(N.equals(gN(e).mul(scalarInv(scalarAdd(k, n)))));
      assert.ok(!N.equals(computeNullifier(k, n + 1n, e)));
      assert.ok(!N.equals(computeNullifier(k, n, e + 1n)));
      assert.ok(!N.equals(computeNullifier(scalarAdd(k, 1n), n, e)));
    }),
    { numRuns: 10 },
  );
});

test('contextScalar() is deterministic, non-zero and separates contexts', () => {
  const a = contextScalar(utf8.encode('nonce-1|payee|req|1700000000|1'));
  assert.equal(a, contextScalar(utf8.encode('nonce-1|payee|req|1700000000|1')));
  assert.notEqual(a, contextScalar(utf8.encode('nonce-2|payee|req|1700000000|1')));
  assert.notEqual(contextScalar(new Uint8Array(0)), 0n);
  assert.ok(a > 0n && a < R_ORDER);
});

test('computeTag() is k·g_K + w·(R·h_T(e))', () => {
  const rng = seededRng('tag');
  const [k, w, R] = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
  assert.ok(computeTag(k, w, R, 5n).equals(gK().mul(k).add(hT(5n).mul(R).mul(w))));
  assert.ok(!hT(5n).equals(hT(6n)), 'each epoch has its own tag base');
});

test('the same counter in two epochs gives tags whose line recovers no K (no link without a double spend)', () => {
  fc.assert(
    fc.property(scalarArb, counterArb, epochArb, fc.string(), fc.string(), (k, n, e, ctx1, ctx2) => {
      fc.pre(ctx1 !== ctx2);
      const first = pay(k, n, e, ctx1);
      const later = pay(k, n, e + 1n, ctx2);
      assert.equal(first.w, later.w, 'w = 1/(k+n) does not depend on the epoch');
      assert.ok(!first.N.equals(later.N));
      const rec = recoverDeviceKey({ T: first.T, R: first.R }, { T: later.T, R: later.R });
      assert.ok(rec.ok && !rec.K.equals(gK().mul(k)), 'a cross-epoch pair must not reveal K');
    }),
    { numRuns: 12 },
  );
});

test('two payments with the same counter and different contexts reveal exactly K = k·g_K', () => {
  fc.assert(
    fc.property(scalarArb, counterArb, epochArb, fc.string(), fc.string(), (k, n, e, ctx1, ctx2) => {
      fc.pre(ctx1 !== ctx2);
      const p1 = pay(k, n, e, `a${ctx1}`);
      const p2 = pay(k, n, e, `b${ctx2}`);
      assert.ok(p1.N.equals(p2.N), 'a reused counter is detected by an equal nullifier');
      const r = recoverDeviceKey(p1, p2);
      assert.ok(r.ok);
      assert.ok(r.K.equals(gK().mul(k)));
      const swapped = recoverDeviceKey(p2, p1);
      assert.ok(swapped.ok && swapped.K.equals(r.K), 'recovery does not depend on the order');
    }),
    { numRuns: 8 },
  );
});

test('recoverDeviceKey() gives no answer for two tags under the same context', () => {
  const p = pay(123n, 4n, 1n, 'same');
  assert.deepEqual(recoverDeviceKey(p, p), { ok: false, reason: 'SAME_CONTEXT' });
});

test('an honest device with distinct counters is never identified', () => {
  fc.assert(
    fc.property(scalarArb, counterArb, fc.bigInt({ min: 1n, max: 63n }), epochArb, (k, n, step, e) => {
      const p1 = pay(k, n, e, 'ctx-1');
      const p2 = pay(k, n + step, e, 'ctx-2');
      assert.ok(!p1.N.equals(p2.N));
      const r = recoverDeviceKey(p1, p2);
      assert.ok(r.ok);
      assert.ok(!r.K.equals(gK().mul(k)), 'recovery from different nullifiers must not yield K');
    }),
    { numRuns: 8 },
  );
});

// ---------------------------------------------------------------------------------------------
// Relations through proveSigma / verifySigma

const rng = seededRng('nullifier-relations');
const k = randomScalar(rng);
const n = 17n;
const epoch = 2n;
const honest = pay(k, n, epoch, 'honest-context');
const honestPub: NullifierPublic = { epoch, N: honest.N, T: honest.T, R: honest.R };
const honestProof = prove(honestPub, [k, n, honest.w], 'p0');

test('the nullifier relations verify for the honest witness', () => {
  assert.ok(verify(honestPub, honestProof));
});

test('the nullifier relations hold as equations for the honest witness', () => {
  for (const rel of nullifierRelations(honestPub, IDX)) {
    const witness = [k, n, honest.w];
    const sum = rel.terms.reduce((acc, [i, B, c]) => acc.add(B.mul(scalarMul(c ?? 1n, witness[i]!))), G1Point.IDENTITY);
    assert.ok(sum.equals(rel.image), rel.name);
  }
});

test('a prover with the wrong counter n cannot make the relations verify', () => {
  assert.ok(!verify(honestPub, prove(honestPub, [k, n + 1n, honest.w], 'p1')));
});

test('a prover with the wrong device secret k cannot make the relations verify', () => {
  assert.ok(!verify(honestPub, prove(honestPub, [scalarAdd(k, 1n), n, honest.w], 'p2')));
});

test('a tag computed under another context R does not verify against this R', () => {
  const otherT = computeTag(k, honest.w, contextScalar(utf8.encode('other-context')), epoch);
  const pub = { ...honestPub, T: otherT };
  assert.ok(!verify(pub, prove(pub, [k, n, honest.w], 'p3')));
});

test('a tag made on another epoch\'s base does not verify for this epoch', () => {
  const pub = { ...honestPub, T: computeTag(k, honest.w, honest.R, epoch + 1n) };
  assert.ok(!verify(pub, prove(pub, [k, n, honest.w], 'p5')));
});

test('a nullifier of another epoch does not verify for this epoch', () => {
  const pub = { ...honestPub, N: computeNullifier(k, n, epoch + 1n) };
  assert.ok(!verify(pub, prove(pub, [k, n, honest.w], 'p4')));
});

test('changing any public input breaks the honest proof', () => {
  const other = pay(k, n + 1n, epoch, 'other');
  const tampered: Array<[string, NullifierPublic]> = [
    ['epoch', { ...honestPub, epoch: epoch + 1n }],
    ['N', { ...honestPub, N: other.N }],
    ['T', { ...honestPub, T: other.T }],
    ['R', { ...honestPub, R: scalarAdd(honest.R, 1n) }],
  ];
  for (const [name, pub] of tampered) assert.ok(!verify(pub, honestProof), `tampered ${name} still verifies`);
});

test('changing any proof element breaks the honest proof', () => {
  honestProof.commitments.forEach((_, j) => {
    const commitments = honestProof.commitments.map((c, i) => (i === j ? c.add(G1Point.BASE) : c));
    assert.ok(!verify(honestPub, { ...honestProof, commitments }), `commitment ${j}`);
  });
  honestProof.responses.forEach((_, j) => {
    const responses = honestProof.responses.map((z, i) => (i === j ? scalarAdd(z, 1n) : z));
    assert.ok(!verify(honestPub, { ...honestProof, responses }), `response ${j}`);
  });
});
