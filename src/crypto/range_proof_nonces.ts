// The range prover's value-independent randomness and what can be computed from it ahead of time.
//
// Why this file: s_L, s_R and rho do not depend on the values, so a device can compute
// S = rho·H + <s_L, G> + <s_R, H> while idle. Because l = a_L − z·1 + x·s_L and
// r∘y^{-N} = a_R + z·1 + x·s_R + e(y, z) are affine in s_L, s_R, the first IPA round's L_0, R_0
// also split into parts known ahead of time (the "cross terms" <s_L,lo, G_hi>, <s_R,hi, H_lo>,
// <s_L,hi, G_lo>, <s_R,lo, H_hi>), sums of fixed bases, point additions selected by the bits
// a_L, and one MSM over half the H_i with the challenge-dependent e. That shrinks the online
// L_0, R_0 MSMs from N + 1 points to N/2 + 7. Computing the cross terms costs 2N MSM points, so
// the prover only uses them when the caller precomputed the nonces (see notes/range_proof.md).

import { assert } from './assert.ts';
import { G1Point, bytesToBigintBE, mod, msmVartime, scalarMul } from './group.ts';
import { bulletproofG, bulletproofH, bulletproofU, pedersenH } from './generators.ts';
import { innerProduct } from './inner_product.ts';
import { randomScalar, type Rng } from './rng.ts';
import { RangeProofError, sizeProblem, type RangeBits } from './range_proof_types.ts';

/** Vector lengths whose base arrays are kept (m·n for every payment width, and a few more). */
const VECTOR_BASES_CACHED_MAX = 16;
const vectorBasesCache = new Map<number, { Gs: readonly G1Point[]; Hs: readonly G1Point[] }>();

/**
 * G_0 … G_{N−1} and H_0 … H_{N−1}, the same frozen arrays for every call with the same N: the batch
 * verifier merges a proof's vector scalars by position into the arrays it has seen (batch.ts).
 */
export function vectorBases(N: number): { Gs: readonly G1Point[]; Hs: readonly G1Point[] } {
  let bases = vectorBasesCache.get(N);
  if (bases === undefined) {
    bases = {
      Gs: Object.freeze(Array.from({ length: N }, (_, i) => bulletproofG(i))),
      Hs: Object.freeze(Array.from({ length: N }, (_, i) => bulletproofH(i))),
    };
    if (vectorBasesCache.size >= VECTOR_BASES_CACHED_MAX) vectorBasesCache.clear();
    vectorBasesCache.set(N, bases);
  }
  return bases;
}

/** count uniform non-zero scalars from one rng call (48 bytes each, bias < 2^-128). */
function randomScalars(count: number, rng: Rng): bigint[] {
  // ≤ 48·1025 bytes for 8 × 64 bits: below getRandomValues' 65 536-byte limit.
  assert(48 * count <= 65536, `randomScalars: ${count} scalars exceed one rng call`);
  const bytes = rng(48 * count);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const x = mod(bytesToBigintBE(bytes.subarray(48 * i, 48 * i + 48)));
    out.push(x === 0n ? randomScalar(rng) : x);
  }
  return out;
}

/** XL = <s_L,lo, G_hi>, YL = <s_R,hi, H_lo>, XR = <s_L,hi, G_lo>, YR = <s_R,lo, H_hi>. */
export interface CrossTerms {
  XL: G1Point;
  YL: G1Point;
  XR: G1Point;
  YR: G1Point;
}

export interface TakenNonces {
  sL: bigint[];
  sR: bigint[];
  rho: bigint;
  S: G1Point;
  cross?: CrossTerms;
}

/**
 * s_L, s_R, rho and S (plus, when precomputed, the first-round cross terms). Single use: a second
 * take() throws, since two proofs with the same s_L, s_R reveal a_L.
 */
export class RangeProofNonces {
  private used = false;
  private constructor(
    private readonly m: number,
    private readonly n: number,
    private readonly secrets: TakenNonces,
  ) {}

  /** Ahead-of-time nonces: S and the cross terms (~4N MSM points of work, none of it online). */
  static precompute(m: number, bits: RangeBits, rng: Rng): RangeProofNonces {
    return RangeProofNonces.create(m, bits, rng, true);
  }

  /** @internal Nonces made during proving: S only (the cross terms would cost more than they save). */
  static inline(m: number, bits: RangeBits, rng: Rng): RangeProofNonces {
    return RangeProofNonces.create(m, bits, rng, false);
  }

  private static create(m: number, bits: RangeBits, rng: Rng, withCross: boolean): RangeProofNonces {
    const problem = sizeProblem(m, bits);
    if (problem !== undefined) throw new RangeProofError('SIZE', `Cannot make range proof nonces: ${problem}`);
    const N = m * bits;
    const h = N / 2;
    const scalars = randomScalars(2 * N + 1, rng);
    const sL = scalars.slice(0, N);
    const sR = scalars.slice(N, 2 * N);
    const rho = scalars[2 * N]!;
    const { Gs, Hs } = vectorBases(N);
    const S = msmVartime([pedersenH(), ...Gs, ...Hs], [rho, ...sL, ...sR]);
    const cross = withCross
      ? {
          XL: msmVartime(Gs.slice(h), sL.slice(0, h)),
          YL: msmVartime(Hs.slice(0, h), sR.slice(h)),
          XR: msmVartime(Gs.slice(0, h), sL.slice(h)),
          YR: msmVartime(Hs.slice(h), sR.slice(0, h)),
        }
      : undefined;
    return new RangeProofNonces(m, bits, cross ? { sL, sR, rho, S, cross } : { sL, sR, rho, S });
  }

