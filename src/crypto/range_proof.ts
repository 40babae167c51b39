// Aggregated Bulletproofs range proof over G1 (Bünz et al. §4.1–4.3, batch check §6.2): m values
// v_j, each committed as V_j = v_j·G + gamma_j·H, all lie in [0, 2^n). One proof of
// 4·48 + 3·32 + 2·log2(m·n)·48 + 2·32 bytes (1024 for 4 × 32 bits).
//
// Why this shape:
// - Notation follows notes/range_proof.md letter for letter (A, S, y, z, T1, T2, x, taux, mu,
//   tHat, L_j, R_j, a, b); indices are 0-based, so value j's block of r carries z^{2+j}.
// - The verifier never computes a point: it returns MSM equations (each must sum to the identity)
//   over the ORIGINAL G_i, H_i and the shared bases, so an EquationBatch weights them randomly
//   and merges many proofs (and the rest of a payment proof) into one MSM.
// - The prover builds A with additions only (a_L is a bit vector, a_R = a_L − 1) and hands the
//   IPA the factors y^{-i} instead of points H'_i = y^{-i}·H_i; see inner_product.ts for its cost.
// - Values are checked before proving (typed error), but soundness does not rely on that check:
//   a test proves for an out-of-range value with the check skipped and the proof fails.
// - Types, sizes and the error live in range_proof_types.ts, the byte codec in
//   range_proof_encoding.ts, the precomputable nonces in range_proof_nonces.ts; all re-exported here.

import { assert } from './assert.ts';
import { verifyBatches, EquationBatch, flattenMsm, type MsmEquation, type MsmEquationWithVectors } from './batch.ts';
import { G1Point, R_ORDER, mod, msmVartime, scalarInv, scalarMul } from './group.ts';
import { bulletproofU, pedersenG, pedersenH } from './generators.ts';
import { innerProduct, innerProductVerifierScalars, proveInnerProduct } from './inner_product.ts';
import { randomScalar, type Rng } from './rng.ts';
import type { Transcript } from './transcript.ts';
import { RANGE_PROOF_DOMAIN, RangeProofError, sizeProblem, type RangeBits, type RangeProof } from './range_proof_types.ts';

import { RangeProofNonces, firstRoundFromStructure, vectorBases } from './range_proof_nonces.ts';

export * from './range_proof_types.ts';
export { RangeProofNonces } from './range_proof_nonces.ts';
export { decodeRangeProof, encodeRangeProof } from './range_proof_encoding.ts';

export type RangeProofRejectCode = 'SIZE' | 'SHAPE' | 'IPA';
export type RangeEquationsResult =
  | { ok: true; equations: MsmEquation[] }
  | { ok: false; reason: RangeProofRejectCode; message: string };
export type RangeBatchEquationsResult =
  | { ok: true; equations: MsmEquationWithVectors[] }
  | { ok: false; reason: RangeProofRejectCode; message: string };

const utf8 = new TextEncoder();

/** Absorbs the domain tag, m, n and every V_j: the statement, before any prover message. */
function bindStatement(transcript: Transcript, m: number, n: number, V: readonly G1Point[]): void {
  transcript.appendBytes('domain', utf8.encode(RANGE_PROOF_DOMAIN));
  transcript.appendU64('m', m).appendU64('n', n).appendPoints('V', V);
}

