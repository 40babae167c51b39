// Group layer over BLS12-381: scalars mod r as bigint, G1/G2 points backed by mcl-wasm.
//
// Why this shape: mcl-wasm is ~10x faster than pure JS for point work, but its objects are
// mutable and its decoder is lenient about some encodings. Every point that leaves this file is an
// immutable wrapper that was either computed here or decoded through `fromBytes`, which insists on
// the canonical compressed Zcash/IETF encoding, the curve equation, the prime-order subgroup and
// (unless asked otherwise) a non-identity point. Scalars stay plain bigints so callers can do
// arithmetic without crossing into wasm; they enter mcl only at multiplication time.
// Hash-to-curve uses @noble/curves because mcl's own map is tied to one fixed DST.

import * as mcl from 'mcl-wasm';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import { countOp } from './op_count.ts';

await mcl.init(mcl.BLS12_381);
mcl.setETHserialization(true); // compressed Zcash/IETF encoding, big-endian scalars
mcl.verifyOrderG1(true);
mcl.verifyOrderG2(true);

/** Order of G1, G2 and GT; every scalar lives in [0, R_ORDER). */
export const R_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
/** Base field modulus, for canonical-encoding checks. */
export const P_FIELD =
  0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;
export const SCALAR_BYTES = 32;
export const G1_BYTES = 48;
export const G2_BYTES = 96;

export type CryptoDecodeCode =
  | 'LENGTH'
  | 'SCALAR_NOT_CANONICAL'
  | 'POINT_NOT_CANONICAL'
  | 'POINT_NOT_ON_CURVE'
  | 'POINT_NOT_IN_SUBGROUP'
  | 'POINT_IS_IDENTITY'
  | 'MALFORMED';

/** Typed error for bytes that do not decode to a valid group element or scalar. */
export class CryptoDecodeError extends Error {
  constructor(
    readonly code: CryptoDecodeCode,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoDecodeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars

export function mod(x: bigint): bigint {
  const y = x % R_ORDER;
  return y < 0n ? y + R_ORDER : y;
}
export const scalarAdd = (a: bigint, b: bigint): bigint => mod(a + b);
export const scalarSub = (a: bigint, b: bigint): bigint => mod(a - b);
export const scalarMul = (a: bigint, b: bigint): bigint => mod(a * b);
export const scalarNeg = (a: bigint): bigint => mod(-a);

/** Multiplicative inverse mod r (extended Euclid). Throws on zero: a caller bug, not bad input. */
export function scalarInv(a: bigint): bigint {
  let t = 0n;
  let newT = 1n;
  let r = R_ORDER;
  let newR = mod(a);
  assert(newR !== 0n, 'scalarInv: zero has no inverse');
  while (newR !== 0n) {
    const q = r / newR;
    [t, newT] = [newT, t - q * newT];
    [r, newR] = [newR, r - q * newR];
  }
  assert(r === 1n, 'scalarInv: not invertible');
  return mod(t);
}

/** Inverts many scalars with one field inversion (Montgomery's trick). */
export function scalarInvBatch(xs: readonly bigint[]): bigint[] {
  const prefix: bigint[] = new Array(xs.length);
  let acc = 1n;
  for (let i = 0; i < xs.length; i++) {
    prefix[i] = acc;
    acc = scalarMul(acc, xs[i]!);
  }
  let inv = scalarInv(acc);
  const out: bigint[] = new Array(xs.length);
  for (let i = xs.length - 1; i >= 0; i--) {
    out[i] = scalarMul(inv, prefix[i]!);
    inv = scalarMul(inv, xs[i]!);
  }
  return out;
}

export function scalarPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  assert(e >= 0n, 'scalarPow: negative exponent');
  while (e > 0n) {
    if (e & 1n) result = scalarMul(result, b);
    b = scalarMul(b, b);
    e >>= 1n;
  }
  return result;
}

export function bytesToBigintBE(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const byte of bytes) x = (x << 8n) | BigInt(byte);
  return x;
}

