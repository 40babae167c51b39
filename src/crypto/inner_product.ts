// Inner-product argument (Bünz et al., Bulletproofs §3, protocols 1 and 2), the log-size core of
// the range proof. Statement, for vectors G, H of length N (a power of two), factors h_i, a base Q
// with factor q, and a point P:
//     P = <a, G> + Σ b_i·(h_i·H_i) + q·<a, b>·Q.
// The h_i let the range proof use H'_i = y^{-i}·H_i without ever computing H'_i as points.
//
// Why this shape:
// - Verifier: it never folds generators. After replaying the challenges u_j it returns one scalar
//   per ORIGINAL generator (the s-vector of §3.1: G_i gets −a·s_i, H_i gets −b·h_i/s_i), so the
//   caller can add its own scalars on the same G_i, H_i and an EquationBatch can merge many proofs
//   into one MSM over the shared generator objects.
// - Prover: folding G and H point by point costs one scalar multiplication (~0.4 ms here) per
//   element, while one more point in a large MSM costs ~0.15 ms. So the prover keeps each current
//   generator as a linear combination Σ coef_k·B_k of a "materialized" level of bases B (initially
//   the originals) and folds only the scalar coefficients; L_j and R_j are MSMs over B. Every
//   MATERIALIZE_SPAN levels it collapses the combinations into new bases with small MSMs, which
//   keeps later rounds short. See notes/range_proof.md ("IPA prover cost").

import { assert } from './assert.ts';
import { G1Point, msmVartime, mod, scalarInvBatch, scalarMul, R_ORDER } from './group.ts';
import type { Transcript } from './transcript.ts';

/** A term of an MSM equation (same shape as batch.ts's MsmTerm). */
export type IpaTerm = readonly [G1Point, bigint];

export interface InnerProductProof {
  /** L_j, R_j for rounds j = 0..log2(N)−1, in the order they were sent. */
  L: G1Point[];
  R: G1Point[];
  /** Final folded scalars. */
  a: bigint;
  b: bigint;
}

/** Largest vector the IPA accepts: 8 values × 64 bits. Bounds allocation and rounds. */
export const IPA_LENGTH_MAX = 512;
/**
 * Collapse generator combinations into fresh bases once each current generator spans this many
 * bases. 4 measured best for N = 128: 2 (fold every round) and 8 were both 10–40% slower.
 */
export const MATERIALIZE_SPAN = 4;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function log2Exact(n: number): number {
  assert(isPowerOfTwo(n), `log2Exact: ${n} is not a power of two`);
  return 31 - Math.clz32(n);
}

export function innerProduct(a: readonly bigint[], b: readonly bigint[]): bigint {
  assert(a.length === b.length, `innerProduct: lengths ${a.length} and ${b.length}`);
  let acc = 0n;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return mod(acc);
}

export interface IpaProverInput {
  transcript: Transcript;
  G: readonly G1Point[];
  H: readonly G1Point[];
  /** h_i: H_i enters the statement as h_i·H_i. */
  hFactors: readonly bigint[];
  Q: G1Point;
  /** q: Q enters the statement as q·Q. */
  qFactor: bigint;
  a: readonly bigint[];
  b: readonly bigint[];
  /**
   * L_0 and R_0 if the caller computed them more cheaply from the structure of a and b (the range
   * prover does with precomputed nonces). Must equal what the first round would compute.
   */
  firstRound?: { L: G1Point; R: G1Point } | undefined;
}

/** Current generators G^{(j)}_i = Σ_{k ≡ i (mod len)} coef[k]·bases[k]. */
interface LazyGenerators {
  bases: G1Point[];
  coef: bigint[];
}

