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

import { assert } from './assert.ts';
import { G1Point, G2Point, bytesToBigintBE, msmVartime, pairingProductIsOne, scalarMul, mod } from './group.ts';
import type { Rng } from './rng.ts';

export type MsmTerm = readonly [G1Point, bigint];
/** Σ scalar·point over the terms must be the identity. */
export type MsmEquation = MsmTerm[];
/** Π e(P, Q) over the pairs must be 1 in GT. */
export type PairingEquation = Array<readonly [G1Point, G2Point]>;

/** Bits of each random weight; soundness error per batch is ~2^-WEIGHT_BITS. */
export const BATCH_WEIGHT_BITS = 128;

function randomWeight(rng: Rng): bigint {
  for (;;) {
    const w = bytesToBigintBE(rng(BATCH_WEIGHT_BITS / 8));
    if (w !== 0n) return w;
  }
}

export class EquationBatch {
  private readonly msm: MsmEquation[] = [];
  private readonly pairing: PairingEquation[] = [];

  get size(): number {
    return this.msm.length + this.pairing.length;
  }

  addMsm(eq: MsmEquation): this {
    this.msm.push(eq);
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
    const single = this.msm.length === 1;
    for (const eq of this.msm) {
      const rho = single ? 1n : randomWeight(rng);
      for (const [p, s] of eq) {
        merged.set(p, mod((merged.get(p) ?? 0n) + scalarMul(rho, s)));
      }
    }
    const points: G1Point[] = [];
    const scalars: bigint[] = [];
    for (const [p, s] of merged) {
      if (s === 0n) continue;
      points.push(p);
      scalars.push(s);
    }
    // Clearing the cofactor makes the check about the prime-order parts only, which is what lets
    // decoders defer subgroup checks of proof elements (DecodePointOptions.deferSubgroupCheck).
    return msmVartime(points, scalars).clearCofactor().isIdentity();
  }

  private checkPairing(rng: Rng): boolean {
    if (this.pairing.length === 0) return true;
    // Group by the G2 side: Π_j Π_i e(ρ_j·P_ji, Q_ji) = Π_Q e(Σ ρ_j·P_ji, Q).
    const byQ = new Map<string, { q: G2Point; points: G1Point[]; scalars: bigint[] }>();
    const single = this.pairing.length === 1;
    for (const eq of this.pairing) {
      const rho = single ? 1n : randomWeight(rng);
      for (const [p, q] of eq) {
        const key = Buffer.from(q.toBytes()).toString('hex');
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
