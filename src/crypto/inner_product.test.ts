// Tests for the inner-product argument on its own: a proof for P = <a,G> + Σ b_i·h_i·H_i +
// q·<a,b>·Q verifies through the s-vector equation over the original generators, and changing the
// statement, any L_j/R_j, a, b or the transcript's prior context makes it fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { G1Point, msmVartime, mod, R_ORDER, scalarMul } from './group.ts';
import { bulletproofG, bulletproofH, bulletproofU } from './generators.ts';
import { randomScalar, seededRng, type Rng } from './rng.ts';
import { Transcript } from './transcript.ts';
import {
  innerProduct,
  innerProductEquation,
  innerProductVerifierScalars,
  proveInnerProduct,
  type InnerProductProof,
  type IpaStatement,
} from './inner_product.ts';

const LABEL = 'TALLY-V1/test/ipa';

function sumsToIdentity(eq: ReadonlyArray<readonly [G1Point, bigint]>): boolean {
  return msmVartime(
    eq.map((t) => t[0]),
    eq.map((t) => t[1]),
  ).isIdentity();
}

function setup(N: number, rng: Rng) {
  const G = Array.from({ length: N }, (_, i) => bulletproofG(i));
  const H = Array.from({ length: N }, (_, i) => bulletproofH(i));
  const hFactors = Array.from({ length: N }, () => randomScalar(rng));
  const a = Array.from({ length: N }, () => randomScalar(rng));
  const b = Array.from({ length: N }, () => randomScalar(rng));
  const Q = bulletproofU();
  const qFactor = randomScalar(rng);
  const P = msmVartime(
    [...G, ...H, Q],
    [...a, ...b.map((bi, i) => scalarMul(bi, hFactors[i]!)), scalarMul(innerProduct(a, b), qFactor)],
  );
  const statement: IpaStatement = { P, G, H, hFactors, Q, qFactor };
  return { statement, a, b };
}

function prove(N: number, seed: number) {
  const { statement, a, b } = setup(N, seededRng(seed));
  const proof = proveInnerProduct({ transcript: new Transcript(LABEL), ...statement, a, b });
  return { statement, proof };
}

function verifies(statement: IpaStatement, proof: InnerProductProof, label = LABEL): boolean {
  const r = innerProductEquation(new Transcript(label), statement, proof);
  return r.ok && sumsToIdentity(r.equation);
}

test('proveInnerProduct() output verifies for every power-of-two length 1..64', () => {
  for (const N of [1, 2, 4, 8, 16, 32, 64]) {
    const { statement, proof } = prove(N, N);
    assert.equal(proof.L.length, Math.log2(N));
    assert.ok(verifies(statement, proof), `N = ${N}`);
  }
});

test('inner-product proofs verify for random vectors (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), fc.integer(), (lg, seed) => {
      const { statement, proof } = prove(1 << lg, seed);
      return verifies(statement, proof);
    }),
    { numRuns: 8 },
  );
});

test('the verifier rejects a changed statement (P, Q factor, an h factor)', () => {
  const { statement, proof } = prove(16, 7);
  assert.ok(verifies(statement, proof));
  assert.ok(!verifies({ ...statement, P: statement.P.add(G1Point.BASE) }, proof));
  assert.ok(!verifies({ ...statement, qFactor: mod(statement.qFactor + 1n) }, proof));
  const hFactors = statement.hFactors.slice();
  hFactors[3] = mod(hFactors[3]! + 1n);
  assert.ok(!verifies({ ...statement, hFactors }, proof));
});

test('the verifier rejects each tampered L_j, R_j, a and b', () => {
  const { statement, proof } = prove(16, 8);
  for (let j = 0; j < proof.L.length; j++) {
    const L = proof.L.slice();
    L[j] = L[j]!.add(G1Point.BASE);
    assert.ok(!verifies(statement, { ...proof, L }), `L_${j}`);
    const R = proof.R.slice();
    R[j] = R[j]!.add(G1Point.BASE);
    assert.ok(!verifies(statement, { ...proof, R }), `R_${j}`);
  }
  assert.ok(!verifies(statement, { ...proof, a: mod(proof.a + 1n) }));
  assert.ok(!verifies(statement, { ...proof, b: mod(proof.b + 1n) }));
  // Swapping L and R of one round is a classic ordering bug.
  const L = proof.L.slice();
  const R = proof.R.slice();
  [L[1], R[1]] = [R[1]!, L[1]!];
  assert.ok(!verifies(statement, { ...proof, L, R }));
});

test('a caller-supplied first round is used as given: the right one reproduces the proof, a wrong one fails', () => {
  const { statement, a, b } = setup(8, seededRng(12));
  const run = (firstRound?: { L: G1Point; R: G1Point }) =>
    proveInnerProduct({ transcript: new Transcript(LABEL), ...statement, a, b, firstRound });
  const plain = run();
  const same = run({ L: plain.L[0]!, R: plain.R[0]! });
  assert.deepEqual(same, plain);
  const wrong = run({ L: plain.L[0]!.add(G1Point.BASE), R: plain.R[0]! });
  assert.ok(!verifies(statement, wrong));
});

test('the verifier rejects a proof replayed under another transcript context', () => {
  const { statement, proof } = prove(8, 9);
  assert.ok(!verifies(statement, proof, 'TALLY-V1/test/ipa-other'));
});

test('innerProductVerifierScalars() returns a reason, never throws, on malformed proofs', () => {
  const { proof } = prove(8, 10);
  const t = () => new Transcript(LABEL);
  assert.equal(innerProductVerifierScalars(t(), proof, 6).ok, false);
  assert.equal(innerProductVerifierScalars(t(), { ...proof, L: proof.L.slice(1) }, 8).ok, false);
  assert.equal(innerProductVerifierScalars(t(), { ...proof, R: [G1Point.IDENTITY, ...proof.R.slice(1)] }, 8).ok, false);
  assert.equal(innerProductVerifierScalars(t(), { ...proof, a: -1n }, 8).ok, false);
  assert.equal(innerProductVerifierScalars(t(), { ...proof, b: 1n << 255n }, 8).ok, false);
  assert.equal(innerProductVerifierScalars(t(), proof, 8).ok, true);
});

test('s_i·sInv_i = 1 and the final G equals the prover-side fold', () => {
  const { statement, proof } = prove(8, 11);
  const v = innerProductVerifierScalars(new Transcript(LABEL), proof, 8);
  assert.ok(v.ok);
  for (let i = 0; i < 8; i++) assert.equal(scalarMul(v.s[i]!, v.sInv[i]!), 1n);
  // Fold G by hand, round by round, with G' = u^{-1}·G_lo + u·G_hi.
  let G = statement.G.slice();
  for (const u of v.challenges) {
    const half = G.length / 2;
    G = G.slice(0, half).map((g, i) => msmVartime([g, G[i + half]!], [invert(u), u]));
  }
  assert.ok(G[0]!.equals(msmVartime(statement.G, v.s)));
});

/** x^(r−2) by Fermat: an inverse computed independently of the code under test. */
function invert(x: bigint): bigint {
  let r = 1n;
  let b = x;
  let e = R_ORDER - 2n;
  while (e > 0n) {
    if (e & 1n) r = mod(r * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return r;
}