export function bigintToBytesBE(x: bigint, length: number): Uint8Array {
  assert(x >= 0n, 'bigintToBytesBE: negative');
  const out = new Uint8Array(length);
  let v = x;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  assert(v === 0n, `bigintToBytesBE: value does not fit in ${length} bytes`);
  return out;
}

export function scalarToBytes(x: bigint): Uint8Array {
  assert(x >= 0n && x < R_ORDER, 'scalarToBytes: scalar out of range');
  return bigintToBytesBE(x, SCALAR_BYTES);
}

/** Decodes a 32-byte big-endian scalar; rejects values >= r (non-canonical). */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== SCALAR_BYTES) {
    throw new CryptoDecodeError('LENGTH', `scalar must be ${SCALAR_BYTES} bytes, got ${bytes.length}`);
  }
  const x = bytesToBigintBE(bytes);
  if (x >= R_ORDER) throw new CryptoDecodeError('SCALAR_NOT_CANONICAL', 'scalar is not below the group order r');
  return x;
}

/**
 * hash_to_scalar as in the BBS draft: expand_message_xmd(SHA-256) to 48 bytes, then mod r.
 * 48 bytes keep the bias below 2^-128.
 */
export function hashToScalar(msg: Uint8Array, dst: Uint8Array | string): bigint {
  const uniform = expand_message_xmd(msg, dst, 48, sha256);
  return mod(bytesToBigintBE(uniform));
}

function toFr(x: bigint): mcl.Fr {
  const fr = new mcl.Fr();
  fr.setStr(mod(x).toString(16), 16);
  return fr;
}

// ---------------------------------------------------------------------------------------------
// G1

function classifyBadG1(bytes: Uint8Array): CryptoDecodeError {
  const flags = bytes[0]! & 0xe0;
  if ((flags & 0x80) === 0) return new CryptoDecodeError('POINT_NOT_CANONICAL', 'G1 point is not in compressed form');
  const x = bytesToBigintBE(Uint8Array.from([bytes[0]! & 0x1f, ...bytes.subarray(1)]));
  if (x >= P_FIELD) return new CryptoDecodeError('POINT_NOT_CANONICAL', 'G1 x-coordinate is not below p');
  if ((flags & 0x40) !== 0) return new CryptoDecodeError('POINT_NOT_CANONICAL', 'G1 infinity flag with non-zero bytes');
  // y^2 = x^3 + 4 has a solution iff the right side is a square (Euler's criterion).
  const rhs = (((x * x) % P_FIELD) * x + 4n) % P_FIELD;
  if (rhs !== 0n && powModP(rhs, (P_FIELD - 1n) / 2n) !== 1n) {
    return new CryptoDecodeError('POINT_NOT_ON_CURVE', 'G1 bytes do not encode a point on the curve');
  }
  return new CryptoDecodeError('POINT_NOT_IN_SUBGROUP', 'G1 point is not in the prime-order subgroup');
}

function powModP(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P_FIELD;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P_FIELD;
    b = (b * b) % P_FIELD;
  }
  return result;
}

export interface DecodePointOptions {
  /** Accept the point at infinity (only where a relation explicitly allows it). */
  allowIdentity?: boolean;
  /**
   * Check the curve equation but leave the prime-order subgroup check to the batch verifier
   * (EquationBatch clears the cofactor of every MSM it checks). Costs ~0.1 ms instead of ~0.35 ms.
   * Only for proof elements that enter nothing but EquationBatch MSM equations and transcripts;
   * never for public inputs (a nullifier must have exactly one encoding) or pairing inputs.
   */
  deferSubgroupCheck?: boolean;
}

/**
 * h_eff = 1 − x for BLS12-381 G1 (RFC 9380 §8.8.1): h_eff·P lies in G1 for every P on the curve,
 * so it kills any component outside the prime-order subgroup and is invertible mod r.
 */
export const G1_H_EFF = 0xd201000000010001n;

/** Immutable G1 point. */
export class G1Point {
  private constructor(private readonly inner: mcl.G1) {}

  static readonly IDENTITY = new G1Point(new mcl.G1());
  static readonly BASE = G1Point.fromBytesUnchecked(bls12_381.G1.Point.BASE.toBytes(true));

