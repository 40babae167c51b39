// Group layer over BLS12-381: scalars mod r as bigint, G1/G2 points backed by the curve engine
// (engine/: the native blst addon, or mcl-wasm where it cannot be built; TALLY_ENGINE picks).
//
// Why this shape: every point that leaves this file is an immutable wrapper that was either
// computed here or decoded through `fromBytes`, which insists on the canonical compressed
// Zcash/IETF encoding, the curve equation, the prime-order subgroup and (unless asked otherwise) a
// non-identity point — the same checks and the same typed errors on either engine. Scalars stay
// plain bigints so callers can do arithmetic without crossing into the engine; they enter it only
// at multiplication time. Hash-to-curve runs in the engine when it has one, else in @noble/curves
// (mcl's own map is tied to one fixed DST).

import { bls12_381 } from '@noble/curves/bls12-381.js';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import { engine, engineInfo, type PointDecodeFailure } from './engine/index.ts';
import { countOp } from './op_count.ts';

export { engineInfo };

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

// ---------------------------------------------------------------------------------------------
// G1

export interface DecodePointOptions {
  /** Accept the point at infinity (only where a relation explicitly allows it). */
  allowIdentity?: boolean;
  /**
   * Check the curve equation but leave the prime-order subgroup check to the batch verifier
   * (EquationBatch clears the cofactor of every MSM it checks), which is several times cheaper.
   * Only for proof elements that enter nothing but EquationBatch MSM equations and transcripts;
   * never for public inputs (a nullifier must have exactly one encoding) or pairing inputs.
   */
  deferSubgroupCheck?: boolean;
}

const DECODE_MESSAGES: Record<PointDecodeFailure, string> = {
  POINT_NOT_CANONICAL: 'encoding is not the canonical compressed one',
  POINT_NOT_ON_CURVE: 'bytes do not encode a point on the curve',
  POINT_NOT_IN_SUBGROUP: 'point is not in the prime-order subgroup',
};

/**
 * h_eff = 1 − x for BLS12-381 G1 (RFC 9380 §8.8.1): h_eff·P lies in G1 for every P on the curve,
 * so it kills any component outside the prime-order subgroup and is invertible mod r.
 */
export const G1_H_EFF = 0xd201000000010001n;

/** Immutable G1 point. */
export class G1Point {
  /** Fixed-base table slot in the engine (useFixedTable), or −1. */
  private slot = -1;
  private constructor(private readonly h: unknown) {}

  static readonly IDENTITY = new G1Point(engine.g1Identity());
  static readonly BASE = new G1Point(engine.g1Generator());

  /** Decodes a canonical 48-byte compressed point. Throws CryptoDecodeError on anything else. */
  static fromBytes(bytes: Uint8Array, options: DecodePointOptions = {}): G1Point {
    if (!(bytes instanceof Uint8Array) || bytes.length !== G1_BYTES) {
      throw new CryptoDecodeError('LENGTH', `G1 point must be ${G1_BYTES} bytes, got ${bytes?.length}`);
    }
    countOp('pointDecodes');
    if (options.deferSubgroupCheck) countOp('pointDecodesDeferred');
    const r = engine.g1Decode(bytes, !options.deferSubgroupCheck);
    if (!r.ok) throw new CryptoDecodeError(r.code, `G1 ${DECODE_MESSAGES[r.code]}`);
    if (r.identity && !options.allowIdentity) throw new CryptoDecodeError('POINT_IS_IDENTITY', 'G1 point is the identity');
    return new G1Point(r.point);
  }

  /** RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_ under the given DST. */
  static hashToCurve(msg: Uint8Array, dst: Uint8Array | string): G1Point {
    countOp('hashToCurve');
    if (engine.g1HashToCurve !== null) {
      return new G1Point(engine.g1HashToCurve(msg, typeof dst === 'string' ? new TextEncoder().encode(dst) : dst));
    }
    const r = engine.g1Decode(bls12_381.G1.hashToCurve(msg, { DST: dst }).toBytes(true), false);
    assert(r.ok, 'hashToCurve: engine refused a hashed point');
    return new G1Point(r.point);
  }

  /** @internal the engine handle, for msm and pairings in this file; never export it. */
  static handle(p: G1Point): unknown {
    return p.h;
  }
  /** @internal the fixed-base slot, or −1. */
  static slotOf(p: G1Point): number {
    return p.slot;
  }
  /** @internal wraps an engine result. */
  static wrap(h: unknown): G1Point {
    return new G1Point(h);
  }

  /**
   * Marks a long-lived generator (a fixed, public base in G1) for a precomputed table: every MSM
   * it enters then spends table lookups instead of doublings and buckets on it. Costs ~12 KiB and
   * one table build per point, once; a no-op on engines without tables. Returns this point.
   */
  useFixedTable(): this {
    if (this.slot < 0 && engine.g1FixedSlot !== null && !this.isIdentity()) this.slot = engine.g1FixedSlot(this.h) ?? -1;
    return this;
  }

