// Generic sigma proofs and batch verification.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { G1Point, R_ORDER, scalarAdd } from './group.ts';
import { generator } from './generators.ts';
import { randomScalar, seededRng } from './rng.ts';
import { EquationBatch } from './batch.ts';
import { proveSigma, verifySigma, sigmaProofEquations, type LinearRelation } from './sigma.ts';
import { commit, complementCommitment, opens, sumCommitments, sumOpenings } from './pedersen.ts';

const B = [0, 1, 2, 3].map((i) => generator('TEST-SIGMA', i));

// Two relations sharing witness 0: P = x0·B0 + x1·B1, Q = x0·B2 + x2·B3.
function statement(x: bigint[]): LinearRelation[] {
  return [
    { name: 'P', image: B[0]!.mul(x[0]!).add(B[1]!.mul(x[1]!)), terms: [[0, B[0]!], [1, B[1]!]] },
    { name: 'Q', image: B[2]!.mul(x[0]!).add(B[3]!.mul(x[2]!)), terms: [[0, B[2]!], [2, B[3]!]] },
  ];
}

test('verifySigma accepts an honest proof of two relations sharing a witness', () => {
  const rng = seededRng('sigma-1');
  const x = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
  const rel = statement(x);
  const proof = proveSigma('TALLY-V1/test', rel, x, rng);
  assert.ok(verifySigma('TALLY-V1/test', rel, 3, proof, undefined, rng));
});

test('verifySigma rejects each tampered image, commitment and response, another label and another binding', () => {
  const rng = seededRng('sigma-2');
  const x = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
  const rel = statement(x);
  const bind = (t: import('./transcript.ts').Transcript) => t.appendBytes('ctx', Uint8Array.of(1));
  const proof = proveSigma('TALLY-V1/test', rel, x, rng, bind);
  assert.ok(verifySigma('TALLY-V1/test', rel, 3, proof, bind, rng));
  for (let j = 0; j < rel.length; j++) {
    const bad = rel.map((r, i) => (i === j ? { ...r, image: r.image.add(G1Point.BASE) } : r));
    assert.ok(!verifySigma('TALLY-V1/test', bad, 3, proof, bind, rng), `image ${j}`);
    const badT = { ...proof, commitments: proof.commitments.map((c, i) => (i === j ? c.add(G1Point.BASE) : c)) };
    assert.ok(!verifySigma('TALLY-V1/test', rel, 3, badT, bind, rng), `commitment ${j}`);
  }
  for (let i = 0; i < 3; i++) {
    const badZ = { ...proof, responses: proof.responses.map((z, k) => (k === i ? scalarAdd(z, 1n) : z)) };
    assert.ok(!verifySigma('TALLY-V1/test', rel, 3, badZ, bind, rng), `response ${i}`);
  }
  assert.ok(!verifySigma('TALLY-V1/other', rel, 3, proof, bind, rng), 'label');
  assert.ok(!verifySigma('TALLY-V1/test', rel, 3, proof, (t) => t.appendBytes('ctx', Uint8Array.of(2)), rng), 'binding');
  assert.ok(!verifySigma('TALLY-V1/test', rel, 3, { ...proof, responses: proof.responses.slice(1) }, bind, rng));
});

test('a prover with a wrong witness cannot make a verifying proof', () => {
  const rng = seededRng('sigma-3');
  const x = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
  const rel = statement(x);
  const wrong = [scalarAdd(x[0]!, 1n), x[1]!, x[2]!];
  assert.ok(!verifySigma('TALLY-V1/test', rel, 3, proveSigma('TALLY-V1/test', rel, wrong, rng), undefined, rng));
});

test('EquationBatch finds one false equation among many true ones', () => {
  const rng = seededRng('sigma-4');
  const batch = new EquationBatch();
  const proofs = [];
  for (let i = 0; i < 6; i++) {
    const x = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
    const rel = statement(x);
    proofs.push({ rel, proof: proveSigma('TALLY-V1/test', rel, x, rng) });
  }
  for (const { rel, proof } of proofs) sigmaProofEquations('TALLY-V1/test', rel, 3, proof)!.forEach((e) => batch.addMsm(e));
  assert.ok(batch.check(rng));
  const bad = proofs[3]!;
  const badProof = { ...bad.proof, responses: [scalarAdd(bad.proof.responses[0]!, 1n), ...bad.proof.responses.slice(1)] };
  const batch2 = new EquationBatch();
  for (const { rel, proof } of [...proofs.slice(0, 3), { rel: bad.rel, proof: badProof }, ...proofs.slice(4)]) {
    sigmaProofEquations('TALLY-V1/test', rel, 3, proof)!.forEach((e) => batch2.addMsm(e));
  }
  assert.ok(!batch2.check(rng));
});

test('Pedersen commitments are additively homomorphic and complements derive publicly', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: R_ORDER - 1n })), {
        minLength: 1,
        maxLength: 5,
      }),
      (pairs) => {
        const openings = pairs.map(([value, blinding]) => ({ value, blinding }));
        const cs = openings.map((o) => commit(o.value, o.blinding));
        assert.ok(opens(sumCommitments(cs), sumOpenings(openings)));
        const o = openings[0]!;
        const comp = complementCommitment(1000n, cs[0]!);
        assert.ok(opens(comp, { value: 1000n - o.value, blinding: (R_ORDER - o.blinding) % R_ORDER }));
        assert.ok(!opens(cs[0]!, { value: o.value + 1n, blinding: o.blinding }));
      },
    ),
    { numRuns: 8 },
  );
});

test('a public coefficient on a term is honoured and bound: T = x0·B0 + x1·(R·B1)', () => {
  const rng = seededRng('sigma-5');
  const x = [randomScalar(rng), randomScalar(rng)];
  const R = randomScalar(rng);
  const image = B[0]!.mul(x[0]!).add(B[1]!.mul(R).mul(x[1]!));
  const rel: LinearRelation[] = [{ name: 'T', image, terms: [[0, B[0]!], [1, B[1]!, R]] }];
  const proof = proveSigma('TALLY-V1/test', rel, x, rng);
  assert.ok(verifySigma('TALLY-V1/test', rel, 2, proof, undefined, rng));
  const other: LinearRelation[] = [{ name: 'T', image, terms: [[0, B[0]!], [1, B[1]!, scalarAdd(R, 1n)]] }];
  assert.ok(!verifySigma('TALLY-V1/test', other, 2, proof, undefined, rng));
});

test('verifySigma rejects a non-canonical response (z + r) and a malformed statement without throwing', () => {
  const rng = seededRng('sigma-6');
  const x = [randomScalar(rng), randomScalar(rng), randomScalar(rng)];
  const rel = statement(x);
  const proof = proveSigma('TALLY-V1/test', rel, x, rng);
  const shifted = { ...proof, responses: [proof.responses[0]! + R_ORDER, ...proof.responses.slice(1)] };
  assert.ok(!verifySigma('TALLY-V1/test', rel, 3, shifted, undefined, rng));
  assert.ok(!verifySigma('TALLY-V1/test', [], 3, proof, undefined, rng));
  assert.ok(!verifySigma('TALLY-V1/test', [{ ...rel[0]!, terms: [[9, B[0]!]] }, rel[1]!], 3, proof, undefined, rng));
});