  private static fromBytesUnchecked(bytes: Uint8Array): G1Point {
    const p = new mcl.G1();
    p.deserialize(bytes);
    return new G1Point(p);
  }

  /** Decodes a canonical 48-byte compressed point. Throws CryptoDecodeError on anything else. */
  static fromBytes(bytes: Uint8Array, options: DecodePointOptions = {}): G1Point {
    if (!(bytes instanceof Uint8Array) || bytes.length !== G1_BYTES) {
      throw new CryptoDecodeError('LENGTH', `G1 point must be ${G1_BYTES} bytes, got ${bytes?.length}`);
    }
    countOp('pointDecodes');
    if (options.deferSubgroupCheck) countOp('pointDecodesDeferred');
    const p = new mcl.G1();
    if (options.deferSubgroupCheck) mcl.verifyOrderG1(false);
    try {
      p.deserialize(bytes);
    } catch {
      throw classifyBadG1(bytes);
    } finally {
      if (options.deferSubgroupCheck) mcl.verifyOrderG1(true);
    }
    if (!equalBytes(p.serialize(), bytes)) {
      throw new CryptoDecodeError('POINT_NOT_CANONICAL', 'G1 encoding is not canonical');
    }
    if (p.isZero() && !options.allowIdentity) {
      throw new CryptoDecodeError('POINT_IS_IDENTITY', 'G1 point is the identity');
    }
    return new G1Point(p);
  }

  /** RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_ under the given DST. */
  static hashToCurve(msg: Uint8Array, dst: Uint8Array | string): G1Point {
    countOp('hashToCurve');
    return G1Point.fromBytesUnchecked(bls12_381.G1.hashToCurve(msg, { DST: dst }).toBytes(true));
  }

  /** @internal raw mcl access for msm and pairings in this file; never export mcl values. */
  static unwrap(p: G1Point): mcl.G1 {
    return p.inner;
  }
  /** @internal wraps an mcl result computed in this file. */
  static wrap(p: mcl.G1): G1Point {
    return new G1Point(p);
  }

  toBytes(): Uint8Array {
    return this.inner.serialize();
  }
  toHex(): string {
    return Buffer.from(this.toBytes()).toString('hex');
  }
  add(o: G1Point): G1Point {
    countOp('g1Add');
    return new G1Point(mcl.add(this.inner, o.inner));
  }
  sub(o: G1Point): G1Point {
    countOp('g1Add');
    return new G1Point(mcl.sub(this.inner, o.inner));
  }
  neg(): G1Point {
    return new G1Point(mcl.neg(this.inner));
  }
  double(): G1Point {
    countOp('g1Add');
    return new G1Point(mcl.dbl(this.inner));
  }
  mul(s: bigint): G1Point {
    countOp('g1Mul');
    return new G1Point(mcl.mul(this.inner, toFr(s)));
  }
  equals(o: G1Point): boolean {
    return this.inner.isEqual(o.inner);
  }
  isIdentity(): boolean {
    return this.inner.isZero();
  }
  /** True when the point lies in the prime-order subgroup G1 (a full scalar-multiplication check). */
  isInSubgroup(): boolean {
    return this.inner.isValidOrder();
  }
  /**
   * h_eff·P by plain double-and-add. Not `mul`: mcl's endomorphism-accelerated multiplication is
   * only correct on G1, and this is applied to points that may carry a component outside it.
   */
  clearCofactor(): G1Point {
    countOp('cofactorClears');
    let acc = new mcl.G1();
    for (let bit = 63n; bit >= 0n; bit--) {
      acc = mcl.dbl(acc);
      if ((G1_H_EFF >> bit) & 1n) acc = mcl.add(acc, this.inner);
    }
    return new G1Point(acc);
  }
}

/** Multi-scalar multiplication Σ s_i·P_i (variable time in the scalars). */
export function msmVartime(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  assert(points.length === scalars.length, `msm: ${points.length} points but ${scalars.length} scalars`);
  if (points.length === 0) return G1Point.IDENTITY;
  countOp('g1Msms');
  countOp('g1MsmPoints', points.length);
  const r = mcl.mulVec(points.map(G1Point.unwrap), scalars.map(toFr));
  return G1Point.wrap(r);
}