  toBytes(): Uint8Array {
    return engine.g1Encode(this.h);
  }
  toHex(): string {
    return Buffer.from(this.toBytes()).toString('hex');
  }
  add(o: G1Point): G1Point {
    countOp('g1Add');
    return new G1Point(engine.g1Add(this.h, o.h));
  }
  sub(o: G1Point): G1Point {
    countOp('g1Add');
    return new G1Point(engine.g1Sub(this.h, o.h));
  }
  neg(): G1Point {
    return new G1Point(engine.g1Neg(this.h));
  }
  double(): G1Point {
    countOp('g1Add');
    return new G1Point(engine.g1Dbl(this.h));
  }
  /** s·P in constant time (secret scalars welcome). */
  mul(s: bigint): G1Point {
    countOp('g1Mul');
    return new G1Point(engine.g1Mul(this.h, mod(s)));
  }
  equals(o: G1Point): boolean {
    return engine.g1Eq(this.h, o.h);
  }
  isIdentity(): boolean {
    return engine.g1IsIdentity(this.h);
  }
  /** True when the point lies in the prime-order subgroup G1 (a full scalar-multiplication check). */
  isInSubgroup(): boolean {
    return engine.g1InSubgroup(this.h);
  }
  /** h_eff·P, correct also for points with a component outside G1 (no endomorphism shortcut). */
  clearCofactor(): G1Point {
    countOp('cofactorClears');
    return new G1Point(engine.g1ClearCofactor(this.h));
  }
}

/** Fewest table-backed bases for which the table path beats plain Pippenger (doublings are shared). */
const FIXED_MSM_MIN = 4;

/**
 * Multi-scalar multiplication Σ s_i·P_i (variable time in the scalars). Bases marked with
 * useFixedTable go through their precomputed tables when enough of them are present.
 */
export function msmVartime(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  assert(points.length === scalars.length, `msm: ${points.length} points but ${scalars.length} scalars`);
  if (points.length === 0) return G1Point.IDENTITY;
  countOp('g1Msms');
  countOp('g1MsmPoints', points.length);
  if (engine.g1MsmFixed !== null && points.length >= FIXED_MSM_MIN) {
    let k = 0;
    for (const p of points) if (G1Point.slotOf(p) >= 0) k++;
    if (k >= FIXED_MSM_MIN) {
      const slots = new Uint32Array(k);
      const fixedScalars: bigint[] = new Array(k);
      const rest: G1Point[] = [];
      const restScalars: bigint[] = [];
      let j = 0;
      for (let i = 0; i < points.length; i++) {
        const p = points[i]!;
        const slot = G1Point.slotOf(p);
        if (slot >= 0) {
          slots[j] = slot;
          fixedScalars[j++] = scalars[i]!;
        } else {
          rest.push(p);
          restScalars.push(scalars[i]!);
        }
      }
      return G1Point.wrap(engine.g1MsmFixed(slots, fixedScalars, rest.map(G1Point.handle), restScalars));
    }
  }
  return G1Point.wrap(engine.g1Msm(points.map(G1Point.handle), scalars));
}

// ---------------------------------------------------------------------------------------------
// G2

/** Immutable G2 point (credential public keys). */
export class G2Point {
  private constructor(private readonly h: unknown) {}

  static readonly BASE = new G2Point(engine.g2Generator());
  static readonly IDENTITY = new G2Point(engine.g2Identity());

  static fromBytes(bytes: Uint8Array, options: DecodePointOptions = {}): G2Point {
    if (!(bytes instanceof Uint8Array) || bytes.length !== G2_BYTES) {
      throw new CryptoDecodeError('LENGTH', `G2 point must be ${G2_BYTES} bytes, got ${bytes?.length}`);
    }
    countOp('pointDecodes');
    const r = engine.g2Decode(bytes, true);
    if (!r.ok) throw new CryptoDecodeError(r.code, `G2 ${DECODE_MESSAGES[r.code]}`);
    if (r.identity && !options.allowIdentity) throw new CryptoDecodeError('POINT_IS_IDENTITY', 'G2 point is the identity');
    return new G2Point(r.point);
  }

  /** @internal the engine handle, for pairings in this file. */
  static handle(p: G2Point): unknown {
    return p.h;
  }

  toBytes(): Uint8Array {
    return engine.g2Encode(this.h);
  }
  add(o: G2Point): G2Point {
    return new G2Point(engine.g2Add(this.h, o.h));
  }
  sub(o: G2Point): G2Point {
    return new G2Point(engine.g2Sub(this.h, o.h));
  }
  neg(): G2Point {
    return new G2Point(engine.g2Neg(this.h));
  }
  mul(s: bigint): G2Point {
    countOp('g2Mul');
    return new G2Point(engine.g2Mul(this.h, mod(s)));
  }
  equals(o: G2Point): boolean {
    return engine.g2Eq(this.h, o.h);
  }
  isIdentity(): boolean {
    return engine.g2IsIdentity(this.h);
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
  countOp('millerLoops', pairs.length);
  countOp('finalExps');
  return engine.pairingIsOne(pairs.map(([p, q]) => [G1Point.handle(p), G2Point.handle(q)] as const));
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
