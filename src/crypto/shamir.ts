// Shamir secret sharing of one scalar over Z_r, k-of-n. The regulator's escrow key is dealt with it
// (escrow.ts), and the same Lagrange coefficients combine partial decryptions "in the exponent".
//
// A secret x is the constant term of a random polynomial f of degree k−1; holder i (1 ≤ i ≤ n)
// gets f(i). Any k shares fix f and so f(0) = x; any k−1 shares are consistent with every x, so
// they say nothing about it. Share indexes are small integers (a holder number fits in one byte
// on the wire), and index 0 is never handed out because f(0) is the secret itself.

import { assert } from './assert.ts';
import { mod, scalarInvBatch, scalarMul, scalarSub, scalarAdd, R_ORDER } from './group.ts';
import { randomScalar, type Rng } from './rng.ts';

/** Most holders one secret may be split among: indexes fit in one byte; above that, k·n gets slow. */
export const SHAMIR_HOLDERS_MAX = 255;

export type ShamirErrorCode = 'THRESHOLD_RANGE' | 'INDEX_RANGE' | 'INDEX_DUPLICATE' | 'NO_SHARES';

/** Typed error for parameters or share sets that cannot be used (never for a broken invariant). */
export class ShamirError extends Error {
  constructor(
    readonly code: ShamirErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ShamirError';
  }
}

export interface ShamirShare {
  /** Holder number, 1..n: the point at which the polynomial was evaluated. */
  readonly index: number;
  /** f(index) mod r. */
  readonly value: bigint;
}

function checkThreshold(threshold: number, holders: number): void {
  const ok =
    Number.isSafeInteger(threshold) &&
    Number.isSafeInteger(holders) &&
    threshold >= 1 &&
    threshold <= holders &&
    holders <= SHAMIR_HOLDERS_MAX;
  if (!ok) {
    throw new ShamirError(
      'THRESHOLD_RANGE',
      `Cannot split a secret: need 1 ≤ threshold ≤ holders ≤ ${SHAMIR_HOLDERS_MAX}, ` +
        `got threshold ${threshold} of ${holders} holders`,
    );
  }
}

/** Horner evaluation of Σ coefficients[j]·x^j mod r. */
function evaluatePolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let j = coefficients.length - 1; j >= 0; j--) acc = scalarAdd(scalarMul(acc, x), coefficients[j]!);
  return acc;
}

/**
 * Splits `secret` into `holders` shares, any `threshold` of which reconstruct it.
 * Throws ShamirError('THRESHOLD_RANGE') unless 1 ≤ threshold ≤ holders ≤ SHAMIR_HOLDERS_MAX.
 */
export function splitSecret(secret: bigint, threshold: number, holders: number, rng: Rng): ShamirShare[] {
  checkThreshold(threshold, holders);
  assert(secret >= 0n && secret < R_ORDER, 'splitSecret: secret is not a reduced scalar');
  const coefficients = [secret];
  for (let j = 1; j < threshold; j++) coefficients.push(randomScalar(rng));
  const shares: ShamirShare[] = [];
  for (let i = 1; i <= holders; i++) shares.push({ index: i, value: evaluatePolynomial(coefficients, BigInt(i)) });
  assert(shares.length === holders && evaluatePolynomial(coefficients, 0n) === secret, 'splitSecret: f(0) ≠ secret');
  return shares;
}

/** Throws ShamirError unless `indexes` is a non-empty set of distinct holder numbers in 1..255. */
export function checkShareIndexes(indexes: readonly number[]): void {
  if (indexes.length === 0) throw new ShamirError('NO_SHARES', 'Cannot interpolate: no share indexes given');
  const seen = new Set<number>();
  for (const i of indexes) {
    if (!Number.isSafeInteger(i) || i < 1 || i > SHAMIR_HOLDERS_MAX) {
      throw new ShamirError('INDEX_RANGE', `Share index must be an integer in 1..${SHAMIR_HOLDERS_MAX}, got ${i}`);
    }
    if (seen.has(i)) throw new ShamirError('INDEX_DUPLICATE', `Share index ${i} appears more than once`);
    seen.add(i);
  }
}

/**
 * λ_i = Π_{j≠i} x_j / (x_j − x_i) mod r, so that f(0) = Σ λ_i·f(x_i) for any polynomial of degree
 * below indexes.length. Coefficients come back in the order of `indexes`.
 * Throws ShamirError on an empty list, a zero/out-of-range index, or a duplicate.
 */
export function lagrangeCoefficientsAtZero(indexes: readonly number[]): bigint[] {
  checkShareIndexes(indexes);
  const xs = indexes.map(BigInt);
  const numerators: bigint[] = [];
  const denominators: bigint[] = [];
  for (let i = 0; i < xs.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      num = scalarMul(num, xs[j]!);
      den = scalarMul(den, scalarSub(xs[j]!, xs[i]!));
    }
    numerators.push(num);
    denominators.push(den);
  }
  const inverses = scalarInvBatch(denominators);
  const lambdas = numerators.map((num, i) => scalarMul(num, inverses[i]!));
  // Σ λ_i = 1: the constant polynomial f ≡ 1 must interpolate to 1.
  assert(mod(lambdas.reduce((a, b) => a + b, 0n)) === 1n, 'lagrangeCoefficientsAtZero: Σλ ≠ 1');
  return lambdas;
}

/**
 * Interpolates f(0) from the given shares. With at least `threshold` shares of one dealing this is
 * the secret; with fewer it is an unrelated scalar (callers that know the threshold must check the
 * count themselves). Throws ShamirError on bad or duplicated indexes.
 */
export function reconstructSecret(shares: readonly ShamirShare[]): bigint {
  const lambdas = lagrangeCoefficientsAtZero(shares.map((s) => s.index));
  let acc = 0n;
  shares.forEach((s, i) => {
    assert(s.value >= 0n && s.value < R_ORDER, `reconstructSecret: share ${s.index} is not a reduced scalar`);
    acc = scalarAdd(acc, scalarMul(lambdas[i]!, s.value));
  });
  return acc;
}
