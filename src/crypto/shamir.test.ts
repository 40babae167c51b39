// Shamir sharing: any k of n shares reconstruct, k−1 do not, and bad index sets are refused with
// typed errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { R_ORDER, scalarAdd, scalarMul } from './group.ts';
import { seededRng } from './rng.ts';
import {
  SHAMIR_HOLDERS_MAX,
  ShamirError,
  lagrangeCoefficientsAtZero,
  reconstructSecret,
  splitSecret,
} from './shamir.ts';

const scalarArb = fc.bigInt({ min: 0n, max: R_ORDER - 1n });

function shamirCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ShamirError) return e.code;
    throw e;
  }
  return 'OK';
}

test('splitSecret() hands out indexes 1..n', () => {
  const shares = splitSecret(42n, 3, 5, seededRng('idx'));
  assert.deepEqual(
    shares.map((s) => s.index),
    [1, 2, 3, 4, 5],
  );
});

test('any k of n shares reconstruct the secret and k−1 shares do not', () => {
  const sharingArb = fc
    .tuple(scalarArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 5 }), fc.integer())
    .map(([secret, k, extra, seed]) => ({ secret, k, shares: splitSecret(secret, k, k + extra, seededRng(seed)) }))
    .chain(({ secret, k, shares }) =>
      fc.record({
        secret: fc.constant(secret),
        k: fc.constant(k),
        all: fc.constant(shares),
        quorum: fc.shuffledSubarray(shares, { minLength: k, maxLength: k }),
        tooFew: fc.shuffledSubarray(shares, { minLength: k - 1, maxLength: k - 1 }),
      }),
    );
  fc.assert(
    fc.property(sharingArb, ({ secret, k, all, quorum, tooFew }) => {
      assert.equal(reconstructSecret(quorum), secret);
      assert.equal(reconstructSecret(all), secret);
      if (k >= 2) assert.notEqual(reconstructSecret(tooFew), secret);
    }),
    { numRuns: 40 },
  );
});

test('a 1-of-n sharing gives every holder the secret itself', () => {
  const shares = splitSecret(7n, 1, 4, seededRng('one'));
  for (const s of shares) assert.equal(s.value, 7n);
});

test('the largest allowed sharing (255 holders) reconstructs', () => {
  const shares = splitSecret(123456789n, 5, SHAMIR_HOLDERS_MAX, seededRng('max'));
  assert.equal(reconstructSecret(shares.slice(250)), 123456789n);
});

test('splitSecret() refuses thresholds outside 1 ≤ k ≤ n ≤ 255', () => {
  const rng = seededRng('bad');
  for (const [k, n] of [
    [0, 3],
    [4, 3],
    [1, 256],
    [-1, 2],
    [1.5, 3],
    [2, 0],
  ] as const) {
    assert.equal(shamirCode(() => splitSecret(1n, k, n, rng)), 'THRESHOLD_RANGE', `k=${k} n=${n}`);
  }
});

test('lagrangeCoefficientsAtZero() rejects duplicates, zero, out-of-range and empty index sets', () => {
  assert.equal(shamirCode(() => lagrangeCoefficientsAtZero([1, 2, 2])), 'INDEX_DUPLICATE');
  assert.equal(shamirCode(() => lagrangeCoefficientsAtZero([0, 1])), 'INDEX_RANGE');
  assert.equal(shamirCode(() => lagrangeCoefficientsAtZero([1, 256])), 'INDEX_RANGE');
  assert.equal(shamirCode(() => lagrangeCoefficientsAtZero([1, 2.5])), 'INDEX_RANGE');
  assert.equal(shamirCode(() => lagrangeCoefficientsAtZero([])), 'NO_SHARES');
});

test('reconstructSecret() refuses a share set with a duplicated index', () => {
  const shares = splitSecret(99n, 2, 3, seededRng('dup'));
  assert.equal(shamirCode(() => reconstructSecret([shares[0]!, shares[0]!])), 'INDEX_DUPLICATE');
});

test('Lagrange coefficients interpolate any polynomial of degree below the set size at zero', () => {
  fc.assert(
    fc.property(fc.array(scalarArb, { minLength: 1, maxLength: 4 }), (coefficients) => {
      const indexes = [3, 9, 1, 200].slice(0, coefficients.length);
      const f = (x: bigint) => coefficients.reduceRight((acc, c) => scalarAdd(scalarMul(acc, x), c), 0n);
      const lambdas = lagrangeCoefficientsAtZero(indexes);
      const at0 = indexes.reduce((acc, i, j) => scalarAdd(acc, scalarMul(lambdas[j]!, f(BigInt(i)))), 0n);
      assert.equal(at0, coefficients[0]);
    }),
    { numRuns: 30 },
  );
});
