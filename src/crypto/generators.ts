// Fixed generators of G1, each from RFC 9380 hash-to-curve (BLS12381G1_XMD:SHA-256_SSWU_RO_) with
// the domain tag `TALLY-V1/<purpose>/<index>` as DST and an empty message. Nobody knows a discrete
// log between any two of them. Each is computed once per process, on first use, and gets a
// fixed-base table (G1Point.useFixedTable) for the MSMs it enters.

import { G1Point } from './group.ts';

export const GENERATOR_TAG_PREFIX = 'TALLY-V1';

const cache = new Map<string, G1Point>();

export function generator(purpose: string, index: number | bigint = 0): G1Point {
  const tag = `${GENERATOR_TAG_PREFIX}/${purpose}/${index}`;
  let p = cache.get(tag);
  if (p === undefined) {
    p = G1Point.hashToCurve(new Uint8Array(0), tag).useFixedTable();
    cache.set(tag, p);
  }
  return p;
}

/** Pedersen value base `G`. */
export const pedersenG = (): G1Point => generator('G');
/** Pedersen blinding base `H`. */
export const pedersenH = (): G1Point => generator('H');
/** Device-key base `g_K`: a device's public key is K = k·g_K. */
export const gK = (): G1Point => generator('g_K');
/**
 * Double-spend tag base for an epoch, `h_T(e)`. Per epoch, like g_N(e): w = 1/(k+n) repeats whenever
 * a counter value comes back in a later epoch, and with one fixed base the two tags would share a
 * line whose intercept is K (notes/nullifier.md, "Why per-epoch bases").
 */
export const hT = (epoch: bigint): G1Point => generator('h_T', epoch);
/** Nullifier base for an epoch, `g_N(e)`. */
export const gN = (epoch: bigint): G1Point => generator('g_N', epoch);
/** Bulletproofs vector bases `G_i`, `H_i`. */
export const bulletproofG = (i: number): G1Point => generator('BP_G', i);
export const bulletproofH = (i: number): G1Point => generator('BP_H', i);
/** Bulletproofs inner-product base `U` (the base of ⟨l, r⟩ inside the IPA). */
export const bulletproofU = (): G1Point => generator('BP_U');
