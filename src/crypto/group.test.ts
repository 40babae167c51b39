// Group layer: encodings, arithmetic and hash-to-curve cross-checked against @noble/curves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import {
  G1Point,
  G2Point,
  R_ORDER,
  msmVartime,
  pairingProductIsOne,
  scalarFromBytes,
  scalarInv,
  scalarInvBatch,
  scalarMul,
  scalarToBytes,
  bigintToBytesBE,
  G1_H_EFF,
} from './group.ts';
import { EquationBatch } from './batch.ts';
import { seededRng } from './rng.ts';
import { offSubgroupPoint, decodeErrorCode } from './fixtures.ts';

const noble = bls12_381.G1.Point;
const noble2 = bls12_381.G2.Point;
const scalarArb = fc.bigInt({ min: 1n, max: R_ORDER - 1n });

const decodeCode = decodeErrorCode;

test('G1 scalar multiplication matches noble on random scalars', () => {
  fc.assert(
    fc.property(scalarArb, (s) => {
      const ours = G1Point.BASE.mul(s).toBytes();
      const theirs = noble.BASE.multiply(s).toBytes(true);
      assert.deepEqual(ours, theirs);
    }),
    { numRuns: 25 },
  );
});

test('G2 scalar multiplication matches noble on random scalars', () => {
  fc.assert(
    fc.property(scalarArb, (s) => {
      assert.deepEqual(G2Point.BASE.mul(s).toBytes(), noble2.BASE.multiply(s).toBytes(true));
    }),
    { numRuns: 10 },
  );
});

test('G1 add, sub, neg, double agree with noble', () => {
  fc.assert(
    fc.property(scalarArb, scalarArb, (a, b) => {
      const A = G1Point.BASE.mul(a);
      const B = G1Point.BASE.mul(b);
      const nA = noble.BASE.multiply(a);
      const nB = noble.BASE.multiply(b);
      assert.deepEqual(A.add(B).toBytes(), nA.add(nB).toBytes(true));
      assert.deepEqual(A.sub(B).toBytes(), nA.subtract(nB).toBytes(true));
      assert.deepEqual(A.neg().toBytes(), nA.negate().toBytes(true));
      assert.deepEqual(A.double().toBytes(), nA.double().toBytes(true));
    }),
    { numRuns: 15 },
  );
});

test('hash-to-curve matches noble (RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.string({ minLength: 1, maxLength: 40 }), (msg, dst) => {
      const ours = G1Point.hashToCurve(msg, dst).toBytes();
      const theirs = bls12_381.G1.hashToCurve(msg, { DST: dst }).toBytes(true);
      assert.deepEqual(ours, theirs);
    }),
    { numRuns: 20 },
  );
});

test('hash-to-curve reproduces the RFC 9380 G1 test vector for msg "abc"', () => {
  const dst = 'QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_';
  const p = G1Point.hashToCurve(new TextEncoder().encode('abc'), dst);
  const affine = bls12_381.G1.Point.fromBytes(p.toBytes()).toAffine();
  assert.equal(
    affine.x.toString(16),
    '3567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903',
  );
});

test('msm equals the sum of single multiplications', () => {
  fc.assert(
    fc.property(fc.array(scalarArb, { minLength: 1, maxLength: 12 }), (scalars) => {
      const points = scalars.map((_, i) => G1Point.hashToCurve(Uint8Array.of(i), 'TEST-MSM'));
      let expected = G1Point.IDENTITY;
      scalars.forEach((s, i) => (expected = expected.add(points[i]!.mul(s))));
      assert.ok(msmVartime(points, scalars).equals(expected));
    }),
    { numRuns: 10 },
  );
});

test('encodings round-trip for G1, G2 and scalars', () => {
  fc.assert(
    fc.property(scalarArb, (s) => {
      const P = G1Point.BASE.mul(s);
      assert.ok(G1Point.fromBytes(P.toBytes()).equals(P));
      const Q = G2Point.BASE.mul(s);
      assert.ok(G2Point.fromBytes(Q.toBytes()).equals(Q));
      assert.equal(scalarFromBytes(scalarToBytes(s)), s);
    }),
    { numRuns: 10 },
  );
  assert.ok(G1Point.fromBytes(G1Point.IDENTITY.toBytes(), { allowIdentity: true }).isIdentity());
});

