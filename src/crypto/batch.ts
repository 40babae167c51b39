// Batch verification by random linear combination. Every Tally verifier reduces its checks to
// equations of two kinds: "Σ s_i·P_i is the identity" (MSM equations) and "Π e(P_j, Q_j) = 1"
// (pairing equations). A batch weights each equation by an independent random 128-bit scalar
// ρ and checks the sums: one MSM for all MSM equations and one multi-pairing for all pairing
// equations. A false equation survives with probability at most 2^-128 per check.
//
// The MSM check is h_eff·Σ = 0: a component outside the prime-order subgroup (possible only in
// proof elements decoded with deferSubgroupCheck) is ignored, and h_eff is invertible mod r, so
// the check on the prime-order parts is unchanged. Pairing inputs are always fully checked.
//
// Repeated bases (the Bulletproofs vector generators, Pedersen G and H, the pairing's G2 side)
// are merged before the MSM by object identity (generators are cached singletons) or, for G2, by
// encoding, so the MSM size grows only with what is new in each proof.
//
// Why this shape (the JavaScript around the engine, ~130 terms per payment): a scalar may be any
// bigint and stands for its residue mod r, so verifiers hand over unreduced sums and products and
// the merge accumulates ρ·s unreduced, reducing once per distinct base at the end instead of twice
// per term; the Bulletproofs vectors come as one MsmVectorTerm (a cached base array and its
// scalars) merged by position, with no lookup per base; and every weight of a check comes from one
// rng call.

import { assert } from './assert.ts';
import { G1Point, G2Point, bytesToBigintBE, msmVartime, pairingProductIsOne, mod } from './group.ts';
import { g2Bytes } from './point_bytes.ts';
import type { Rng } from './rng.ts';

/** [P, s]: s is any bigint, read mod r (unreduced and negative values are fine). */
export type MsmTerm = readonly [G1Point, bigint];
/** Σ scalar·point over the terms must be the identity. */
export type MsmEquation = MsmTerm[];
/**
 * Σ scalars[i]·bases[i] as one part of an MSM equation. `bases` should be a cached array (the
 * same object for every proof, e.g. vectorBases), which is what lets the merge go by position.
 */
export interface MsmVectorTerm {
  readonly bases: readonly G1Point[];
  readonly scalars: readonly bigint[];
}
/** An MSM equation whose terms are `terms` plus every vector term. */
export interface MsmEquationWithVectors {
  readonly terms: MsmEquation;
  readonly vectors: readonly MsmVectorTerm[];
}
/** Π e(P, Q) over the pairs must be 1 in GT. */
export type PairingEquation = Array<readonly [G1Point, G2Point]>;

/** Bits of each random weight; soundness error per batch is ~2^-WEIGHT_BITS. */
export const BATCH_WEIGHT_BITS = 128;

const WEIGHT_BYTES = BATCH_WEIGHT_BITS / 8;
/** Weights drawn per rng call (getRandomValues gives at most 65 536 bytes at once). */
const WEIGHTS_PER_DRAW = 4096;

function randomWeight(rng: Rng): bigint {
  for (;;) {
    const w = bytesToBigintBE(rng(WEIGHT_BYTES));
    if (w !== 0n) return w;
  }
}

/** `count` independent uniform non-zero weights of BATCH_WEIGHT_BITS bits. */
function randomWeights(rng: Rng, count: number): bigint[] {
  const out: bigint[] = new Array(count);
  for (let start = 0; start < count; start += WEIGHTS_PER_DRAW) {
    const n = Math.min(WEIGHTS_PER_DRAW, count - start);
    const bytes = rng(n * WEIGHT_BYTES);
    assert(bytes.length === n * WEIGHT_BYTES, 'randomWeights: rng returned a short buffer');
    for (let i = 0; i < n; i++) {
      const w = bytesToBigintBE(bytes.subarray(i * WEIGHT_BYTES, (i + 1) * WEIGHT_BYTES));
      out[start + i] = w !== 0n ? w : randomWeight(rng);
    }
  }
  return out;
}

/** The equation as plain terms (for callers that want one MSM of their own). */
export function flattenMsm(eq: MsmEquationWithVectors): MsmEquation {
  const out: MsmEquation = [...eq.terms];
  for (const v of eq.vectors) v.bases.forEach((b, i) => out.push([b, v.scalars[i]!]));
  return out;
}

export class EquationBatch {
  private readonly msm: MsmEquationWithVectors[] = [];
  private readonly pairing: PairingEquation[] = [];

  get size(): number {
    return this.msm.length + this.pairing.length;
  }

  addMsm(eq: MsmEquation, vectors: readonly MsmVectorTerm[] = []): this {
    for (const v of vectors) assert(v.bases.length === v.scalars.length, `addMsm: ${v.bases.length} bases but ${v.scalars.length} scalars`);
    this.msm.push({ terms: eq, vectors });
    return this;
  }