/** 1, x, x², …, x^{len−1}. */
function powers(x: bigint, len: number): bigint[] {
  const out: bigint[] = new Array(len);
  let acc = 1n;
  for (let i = 0; i < len; i++) {
    out[i] = acc;
    acc = scalarMul(acc, x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Prover

export interface ProveRangeInput {
  /** Already bound to the caller's context; the range proof appends after that. */
  transcript: Transcript;
  values: readonly bigint[];
  blindings: readonly bigint[];
  bits: RangeBits;
  rng: Rng;
  /**
   * Optional RangeProofNonces.precompute() output, made while the device is idle: takes S and
   * half of the first IPA round off the online path (~25% of proving).
   */
  nonces?: RangeProofNonces;
}

export interface ProveRangeOutput {
  proof: RangeProof;
  commitments: G1Point[];
}

/** Proves every values[j] ∈ [0, 2^bits). Throws RangeProofError on bad input. */
export function proveRange(input: ProveRangeInput): ProveRangeOutput {
  const problem = sizeProblem(input.values.length, input.bits);
  if (problem !== undefined) throw new RangeProofError('SIZE', `Cannot prove range: ${problem}`);
  if (input.blindings.length !== input.values.length) {
    throw new RangeProofError(
      'BAD_INPUT',
      `Cannot prove range: ${input.values.length} values but ${input.blindings.length} blindings`,
    );
  }
  const bound = 1n << BigInt(input.bits);
  input.values.forEach((v, j) => {
    if (typeof v !== 'bigint' || v < 0n || v >= bound) {
      throw new RangeProofError('VALUE_OUT_OF_RANGE', `Cannot prove range: value ${j} is not in [0, 2^${input.bits})`);
    }
  });
  input.blindings.forEach((g, j) => {
    if (typeof g !== 'bigint' || g < 0n || g >= R_ORDER) {
      throw new RangeProofError('BAD_INPUT', `Cannot prove range: blinding ${j} is not a scalar below r`);
    }
  });
  return proveRangeSkippingValueCheck(input);
}

/**
 * @internal The prover without the range check: it proves the bits of v mod 2^n while committing
 * to v itself. Exists so tests can show the VERIFIER rejects out-of-range values. Never export
 * from an index.
 */
export function proveRangeSkippingValueCheck(input: ProveRangeInput): ProveRangeOutput {
  const { transcript, values, blindings, rng } = input;
  const m = values.length;
  const n = input.bits;
  const N = m * n;
  const G = pedersenG();
  const H = pedersenH();
  const { Gs, Hs } = vectorBases(N);
  // Taken first, so a refused nonce object leaves the caller's transcript untouched.
  const { sL, sR, rho, S, cross } = (input.nonces ?? RangeProofNonces.inline(m, input.bits, rng)).take(m, n);
  const commitments = values.map((v, j) => G.mul(mod(v)).add(H.mul(blindings[j]!)));
  bindStatement(transcript, m, n, commitments);

  const aL = bitVector(values, n);
  const alpha = randomScalar(rng);
  // A = alpha·H + <a_L, G> + <a_R, H> with a_R = a_L − 1: one addition per bit.
  let A = H.mul(alpha);
  for (let i = 0; i < N; i++) A = aL[i] === 1n ? A.add(Gs[i]!) : A.sub(Hs[i]!);
  transcript.appendPoint('A', A).appendPoint('S', S);
  const y = transcript.challengeScalar('y');
  const z = transcript.challengeScalar('z');

  const poly = polynomials(aL, sL, sR, y, z, m, n);
  const tau1 = randomScalar(rng);
  const tau2 = randomScalar(rng);
  const T1 = msmVartime([G, H], [poly.t1, tau1]);
  const T2 = msmVartime([G, H], [poly.t2, tau2]);
  transcript.appendPoint('T1', T1).appendPoint('T2', T2);
  const x = transcript.challengeScalar('x');

  const zPowers = powers(z, m + 2);
  let taux = mod(tau2 * x * x + tau1 * x);
  for (let j = 0; j < m; j++) taux = mod(taux + zPowers[j + 2]! * blindings[j]!);
  const mu = mod(alpha + rho * x);
  const l = poly.l0.map((l0i, i) => mod(l0i + sL[i]! * x));
  const r = poly.r0.map((r0i, i) => mod(r0i + poly.r1[i]! * x));
  const tHat = innerProduct(l, r);
  transcript.appendScalar('taux', taux).appendScalar('mu', mu).appendScalar('tHat', tHat);
  const w = transcript.challengeScalar('w');

  const yInvPowers = powers(scalarInv(y), N);
  const firstRound =
    cross === undefined
      ? undefined
      : firstRoundFromStructure({ aL, cross, z, x, w, n, yPowers: poly.yPowers, yInvPowers, zPowers, l, r });
  const Q = bulletproofU();
  const ipa = proveInnerProduct({ transcript, G: Gs, H: Hs, hFactors: yInvPowers, Q, qFactor: w, a: l, b: r, firstRound });
  return { proof: { A, S, T1, T2, taux, mu, tHat, ipa }, commitments };
}

/** a_L: value j's n low bits, least significant first, at positions j·n … j·n + n − 1. */
function bitVector(values: readonly bigint[], n: number): bigint[] {
  const out: bigint[] = [];
  for (const v of values) {
    const w = mod(v);
    for (let i = 0; i < n; i++) out.push((w >> BigInt(i)) & 1n);
  }
  assert(out.length === values.length * n, 'bitVector: wrong length');
  return out;
}

/**
 * l(X) = (a_L − z·1) + s_L·X and r(X) = y^N ∘ (a_R + z·1 + s_R·X) + Σ_j z^{2+j}·2^n in block j;
 * returns l0, r0, r1 and t1 = <l0, r1> + <s_L, r0>, t2 = <s_L, r1>.
 */
function polynomials(aL: bigint[], sL: bigint[], sR: bigint[], y: bigint, z: bigint, m: number, n: number) {
  const N = m * n;
  const yPowers = powers(y, N);
  const zPowers = powers(z, m + 2);
  const l0: bigint[] = new Array(N);
  const r0: bigint[] = new Array(N);
  const r1: bigint[] = new Array(N);
  for (let j = 0; j < m; j++) {
    let two = 1n;
    for (let i = 0; i < n; i++) {
      const k = j * n + i;
      l0[k] = mod(aL[k]! - z);
      r0[k] = mod(yPowers[k]! * (aL[k]! - 1n + z) + zPowers[j + 2]! * two);
      r1[k] = scalarMul(yPowers[k]!, sR[k]!);
      two <<= 1n;
    }
  }
  const t1 = mod(innerProduct(l0, r1) + innerProduct(sL, r0));
  const t2 = innerProduct(sL, r1);
  return { l0, r0, r1, t1, t2, yPowers };
}

// ---------------------------------------------------------------------------------------------
// Verifier

export interface RangeVerifyInput {
  transcript: Transcript;
  proof: RangeProof;
  commitments: readonly G1Point[];
  bits: number;
}

function isScalar(x: unknown): x is bigint {
  return typeof x === 'bigint' && x >= 0n && x < R_ORDER;
}

function shapeProblem(input: RangeVerifyInput): string | undefined {
  const p = input.proof;
  if (typeof p !== 'object' || p === null || typeof p.ipa !== 'object' || p.ipa === null) return 'proof is not an object';
  for (const [name, P] of [['A', p.A], ['S', p.S], ['T1', p.T1], ['T2', p.T2]] as const) {
    if (!(P instanceof G1Point) || P.isIdentity()) return `${name} is missing or the identity`;
  }
  for (const [name, s] of [['taux', p.taux], ['mu', p.mu], ['tHat', p.tHat]] as const) {
    if (!isScalar(s)) return `${name} is not a scalar below r`;
  }
  if (!input.commitments.every((V) => V instanceof G1Point)) return 'a commitment is not a G1 point';
  return undefined;
}

/**
 * Replays the transcript and returns two MSM equations, each of which sums to the identity iff
 * the proof is valid: the t-check (tHat = t(x), binding the V_j) and the IPA check. They must be
 * combined with independent random weights (EquationBatch does). Never throws on bad input.
 */
export function rangeProofEquations(input: RangeVerifyInput): RangeEquationsResult {
  const r = rangeProofBatchEquations(input);
  return r.ok ? { ok: true, equations: r.equations.map(flattenMsm) } : r;
}

/**
 * The same two equations in the batch's form: scalars unreduced (batch.ts reads them mod r) and
 * the IPA check's G_i and H_i scalars as vector terms over the cached vectorBases arrays, so a
 * batch merges them by position.
 */
export function rangeProofBatchEquations(input: RangeVerifyInput): RangeBatchEquationsResult {
  if (!Array.isArray(input.commitments)) return { ok: false, reason: 'SHAPE', message: 'commitments is not an array' };
  const m = input.commitments.length;
  const n = input.bits;
  const size = sizeProblem(m, n);
  if (size !== undefined) return { ok: false, reason: 'SIZE', message: size };
  const shape = shapeProblem(input);
  if (shape !== undefined) return { ok: false, reason: 'SHAPE', message: shape };
  const { transcript, proof, commitments } = input;
  const N = m * n;
  bindStatement(transcript, m, n, commitments);
  transcript.appendPoint('A', proof.A).appendPoint('S', proof.S);
  const y = transcript.challengeScalar('y');
  const z = transcript.challengeScalar('z');
  transcript.appendPoint('T1', proof.T1).appendPoint('T2', proof.T2);
  const x = transcript.challengeScalar('x');
  transcript.appendScalar('taux', proof.taux).appendScalar('mu', proof.mu).appendScalar('tHat', proof.tHat);
  const w = transcript.challengeScalar('w');
  const ipa = innerProductVerifierScalars(transcript, proof.ipa, N, [y]);
  if (!ipa.ok) return { ok: false, reason: 'IPA', message: ipa.reason };

  const zPowers = powers(z, m + 3);
  // t-check: Σ z^{2+j}·V_j + (delta − tHat)·G + x·T1 + x²·T2 − taux·H = 0, with
  // delta = (z − z²)·Σ y^i − Σ_j z^{3+j}·<1^n, 2^n>.
  let sumY = 0n;
  for (const yi of powers(y, N)) sumY += yi;
  let delta = (z - zPowers[2]!) * sumY;
  const ones = (1n << BigInt(n)) - 1n; // <1^n, 2^n>
  for (let j = 0; j < m; j++) delta -= zPowers[j + 3]! * ones;
  const tCheck: MsmEquation = commitments.map((V, j) => [V, zPowers[j + 2]!] as const);
  tCheck.push([pedersenG(), delta - proof.tHat], [proof.T1, x], [proof.T2, x * x], [pedersenH(), -proof.taux]);

  const ipaCheck = ipaEquation(proof, { x, z, w, m, n, zPowers, yInvPowers: powers(ipa.inverses[0]!, N) }, ipa);
  assert(tCheck.length === m + 4, 'rangeProofEquations: t-check has the wrong number of terms');
  return { ok: true, equations: [{ terms: tCheck, vectors: [] }, ipaCheck] };
}

/**
 * A + x·S − z·<1, G> + Σ_i (z + z^{2+j}·2^{i mod n}·y^{-i})·H_i − mu·H + w·tHat·U  (= P + tHat·w·U)
 * + Σ (u_j²·L_j + u_j^{-2}·R_j) − a·Σ s_i·G_i − b·Σ s_i^{-1}·y^{-i}·H_i − w·a·b·U = 0.
 */
function ipaEquation(
  proof: RangeProof,
  c: { x: bigint; z: bigint; w: bigint; m: number; n: number; zPowers: bigint[]; yInvPowers: bigint[] },
  ipa: { s: bigint[]; sInv: bigint[]; lrTerms: ReadonlyArray<readonly [G1Point, bigint]> },
): MsmEquationWithVectors {
  const { a, b } = proof.ipa;
  const N = c.m * c.n;
  const { Gs, Hs } = vectorBases(N);
  const terms: MsmEquation = [
    [proof.A, 1n],
    [proof.S, c.x],
    [pedersenH(), -proof.mu],
    [bulletproofU(), c.w * (proof.tHat - a * b)],
    ...ipa.lrTerms,
  ];
  const gScalars: bigint[] = new Array(N);
  const hScalars: bigint[] = new Array(N);
  for (let j = 0; j < c.m; j++) {
    const zj = c.zPowers[j + 2]!;
    let two = 1n;
    for (let i = 0; i < c.n; i++) {
      const k = j * c.n + i;
      gScalars[k] = -c.z - a * ipa.s[k]!;
      hScalars[k] = c.z + (zj * two - b * ipa.sInv[k]!) * c.yInvPowers[k]!;
      two <<= 1n;
    }
  }
  return { terms, vectors: [{ bases: Gs, scalars: gScalars }, { bases: Hs, scalars: hScalars }] };
}

/** Verifies one proof with one MSM. Never throws on bad input. */
export function verifyRange(input: RangeVerifyInput & { rng: Rng }): boolean {
  const r = rangeProofBatchEquations(input);
  if (!r.ok) return false;
  const batch = new EquationBatch();
  for (const eq of r.equations) batch.addMsm(eq.terms, eq.vectors);
  return batch.check(input.rng);
}

/**
 * Checks many proofs with one MSM. On failure, bisects (fresh weights each time) to name every
 * failing index: ~2·log2(count) extra MSMs per bad proof, none when all are good.
 */
export function verifyRangeBatch(items: readonly RangeVerifyInput[], rng: Rng): { ok: boolean; failed: number[] } {
  const batches = items.map((item) => {
    const r = rangeProofBatchEquations(item);
    if (!r.ok) return null;
    const batch = new EquationBatch();
    for (const eq of r.equations) batch.addMsm(eq.terms, eq.vectors);
    return batch;
  });
  return verifyBatches(batches, rng);
}
