// Nullifier and double-spend tag of one offline payment (DESIGN §3.2 items 2–3, §3.4), and the
// recovery of the device key K = k·g_K from two payments that reuse a counter.
//
// N = w·g_N(e) with w = 1/(k+n) is the Dodis–Yampolskiy PRF of the counter n under the device
// secret k: the same (k, n, e) always gives the same N (so a reused counter is caught by
// UNIQUE(epoch, N)), and different counters give unlinkable values. The tag
// T = k·g_K + w·(R·h_T(e)) is a line in R whose slope w·h_T(e) is fixed by the counter and the
// epoch: one point on it hides K, two points with different R reveal its intercept K. Both bases
// are per epoch because w only depends on k + n and counters restart every epoch: with a fixed
// h_T, counter n in epoch e and counter n in epoch e' would share a slope and name an honest payer. The proof of these relations is
// the lead's payment proof; this file only exposes the values and the linear relations
// (see notes/nullifier.md for the notation).

import { assert } from './assert.ts';
import { G1Point, R_ORDER, hashToScalar, msmVartime, scalarAdd, scalarInv, scalarMul, scalarNeg } from './group.ts';
import { gK, gN, hT } from './generators.ts';
import type { LinearRelation } from './sigma.ts';

/** Domain tag of R = H(ctx). */
export const PAYMENT_CONTEXT_DST = 'TALLY-V1/payment/context';

/** Where the caller keeps k, n and w in its witness vector. */
export interface NullifierWitnessIndex {
  readonly k: number;
  readonly n: number;
  readonly w: number;
}

/** Public values of one payment that the nullifier and tag relations speak about. */
export interface NullifierPublic {
  readonly epoch: bigint;
  readonly N: G1Point;
  readonly T: G1Point;
  readonly R: bigint;
}

/** One payment's tag and context scalar, as the ledger stores them next to N. */
export interface TaggedPayment {
  readonly T: G1Point;
  readonly R: bigint;
}

export type RecoveryResult = { ok: true; K: G1Point } | { ok: false; reason: 'SAME_CONTEXT' };

function isScalar(x: bigint): boolean {
  return x >= 0n && x < R_ORDER;
}

/** w = 1/(k+n) mod r, the nullifier exponent. k+n = 0 happens with probability 2^-255 per device. */
export function nullifierExponent(k: bigint, n: bigint): bigint {
  assert(isScalar(k) && n >= 0n, 'nullifierExponent: k must be a reduced scalar and n non-negative');
  const sum = scalarAdd(k, n);
  assert(sum !== 0n, 'nullifierExponent: k + n = 0 mod r has no inverse');
  const w = scalarInv(sum);
  assert(scalarMul(w, sum) === 1n, 'nullifierExponent: w·(k+n) ≠ 1');
  return w;
}

/** N = w·g_N(e), w = 1/(k+n): the same device, counter and epoch always give the same N. */
export function computeNullifier(k: bigint, n: bigint, epoch: bigint): G1Point {
  const N = gN(epoch).mul(nullifierExponent(k, n));
  assert(!N.isIdentity(), 'computeNullifier: N is the identity');
  return N;
}

/**
 * R = H(ctx) as a scalar, never zero. R = 0 would make T = K, naming the payer in one payment, so
 * on the (2^-255) chance the hash is zero we re-hash ctx with a one-byte retry counter appended.
 */
export function contextScalar(ctxBytes: Uint8Array): bigint {
  let R = hashToScalar(ctxBytes, PAYMENT_CONTEXT_DST);
  for (let retry = 1; R === 0n; retry++) {
    assert(retry < 256, 'contextScalar: hash is zero 255 times in a row');
    const msg = new Uint8Array(ctxBytes.length + 1);
    msg.set(ctxBytes);
    msg[ctxBytes.length] = retry;
    R = hashToScalar(msg, PAYMENT_CONTEXT_DST);
  }
  assert(R !== 0n && isScalar(R), 'contextScalar: R out of range');
  return R;
}

/** T = k·g_K + w·(R·h_T(e)), computed as one 2-point MSM with scalars (k, w·R). */
export function computeTag(k: bigint, w: bigint, R: bigint, epoch: bigint): G1Point {
  assert(isScalar(k) && isScalar(w) && w !== 0n, 'computeTag: k, w must be reduced scalars, w ≠ 0');
  assert(isScalar(R) && R !== 0n, 'computeTag: R must be a non-zero reduced scalar');
  return msmVartime([gK(), hT(epoch)], [k, scalarMul(w, R)]);
}

/**
 * The three linear relations of DESIGN §3.2 items 2–3, over the caller's witness indexes:
 *   nullifier:      N      = w·g_N(e)
 *   nullifier-key:  g_N(e) = k·N + n·N        (with the first, forces w·(k+n) = 1)
 *   tag:            T      = k·g_K + w·(R·h_T(e))
 * The tag term is written as [w, h_T(e), coefficient R]: the verifier folds R into its MSM scalar
 * instead of computing the point R·h_T(e), h_T(e) stays a shared base in a batch, and the transcript
 * absorbs R as the term's coefficient.
 */
export function nullifierRelations(pub: NullifierPublic, idx: NullifierWitnessIndex): LinearRelation[] {
  assert(isScalar(pub.R) && pub.R !== 0n, 'nullifierRelations: R must be a non-zero reduced scalar');
  assert(
    new Set([idx.k, idx.n, idx.w]).size === 3 && [idx.k, idx.n, idx.w].every((i) => Number.isSafeInteger(i) && i >= 0),
    'nullifierRelations: witness indexes must be distinct non-negative integers',
  );
  const gNe = gN(pub.epoch);
  return [
    { name: 'nullifier', image: pub.N, terms: [[idx.w, gNe]] },
    {
      name: 'nullifier-key',
      image: gNe,
      terms: [
        [idx.k, pub.N],
        [idx.n, pub.N],
      ],
    },
    {
      name: 'tag',
      image: pub.T,
      terms: [
        [idx.k, gK()],
        [idx.w, hT(pub.epoch), pub.R],
      ],
    },
  ];
}

/**
 * K = (R2·T1 − R1·T2) / (R2 − R1) from two payments with the same nullifier. With T_i = K + w·R_i·h_T(e)
 * the h_T(e) terms cancel because both share w and e (the same N means the same epoch and k + n). For two payments with different nullifiers (an honest
 * device) the result is a point nobody registered. Equal contexts give no second equation.
 */
export function recoverDeviceKey(pay1: TaggedPayment, pay2: TaggedPayment): RecoveryResult {
  assert(isScalar(pay1.R) && isScalar(pay2.R), 'recoverDeviceKey: R values must be reduced scalars');
  if (pay1.R === pay2.R) return { ok: false, reason: 'SAME_CONTEXT' };
  const inv = scalarInv(scalarAdd(pay2.R, scalarNeg(pay1.R)));
  const K = msmVartime([pay1.T, pay2.T], [scalarMul(pay2.R, inv), scalarNeg(scalarMul(pay1.R, inv))]);
  return { ok: true, K };
}