// ---------------------------------------------------------------------------------------------
// G2

/** Immutable G2 point (credential public keys). */
export class G2Point {
  private constructor(private readonly inner: mcl.G2) {}

  static readonly BASE = G2Point.fromBytesUnchecked(bls12_381.G2.Point.BASE.toBytes(true));
  static readonly IDENTITY = new G2Point(new mcl.G2());

  private static fromBytesUnchecked(bytes: Uint8Array): G2Point {
    const p = new mcl.G2();
    p.deserialize(bytes);
    return new G2Point(p);
  }

  static fromBytes(bytes: Uint8Array, options: DecodePointOptions = {}): G2Point {
    if (!(bytes instanceof Uint8Array) || bytes.length !== G2_BYTES) {
      throw new CryptoDecodeError('LENGTH', `G2 point must be ${G2_BYTES} bytes, got ${bytes?.length}`);
    }
    countOp('pointDecodes');
    const p = new mcl.G2();
    try {
      p.deserialize(bytes);
    } catch {
      if ((bytes[0]! & 0x80) === 0) {
        throw new CryptoDecodeError('POINT_NOT_CANONICAL', 'G2 point is not in compressed form');
      }
      try {
        bls12_381.G2.Point.fromBytes(bytes);
      } catch {
        throw new CryptoDecodeError('POINT_NOT_ON_CURVE', 'G2 bytes do not encode a point on the curve');
      }
      throw new CryptoDecodeError('POINT_NOT_IN_SUBGROUP', 'G2 point is not in the prime-order subgroup');
    }
    if (!equalBytes(p.serialize(), bytes)) {
      throw new CryptoDecodeError('POINT_NOT_CANONICAL', 'G2 encoding is not canonical');
    }
    if (p.isZero() && !options.allowIdentity) {
      throw new CryptoDecodeError('POINT_IS_IDENTITY', 'G2 point is the identity');
    }
    return new G2Point(p);
  }

  static unwrap(p: G2Point): mcl.G2 {
    return p.inner;
  }

  toBytes(): Uint8Array {
    return this.inner.serialize();
  }
  add(o: G2Point): G2Point {
    return new G2Point(mcl.add(this.inner, o.inner));
  }
  sub(o: G2Point): G2Point {
    return new G2Point(mcl.sub(this.inner, o.inner));
  }
  neg(): G2Point {
    return new G2Point(mcl.neg(this.inner));
  }
  mul(s: bigint): G2Point {
    countOp('g2Mul');
    return new G2Point(mcl.mul(this.inner, toFr(s)));
  }
  equals(o: G2Point): boolean {
    return this.inner.isEqual(o.inner);
  }
  isIdentity(): boolean {
    return this.inner.isZero();
  }
}

// ---------------------------------------------------------------------------------------------
// Pairings

/**
 * True when Π e(P_i, Q_i) = 1 in GT. One Miller loop per pair, a single final exponentiation:
 * this is the multi-pairing every BBS check (single or batched) reduces to.
 */
export function pairingProductIsOne(pairs: ReadonlyArray<readonly [G1Point, G2Point]>): boolean {
  assert(pairs.length > 0, 'pairingProductIsOne: no pairs');
  let acc: mcl.GT | undefined;
  countOp('millerLoops', pairs.length);
  countOp('finalExps');
  for (const [p, q] of pairs) {
    const ml = mcl.millerLoop(G1Point.unwrap(p), G2Point.unwrap(q));
    acc = acc === undefined ? ml : mcl.mul(acc, ml);
  }
  return mcl.finalExp(acc!).isOne();
}

/** e(P, Q) serialized, for tests and cross-checks. */
export function pairingBytes(p: G1Point, q: G2Point): Uint8Array {
  countOp('millerLoops');
  countOp('finalExps');
  return mcl.pairing(G1Point.unwrap(p), G2Point.unwrap(q)).serialize();
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