/** Proves the statement above; appends L_j, R_j and draws u_j from the transcript. */
export function proveInnerProduct(input: IpaProverInput): InnerProductProof {
  const N = input.a.length;
  assert(isPowerOfTwo(N) && N <= IPA_LENGTH_MAX, `proveInnerProduct: bad length ${N}`);
  assert(
    input.b.length === N && input.G.length === N && input.H.length === N && input.hFactors.length === N,
    'proveInnerProduct: vector lengths differ',
  );
  let a = input.a.slice();
  let b = input.b.slice();
  const gens: LazyGenerators = { bases: input.G.slice(), coef: new Array<bigint>(N).fill(1n) };
  const hens: LazyGenerators = { bases: input.H.slice(), coef: input.hFactors.slice() };
  const L: G1Point[] = [];
  const R: G1Point[] = [];
  for (let n = N; n > 1; n >>= 1) {
    const half = n >> 1;
    const given = n === N ? input.firstRound : undefined;
    const Lj = given?.L ?? crossTerm(gens, hens, a, b, n, true, input);
    const Rj = given?.R ?? crossTerm(gens, hens, a, b, n, false, input);
    input.transcript.appendPoint('L', Lj).appendPoint('R', Rj);
    const u = input.transcript.challengeScalar('u');
    const [uInv] = scalarInvBatch([u]) as [bigint];
    const aNext: bigint[] = new Array(half);
    const bNext: bigint[] = new Array(half);
    for (let i = 0; i < half; i++) {
      aNext[i] = mod(a[i]! * u + a[i + half]! * uInv);
      bNext[i] = mod(b[i]! * uInv + b[i + half]! * u);
    }
    foldCoefficients(gens, n, uInv, u);
    foldCoefficients(hens, n, u, uInv);
    a = aNext;
    b = bNext;
    L.push(Lj);
    R.push(Rj);
    if (half > 1 && gens.bases.length / half >= MATERIALIZE_SPAN) {
      materialize(gens, half);
      materialize(hens, half);
    }
  }
  assert(a.length === 1 && b.length === 1, 'proveInnerProduct: folding did not end at length 1');
  return { L, R, a: a[0]!, b: b[0]! };
}

/**
 * L (lower = true) = <a_lo, G_hi> + <b_hi, H_lo> + q·<a_lo, b_hi>·Q, or
 * R (lower = false) = <a_hi, G_lo> + <b_lo, H_hi> + q·<a_hi, b_lo>·Q, as one MSM over the bases.
 */
function crossTerm(
  gens: LazyGenerators,
  hens: LazyGenerators,
  a: readonly bigint[],
  b: readonly bigint[],
  n: number,
  lower: boolean,
  input: IpaProverInput,
): G1Point {
  const half = n >> 1;
  const points: G1Point[] = [];
  const scalars: bigint[] = [];
  // G side: bases whose current index lies in G_hi (for L) or G_lo (for R).
  for (let k = 0; k < gens.bases.length; k++) {
    const i = k % n;
    if (i >= half === lower) {
      points.push(gens.bases[k]!);
      scalars.push(mod(a[lower ? i - half : i + half]! * gens.coef[k]!));
    }
  }
  for (let k = 0; k < hens.bases.length; k++) {
    const i = k % n;
    if (i < half === lower) {
      points.push(hens.bases[k]!);
      scalars.push(mod(b[lower ? i + half : i - half]! * hens.coef[k]!));
    }
  }
  const c = lower ? innerProduct(a.slice(0, half), b.slice(half)) : innerProduct(a.slice(half), b.slice(0, half));
  points.push(input.Q);
  scalars.push(scalarMul(c, input.qFactor));
  return msmVartime(points, scalars);
}

/** G' = loFactor·G_lo + hiFactor·G_hi, applied to the coefficients only. */
function foldCoefficients(g: LazyGenerators, n: number, loFactor: bigint, hiFactor: bigint): void {
  const half = n >> 1;
  for (let k = 0; k < g.coef.length; k++) {
    g.coef[k] = scalarMul(g.coef[k]!, k % n < half ? loFactor : hiFactor);
  }
}

/**
 * Collapses the bases to one per current generator (len of them). The new base i is
 * G^{(j)}_i / coef[i], so its first term has scalar 1 (which mcl's MSM gets almost for free) and
 * coef[i] stays as the new coefficient; the generator itself is unchanged.
 */
function materialize(g: LazyGenerators, len: number): void {
  const span = g.bases.length / len;
  assert(Number.isInteger(span) && span >= 2, `materialize: span ${span}`);
  const lead = g.coef.slice(0, len);
  const leadInv = scalarInvBatch(lead);
  const next: G1Point[] = new Array(len);
  for (let i = 0; i < len; i++) {
    const points: G1Point[] = new Array(span);
    const scalars: bigint[] = new Array(span);
    for (let t = 0; t < span; t++) {
      points[t] = g.bases[i + t * len]!;
      scalars[t] = t === 0 ? 1n : scalarMul(g.coef[i + t * len]!, leadInv[i]!);
    }
    next[i] = msmVartime(points, scalars);
  }
  g.bases = next;
  g.coef = lead;
}

export type IpaVerifierScalars =
  | {
      ok: true;
      /** Challenges u_j in round order. */
      challenges: bigint[];
      /** s_i: the final G is Σ s_i·G_i; the final H is Σ (1/s_i)·h_i·H_i. */
      s: bigint[];
      sInv: bigint[];
      /** u_j²·L_j and u_j^{-2}·R_j. */
      lrTerms: IpaTerm[];
      /** 1/x for each x of alsoInvert, in order. */
      inverses: bigint[];
    }
  | { ok: false; reason: string };

