// Shared vocabulary of the range proof: the proof type, its supported sizes, its encoded size and
// its typed error. A file of its own so that the prover/verifier (range_proof.ts) and the codec
// (range_proof_encoding.ts) both depend on it without depending on each other.

import { assert } from './assert.ts';
import { G1_BYTES, SCALAR_BYTES, type G1Point } from './group.ts';
import { log2Exact, type InnerProductProof } from './inner_product.ts';

/** Number of values one proof may aggregate. More would grow the generator set and MSMs. */
export const RANGE_PROOF_VALUE_COUNTS: readonly number[] = [1, 2, 4, 8];
/** Bit lengths n a proof may cover. */
export const RANGE_PROOF_BITS: readonly number[] = [8, 16, 32, 64];
/** Domain tag absorbed before the statement, so the proof cannot be confused with another. */
export const RANGE_PROOF_DOMAIN = 'TALLY-V1/range_proof';

export type RangeBits = 8 | 16 | 32 | 64;

/** Encoded size: A, S, T1, T2; taux, mu, tHat; log2(m·n) pairs L_j, R_j; a, b. */
export function rangeProofBytes(m: number, bits: number): number {
  return (4 + 2 * log2Exact(m * bits)) * G1_BYTES + 5 * SCALAR_BYTES;
}
/** Largest encoded proof (8 × 64 bits), the bound a decoder checks before reading. */
export const RANGE_PROOF_BYTES_MAX = rangeProofBytes(8, 64);
assert(rangeProofBytes(4, 32) === 1024, 'range proof for 4 × 32 bits must be 1024 bytes');

export interface RangeProof {
  A: G1Point;
  S: G1Point;
  T1: G1Point;
  T2: G1Point;
  taux: bigint;
  mu: bigint;
  tHat: bigint;
  ipa: InnerProductProof;
}

export type RangeProofErrorCode =
  | 'SIZE'
  | 'VALUE_OUT_OF_RANGE'
  | 'BAD_INPUT'
  | 'NONCES_REUSED'
  | 'LENGTH'
  | 'POINT'
  | 'SCALAR';

/** Typed error for bad prover input and undecodable proof bytes. */
export class RangeProofError extends Error {
  constructor(
    readonly code: RangeProofErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RangeProofError';
  }
}

/** @internal Why (m, bits) is not a supported size, or undefined. */
export function sizeProblem(m: number, bits: number): string | undefined {
  if (!RANGE_PROOF_VALUE_COUNTS.includes(m)) return `expected 1, 2, 4 or 8 values, got ${m}`;
  if (!RANGE_PROOF_BITS.includes(bits)) return `expected 8, 16, 32 or 64 bits, got ${bits}`;
  return undefined;
}