  addPairing(eq: PairingEquation): this {
    assert(eq.length > 0, 'addPairing: empty pairing equation');
    this.pairing.push(eq);
    return this;
  }

  /** Adds every equation of another batch (used to build a batch of whole proofs). */
  addAll(other: EquationBatch): this {
    this.msm.push(...other.msm);
    this.pairing.push(...other.pairing);
    return this;
  }

  /** True iff (with overwhelming probability) every equation holds. */
  check(rng: Rng): boolean {
    return this.checkMsm(rng) && this.checkPairing(rng);
  }

  private checkMsm(rng: Rng): boolean {
    if (this.msm.length === 0) return true;
    const merged = new Map<G1Point, bigint>();
    const byVector = new Map<readonly G1Point[], bigint[]>();
    const weights = this.msm.length === 1 ? [1n] : randomWeights(rng, this.msm.length);
    this.msm.forEach((eq, i) => {
      const rho = weights[i]!;
      for (const [p, s] of eq.terms) {
        const acc = merged.get(p);
        merged.set(p, acc === undefined ? rho * s : acc + rho * s);
      }
      for (const v of eq.vectors) {
        let acc = byVector.get(v.bases);
        if (acc === undefined) byVector.set(v.bases, (acc = new Array<bigint>(v.bases.length).fill(0n)));
        const s = v.scalars;
        for (let j = 0; j < s.length; j++) acc[j]! += rho * s[j]!;
      }
    });
    const points: G1Point[] = [];
    const scalars: bigint[] = [];
    const keep = (p: G1Point, sum: bigint) => {
      const s = mod(sum);
      if (s === 0n) return;
      points.push(p);
      scalars.push(s);
    };
    for (const [p, s] of merged) keep(p, s);
    for (const [bases, acc] of byVector) bases.forEach((b, j) => keep(b, acc[j]!));
    // Clearing the cofactor makes the check about the prime-order parts only, which is what lets
    // decoders defer subgroup checks of proof elements (DecodePointOptions.deferSubgroupCheck).
    return msmVartime(points, scalars).clearCofactor().isIdentity();
  }

  private checkPairing(rng: Rng): boolean {
    if (this.pairing.length === 0) return true;
    // Group by the G2 side: Π_j Π_i e(ρ_j·P_ji, Q_ji) = Π_Q e(Σ ρ_j·P_ji, Q).
    const byQ = new Map<string, { q: G2Point; points: G1Point[]; scalars: bigint[] }>();
    const weights = this.pairing.length === 1 ? [1n] : randomWeights(rng, this.pairing.length);
    for (const [i, eq] of this.pairing.entries()) {
      const rho = weights[i]!;
      for (const [p, q] of eq) {
        const key = g2Key(q);
        let slot = byQ.get(key);
        if (slot === undefined) {
          slot = { q, points: [], scalars: [] };
          byQ.set(key, slot);
        }
        slot.points.push(p);
        slot.scalars.push(rho);
      }
    }
    const pairs: Array<readonly [G1Point, G2Point]> = [];
    for (const { q, points, scalars } of byQ.values()) {
      const p = msmVartime(points, scalars);
      if (!p.isIdentity()) pairs.push([p, q]);
    }
    if (pairs.length === 0) return true;
    return pairingProductIsOne(pairs);
  }
}

const g2Keys = new WeakMap<G2Point, string>();
/** The G2 side's grouping key: its encoding, kept per point object (issuer keys repeat per proof). */
function g2Key(q: G2Point): string {
  let k = g2Keys.get(q);
  if (k === undefined) g2Keys.set(q, (k = Buffer.from(g2Bytes(q)).toString('hex')));
  return k;
}

/**
 * Verifies many independent items, each given as its own EquationBatch (null when the item was
 * malformed), with one combined check when all hold; on failure it bisects (fresh weights each
 * time) to name every failing index: about 2·log2(count) extra checks per bad item.
 */
export function verifyBatches(batches: ReadonlyArray<EquationBatch | null>, rng: Rng): { ok: boolean; failed: number[] } {
  const failed: number[] = [];
  const good: number[] = [];
  batches.forEach((b, i) => (b === null ? failed.push(i) : good.push(i)));
  const bisect = (idx: number[]): void => {
    if (idx.length === 0) return;
    const all = new EquationBatch();
    for (const i of idx) all.addAll(batches[i]!);
    if (all.check(rng)) return;
    if (idx.length === 1) {
      failed.push(idx[0]!);
      return;
    }
    const mid = idx.length >> 1;
    bisect(idx.slice(0, mid));
    bisect(idx.slice(mid));
  };
  bisect(good);
  failed.sort((x, y) => x - y);
  return { ok: failed.length === 0, failed };
}