test('G1 decoding rejects wrong length, identity, non-canonical, off-curve and off-subgroup bytes', () => {
  const good = G1Point.BASE.mul(12345n).toBytes();
  assert.equal(decodeCode(() => G1Point.fromBytes(good.subarray(1))), 'LENGTH');
  assert.equal(decodeCode(() => G1Point.fromBytes(G1Point.IDENTITY.toBytes())), 'POINT_IS_IDENTITY');
  const uncompressedFlag = Uint8Array.from(good);
  uncompressedFlag[0]! &= 0x7f;
  assert.equal(decodeCode(() => G1Point.fromBytes(uncompressedFlag)), 'POINT_NOT_CANONICAL');
  // x >= p
  const bigX = new Uint8Array(48).fill(0xff);
  bigX[0] = 0x9f;
  assert.equal(decodeCode(() => G1Point.fromBytes(bigX)), 'POINT_NOT_CANONICAL');
  // infinity flag with garbage
  const badInf = new Uint8Array(48);
  badInf[0] = 0xc0;
  badInf[47] = 1;
  assert.notEqual(decodeCode(() => G1Point.fromBytes(badInf)), 'OK');
  // off-curve: search x until x^3+4 is a non-residue
  let found = 0;
  for (let x = 1n; found < 1 && x < 100n; x++) {
    const b = bigintToBytesBE(x, 48);
    b[0]! |= 0x80;
    const code = decodeCode(() => G1Point.fromBytes(b));
    if (code === 'POINT_NOT_ON_CURVE') found++;
  }
  assert.equal(found, 1, 'an off-curve x was rejected as such');
  // on-curve but outside the subgroup: a point of E(Fp) not cleared by the cofactor
  let outside = 0;
  for (let x = 1n; outside < 1 && x < 200n; x++) {
    const b = bigintToBytesBE(x, 48);
    b[0]! |= 0x80;
    if (decodeCode(() => G1Point.fromBytes(b)) === 'POINT_NOT_IN_SUBGROUP') outside++;
  }
  assert.equal(outside, 1, 'a point outside the subgroup was rejected as such');
});

test('G2 decoding rejects identity, bad length and tampered bytes', () => {
  const good = G2Point.BASE.mul(7n).toBytes();
  assert.equal(decodeCode(() => G2Point.fromBytes(good.subarray(2))), 'LENGTH');
  assert.equal(decodeCode(() => G2Point.fromBytes(G2Point.IDENTITY.toBytes())), 'POINT_IS_IDENTITY');
  const bad = Uint8Array.from(good);
  bad[95]! ^= 1;
  assert.notEqual(decodeCode(() => G2Point.fromBytes(bad)), 'OK');
});

test('scalar decoding rejects r and above', () => {
  assert.equal(decodeCode(() => scalarFromBytes(scalarToBytes(R_ORDER - 1n))), 'OK');
  assert.equal(decodeCode(() => scalarFromBytes(bigintToBytesBE(R_ORDER, 32))), 'SCALAR_NOT_CANONICAL');
  assert.equal(decodeCode(() => scalarFromBytes(new Uint8Array(31))), 'LENGTH');
});

test('scalar inversion, single and batched', () => {
  fc.assert(
    fc.property(fc.array(scalarArb, { minLength: 1, maxLength: 8 }), (xs) => {
      const invs = scalarInvBatch(xs);
      xs.forEach((x, i) => {
        assert.equal(scalarMul(x, invs[i]!), 1n);
        assert.equal(invs[i], scalarInv(x));
      });
    }),
  );
});

test('pairing bilinearity: e(aP, bQ) · e(-abP, Q) = 1', () => {
  const a = 0x1234567n;
  const b = 0x7654321n;
  assert.ok(
    pairingProductIsOne([
      [G1Point.BASE.mul(a), G2Point.BASE.mul(b)],
      [G1Point.BASE.mul(scalarMul(a, b)).neg(), G2Point.BASE],
    ]),
  );
  assert.ok(
    !pairingProductIsOne([
      [G1Point.BASE.mul(a), G2Point.BASE.mul(b)],
      [G1Point.BASE.mul(scalarMul(a, b + 1n)).neg(), G2Point.BASE],
    ]),
  );
});

test('deferSubgroupCheck decodes an on-curve point outside G1 that the default decode refuses', () => {
  const { Q, torsion } = offSubgroupPoint();
  assert.equal(decodeCode(() => G1Point.fromBytes(Q.toBytes())), 'POINT_NOT_IN_SUBGROUP');
  assert.ok(!Q.isInSubgroup());
  assert.ok(!torsion.isIdentity() && !torsion.isInSubgroup());
  assert.ok(torsion.clearCofactor().isIdentity(), 'h_eff kills the component outside G1');
  assert.ok(Q.clearCofactor().isInSubgroup());
  const P = G1Point.BASE.mul(987654321n);
  assert.ok(P.clearCofactor().equals(P.mul(G1_H_EFF)), 'on G1, clearCofactor is multiplication by h_eff');
  // Off-curve bytes are still refused with deferSubgroupCheck.
  let offCurve = 0;
  for (let x = 1n; offCurve === 0 && x < 100n; x++) {
    const b = bigintToBytesBE(x, 48);
    b[0]! |= 0x80;
    if (decodeCode(() => G1Point.fromBytes(b, { deferSubgroupCheck: true })) === 'POINT_NOT_ON_CURVE') offCurve++;
  }
  assert.equal(offCurve, 1);
});

test('EquationBatch ignores components outside G1 but still catches a false prime-order part', () => {
  const { torsion } = offSubgroupPoint();
  const P = G1Point.BASE.mul(5n);
  const rng = seededRng('batch-cofactor');
  assert.ok(new EquationBatch().addMsm([[P.add(torsion), 1n], [P, R_ORDER - 1n]]).check(rng), 'differs only outside G1');
  const wrong = new EquationBatch().addMsm([[P.add(torsion), 1n], [P.double(), R_ORDER - 1n]]);
  assert.ok(!wrong.check(rng), 'a false equation stays false');
  const two = new EquationBatch().addMsm([[P.add(torsion), 1n], [P, R_ORDER - 1n]]).addMsm([[P, 2n], [P.double(), R_ORDER - 1n]]);
  assert.ok(two.check(rng));
});
