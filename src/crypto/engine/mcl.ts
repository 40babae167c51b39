// The mcl-wasm back end: portable (WebAssembly), the fallback wherever the native addon cannot be
// built. mcl's decoder is lenient about some encodings and reports every failure alike, so
// decoding re-serialises to insist on the canonical form and classifies failures itself.

import * as mcl from 'mcl-wasm';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import type { CurveEngine, Decoded, PointDecodeFailure } from './types.ts';

await mcl.init(mcl.BLS12_381);
mcl.setETHserialization(true); // compressed Zcash/IETF encoding, big-endian scalars
mcl.verifyOrderG1(true);
mcl.verifyOrderG2(true);

const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
const P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;
const H_EFF = 0xd201000000010001n;

function toFr(x: bigint): mcl.Fr {
  const fr = new mcl.Fr();
  fr.setStr((((x % R) + R) % R).toString(16), 16);
  return fr;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function powModP(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function classifyBadG1(bytes: Uint8Array): PointDecodeFailure {
  const flags = bytes[0]! & 0xe0;
  if ((flags & 0x80) === 0) return 'POINT_NOT_CANONICAL';
  let x = BigInt(bytes[0]! & 0x1f);
  for (const byte of bytes.subarray(1)) x = (x << 8n) | BigInt(byte);
  if (x >= P || (flags & 0x40) !== 0) return 'POINT_NOT_CANONICAL';
  // y^2 = x^3 + 4 has a solution iff the right side is a square (Euler's criterion).
  const rhs = (((x * x) % P) * x + 4n) % P;
  if (rhs !== 0n && powModP(rhs, (P - 1n) / 2n) !== 1n) return 'POINT_NOT_ON_CURVE';
  return 'POINT_NOT_IN_SUBGROUP';
}

function g1FromBytesUnchecked(bytes: Uint8Array): mcl.G1 {
  const p = new mcl.G1();
  p.deserialize(bytes);
  return p;
}
function g2FromBytesUnchecked(bytes: Uint8Array): mcl.G2 {
  const p = new mcl.G2();
  p.deserialize(bytes);
  return p;
}

const G1_BASE = g1FromBytesUnchecked(bls12_381.G1.Point.BASE.toBytes(true));
const G2_BASE = g2FromBytesUnchecked(bls12_381.G2.Point.BASE.toBytes(true));

export const mclEngine: CurveEngine<mcl.G1, mcl.G2> = {
  name: 'mcl',
  detail: 'mcl-wasm (WebAssembly)',

  g1Identity: () => new mcl.G1(),
  g1Generator: () => G1_BASE,
  g1Decode(bytes, checkSubgroup): Decoded<mcl.G1> {
    const p = new mcl.G1();
    if (!checkSubgroup) mcl.verifyOrderG1(false);
    try {
      p.deserialize(bytes);
    } catch {
      return { ok: false, code: classifyBadG1(bytes) };
    } finally {
      if (!checkSubgroup) mcl.verifyOrderG1(true);
    }
    if (!sameBytes(p.serialize(), bytes)) return { ok: false, code: 'POINT_NOT_CANONICAL' };
    return { ok: true, point: p, identity: p.isZero() };
  },
  g1Encode: (p) => p.serialize(),
  g1Add: (a, b) => mcl.add(a, b),
  g1Sub: (a, b) => mcl.sub(a, b),
  g1Neg: (a) => mcl.neg(a),
  g1Dbl: (a) => mcl.dbl(a),
  g1Mul: (p, s) => mcl.mul(p, toFr(s)),
  g1ClearCofactor(p) {
    // Plain double-and-add: mcl's endomorphism-accelerated multiplication is only correct on G1.
    let acc = new mcl.G1();
    for (let bit = 63n; bit >= 0n; bit--) {
      acc = mcl.dbl(acc);
      if ((H_EFF >> bit) & 1n) acc = mcl.add(acc, p);
    }
    return acc;
  },
  g1Eq: (a, b) => a.isEqual(b),
  g1IsIdentity: (p) => p.isZero(),
  g1InSubgroup: (p) => p.isValidOrder(),
  g1Msm: (points, scalars) => (points.length === 0 ? new mcl.G1() : mcl.mulVec(points as mcl.G1[], scalars.map(toFr))),
  g1HashToCurve: null,
  g1FixedSlot: null,
  g1MsmFixed: null,

  g2Identity: () => new mcl.G2(),
  g2Generator: () => G2_BASE,
  g2Decode(bytes, checkSubgroup): Decoded<mcl.G2> {
    const p = new mcl.G2();
    if (!checkSubgroup) mcl.verifyOrderG2(false);
    try {
      p.deserialize(bytes);
    } catch {
      if ((bytes[0]! & 0x80) === 0) return { ok: false, code: 'POINT_NOT_CANONICAL' };
      try {
        bls12_381.G2.Point.fromBytes(bytes);
      } catch {
        return { ok: false, code: 'POINT_NOT_ON_CURVE' };
      }
      return { ok: false, code: 'POINT_NOT_IN_SUBGROUP' };
    } finally {
      if (!checkSubgroup) mcl.verifyOrderG2(true);
    }
    if (!sameBytes(p.serialize(), bytes)) return { ok: false, code: 'POINT_NOT_CANONICAL' };
    return { ok: true, point: p, identity: p.isZero() };
  },
  g2Encode: (p) => p.serialize(),
  g2Add: (a, b) => mcl.add(a, b),
  g2Sub: (a, b) => mcl.sub(a, b),
  g2Neg: (a) => mcl.neg(a),
  g2Mul: (p, s) => mcl.mul(p, toFr(s)),
  g2Eq: (a, b) => a.isEqual(b),
  g2IsIdentity: (p) => p.isZero(),

  pairingIsOne(pairs) {
    let acc: mcl.GT | undefined;
    for (const [p, q] of pairs) {
      const ml = mcl.millerLoop(p, q);
      acc = acc === undefined ? ml : mcl.mul(acc, ml);
    }
    return acc === undefined || mcl.finalExp(acc).isOne();
  },
};
