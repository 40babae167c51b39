// The batch opening proof: honest proofs verify (empty batch included), every public input and
// every proof element tampered in turn is refused, and the encoding is canonical.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, R_ORDER, scalarAdd, scalarToBytes } from './group.ts';
import { pedersenG } from './generators.ts';
import { commit, sumCommitments } from './pedersen.ts';
import { randomScalar, seededRng } from './rng.ts';
import {
  BATCH_OPENING_PROOF_BYTES,
  decodeBatchOpening,
  encodeBatchOpening,
  proveBatchOpening,
  verifyBatchOpening,
  type BatchOpeningStatement,
} from './batch_opening.ts';
import { CryptoDecodeError } from './group.ts';

function batch(seed: string, amounts: bigint[]): { s: BatchOpeningStatement; rho: bigint } {
  const rng = seededRng(seed);
  const blindings = amounts.map(() => randomScalar(rng));
  const sumCa = sumCommitments(amounts.map((a, i) => commit(a, blindings[i]!)));
  const rho = blindings.reduce((acc, r) => scalarAdd(acc, r), 0n);
  const s = { deviceId: new Uint8Array(16).fill(7), batchId: 3n, logDigest: new Uint8Array(32).fill(9), receivedMinor: amounts.reduce((x, y) => x + y, 0n), sumCa };
  return { s, rho };
}

test('verifyBatchOpening accepts honest proofs of one, several and no receipts', () => {
  for (const amounts of [[1_234n], [5n, 700n, 20_000n], []]) {
    const { s, rho } = batch(`bo-${amounts.length}`, amounts);
    const proof = proveBatchOpening(s, rho, seededRng('bo-prove'));
    assert.ok(verifyBatchOpening(s, proof));
    assert.ok(verifyBatchOpening(s, decodeBatchOpening(encodeBatchOpening(proof))), 'round trip');
  }
});

test('verifyBatchOpening rejects each tampered public input and each tampered proof element', () => {
  const { s, rho } = batch('bo-neg', [1_000n]);
  const proof = proveBatchOpening(s, rho, seededRng('bo-neg-prove'));
  const flip = (b: Uint8Array) => b.map((x, i) => (i === 0 ? x ^ 1 : x));
  const statements: Array<[string, BatchOpeningStatement]> = [
    ['deviceId', { ...s, deviceId: flip(s.deviceId) }],
    ['batchId', { ...s, batchId: s.batchId + 1n }],
    ['logDigest', { ...s, logDigest: flip(s.logDigest) }],
    ['receivedMinor', { ...s, receivedMinor: s.receivedMinor + 1n }],
    ['sumCa', { ...s, sumCa: s.sumCa.add(G1Point.BASE) }],
    ['sumCa moved with receivedMinor', { ...s, receivedMinor: s.receivedMinor + 1n, sumCa: s.sumCa.add(pedersenG()) }],
  ];
  for (const [what, bad] of statements) assert.equal(verifyBatchOpening(bad, proof), false, what);
  assert.equal(verifyBatchOpening(s, { ...proof, T: proof.T.add(G1Point.BASE) }), false, 'T');
  assert.equal(verifyBatchOpening(s, { ...proof, z: scalarAdd(proof.z, 1n) }), false, 'z');
  assert.equal(verifyBatchOpening(s, { ...proof, z: proof.z + R_ORDER }), false, 'z not canonical');
  assert.equal(verifyBatchOpening(s, { ...proof, T: G1Point.IDENTITY }), false, 'T the identity');
});

test('a proof for the wrong ρ cannot be made, and a proof without ρ does not verify', () => {
  const { s, rho } = batch('bo-forge', [2_000n]);
  assert.throws(() => proveBatchOpening(s, scalarAdd(rho, 1n), seededRng('x')), /does not open/);
  // A forger who knows only Σa and Σ C_a: picks z and T = z·H − c·P needs c first — guess one.
  const rng = seededRng('bo-forge-2');
  const forged = { T: G1Point.BASE.mul(randomScalar(rng)), z: randomScalar(rng) };
  assert.equal(verifyBatchOpening(s, forged), false);
});

test('decodeBatchOpening refuses wrong lengths, a non-canonical z and the identity T', () => {
  const { s, rho } = batch('bo-dec', [10n]);
  const bytes = encodeBatchOpening(proveBatchOpening(s, rho, seededRng('bo-dec-prove')));
  assert.equal(bytes.length, BATCH_OPENING_PROOF_BYTES);
  const code = (b: Uint8Array) => {
    try {
      decodeBatchOpening(b);
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof CryptoDecodeError);
      return e.code;
    }
  };
  assert.equal(code(bytes.subarray(1)), 'LENGTH');
  const bigZ = bytes.slice();
  bigZ.set(scalarToBytes(0n).fill(0xff), 48);
  assert.equal(code(bigZ), 'SCALAR_NOT_CANONICAL');
  const idT = bytes.slice();
  idT.set(G1Point.IDENTITY.toBytes(), 0);
  assert.equal(code(idT), 'POINT_IS_IDENTITY');
});