/**
 * Replays the transcript for a proof of length N and returns the verifier's scalars. The full
 * check is then P + Σ lrTerms − a·Σ s_i·G_i − b·Σ sInv_i·h_i·H_i − q·a·b·Q = 0.
 * Never throws on bad input: a malformed proof gives { ok: false }. `alsoInvert` are non-zero
 * scalars the caller needs inverted too (the range verifier's y): they share the one inversion of
 * the challenges (~40 µs each otherwise) and come back in `inverses`.
 */
export function innerProductVerifierScalars(
  transcript: Transcript,
  proof: InnerProductProof,
  N: number,
  alsoInvert: readonly bigint[] = [],
): IpaVerifierScalars {
  if (!isPowerOfTwo(N) || N > IPA_LENGTH_MAX) {
    return { ok: false, reason: `length ${N} is not a power of two ≤ ${IPA_LENGTH_MAX}` };
  }
  const rounds = log2Exact(N);
  if (!Array.isArray(proof.L) || !Array.isArray(proof.R) || proof.L.length !== rounds || proof.R.length !== rounds) {
    return { ok: false, reason: `expected ${rounds} L and R points` };
  }
  for (const P of [...proof.L, ...proof.R]) {
    if (!(P instanceof G1Point) || P.isIdentity()) return { ok: false, reason: 'an L or R point is missing or the identity' };
  }
  if (!isScalar(proof.a) || !isScalar(proof.b)) return { ok: false, reason: 'a or b is not a scalar below r' };
  const challenges: bigint[] = [];
  for (let j = 0; j < rounds; j++) {
    transcript.appendPoint('L', proof.L[j]!).appendPoint('R', proof.R[j]!);
    challenges.push(transcript.challengeScalar('u'));
  }
  const allInv = scalarInvBatch([...challenges, ...alsoInvert]);
  const inv = allInv.slice(0, rounds);
  const squares = challenges.map((u) => scalarMul(u, u));
  const lrTerms: IpaTerm[] = [];
  for (let j = 0; j < rounds; j++) {
    lrTerms.push([proof.L[j]!, squares[j]!]);
    lrTerms.push([proof.R[j]!, scalarMul(inv[j]!, inv[j]!)]);
  }
  const s = sVector(squares, inv, N);
  // Flipping every lo/hi choice inverts s_i, and the complement of i is N−1−i.
  const sInv = s.map((_, i) => s[N - 1 - i]!);
  return { ok: true, challenges, s, sInv, lrTerms, inverses: allInv.slice(rounds) };
}

/** s_i = Π_j (u_j if bit (rounds−1−j) of i is set, else 1/u_j): G_i's weight in the final G. */
function sVector(uSquares: readonly bigint[], uInv: readonly bigint[], N: number): bigint[] {
  const rounds = uSquares.length;
  const s: bigint[] = new Array(N);
  let s0 = 1n;
  for (const x of uInv) s0 = scalarMul(s0, x);
  s[0] = s0;
  for (let i = 1; i < N; i++) {
    const bit = 31 - Math.clz32(i); // highest set bit of i, decided in round rounds−1−bit
    s[i] = scalarMul(s[i - (1 << bit)]!, uSquares[rounds - 1 - bit]!);
  }
  return s;
}

function isScalar(x: unknown): x is bigint {
  return typeof x === 'bigint' && x >= 0n && x < R_ORDER;
}

export interface IpaStatement {
  P: G1Point;
  G: readonly G1Point[];
  H: readonly G1Point[];
  hFactors: readonly bigint[];
  Q: G1Point;
  qFactor: bigint;
}

/**
 * The whole IPA check as one MSM equation (Σ scalar·point = identity), for a standalone statement.
 * The range proof does not use this: it merges the scalars above with its own.
 */
export function innerProductEquation(
  transcript: Transcript,
  statement: IpaStatement,
  proof: InnerProductProof,
): { ok: true; equation: IpaTerm[] } | { ok: false; reason: string } {
  const N = statement.G.length;
  if (statement.H.length !== N || statement.hFactors.length !== N) return { ok: false, reason: 'generator lengths differ' };
  const v = innerProductVerifierScalars(transcript, proof, N);
  if (!v.ok) return v;
  const equation: IpaTerm[] = [[statement.P, 1n], ...v.lrTerms];
  for (let i = 0; i < N; i++) {
    equation.push([statement.G[i]!, mod(-proof.a * v.s[i]!)]);
    equation.push([statement.H[i]!, mod(-proof.b * v.sInv[i]! * statement.hFactors[i]!)]);
  }
  equation.push([statement.Q, mod(-proof.a * proof.b * statement.qFactor)]);
  return { ok: true, equation };
}