  /** @internal Hands the nonces to the prover exactly once. */
  take(m: number, n: number): TakenNonces {
    if (this.used) throw new RangeProofError('NONCES_REUSED', 'Cannot prove range: these nonces were already used');
    if (m !== this.m || n !== this.n) {
      throw new RangeProofError('BAD_INPUT', `Cannot prove range: nonces are for ${this.m} x ${this.n} bits, not ${m} x ${n}`);
    }
    this.used = true;
    return this.secrets;
  }
}

const halfSumsCache = new Map<number, { GLo: G1Point; GHi: G1Point; HLo: G1Point; HHi: G1Point }>();

/** Σ G_lo, Σ G_hi, Σ H_lo, Σ H_hi for length N: fixed points, computed once per N. */
function halfSums(N: number) {
  let sums = halfSumsCache.get(N);
  if (sums === undefined) {
    const { Gs, Hs } = vectorBases(N);
    const sum = (ps: readonly G1Point[]) => ps.reduce((acc, p) => acc.add(p), G1Point.IDENTITY);
    sums = { GLo: sum(Gs.slice(0, N / 2)), GHi: sum(Gs.slice(N / 2)), HLo: sum(Hs.slice(0, N / 2)), HHi: sum(Hs.slice(N / 2)) };
    halfSumsCache.set(N, sums);
  }
  return sums;
}

export interface FirstRoundInput {
  aL: readonly bigint[];
  cross: CrossTerms;
  z: bigint;
  x: bigint;
  w: bigint;
  n: number;
  /** y^i and y^{-i} for i < N, z^i for i < m + 2. */
  yPowers: readonly bigint[];
  yInvPowers: readonly bigint[];
  zPowers: readonly bigint[];
  /** The IPA's input vectors, for the U terms only. */
  l: readonly bigint[];
  r: readonly bigint[];
}

/**
 * L_0 = <l_lo, G_hi> + y^h·Σ_{i<h} (b∘h)_{i+h}·H_i + w·<l_lo, r_hi>·U and
 * R_0 = <l_hi, G_lo> + y^{-h}·Σ_{i<h} (b∘h)_i·H_{i+h} + w·<l_hi, r_lo>·U, with h = N/2,
 * (b∘h)_k = a_R,k + z + x·s_R,k + e_k and e_k = z^{2+j(k)}·2^{k mod n}·y^{-k}: exactly what the
 * IPA's first round computes, from the pieces above.
 */
export function firstRoundFromStructure(p: FirstRoundInput): { L: G1Point; R: G1Point } {
  const N = p.aL.length;
  const h = N / 2;
  assert(p.l.length === N && p.r.length === N && p.yInvPowers.length === N, 'firstRoundFromStructure: lengths differ');
  const { Gs, Hs } = vectorBases(N);
  const sums = halfSums(N);
  // Bit parts: <a_L,lo, G_hi>, <a_R,hi, H_lo>, <a_L,hi, G_lo>, <a_R,lo, H_hi> with a_R = a_L − 1.
  let bitsGHi = G1Point.IDENTITY;
  let bitsHLo = G1Point.IDENTITY;
  let bitsGLo = G1Point.IDENTITY;
  let bitsHHi = G1Point.IDENTITY;
  for (let i = 0; i < h; i++) {
    if (p.aL[i] === 1n) bitsGHi = bitsGHi.add(Gs[i + h]!);
    else bitsHHi = bitsHHi.sub(Hs[i + h]!);
    if (p.aL[i + h] === 1n) bitsGLo = bitsGLo.add(Gs[i]!);
    else bitsHLo = bitsHLo.sub(Hs[i]!);
  }
  const e = (k: number): bigint =>
    mod(p.zPowers[2 + Math.floor(k / p.n)]! * (1n << BigInt(k % p.n)) * p.yInvPowers[k]!);
  const yh = p.yPowers[h]!;
  const yhInv = p.yInvPowers[h]!;
  const U = bulletproofU();
  const cL = scalarMul(p.w, innerProduct(p.l.slice(0, h), p.r.slice(h)));
  const cR = scalarMul(p.w, innerProduct(p.l.slice(h), p.r.slice(0, h)));
  const negZ = mod(-p.z);
  const eHi = Array.from({ length: h }, (_, i) => scalarMul(yh, e(i + h))); // on H_i, i < h
  const eLo = Array.from({ length: h }, (_, i) => scalarMul(yhInv, e(i))); // on H_{i+h}
  const L = msmVartime(
    [bitsGHi, sums.GHi, p.cross.XL, bitsHLo, sums.HLo, p.cross.YL, U, ...Hs.slice(0, h)],
    [1n, negZ, p.x, yh, scalarMul(yh, p.z), scalarMul(yh, p.x), cL, ...eHi],
  );
  const R = msmVartime(
    [bitsGLo, sums.GLo, p.cross.XR, bitsHHi, sums.HHi, p.cross.YR, U, ...Hs.slice(h)],
    [1n, negZ, p.x, yhInv, scalarMul(yhInv, p.z), scalarMul(yhInv, p.x), cR, ...eLo],
  );
  return { L, R };
}
