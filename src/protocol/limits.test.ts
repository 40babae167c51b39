// The limits: the start-up check holds, the derived message maxima are pinned (a change to a field
// size shows up here and in the design's size budget), and cborHeadBytes follows RFC 8949 §3.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from './limits.ts';

test('checkProtocolLimits() holds for the shipped constants', () => {
  assert.doesNotThrow(() => L.checkProtocolLimits());
});

test('message maxima are pinned: request 1178, payment 2681, receipt 143 bytes', () => {
  assert.equal(L.PAYMENT_REQUEST_BYTES_MAX, 1178);
  assert.equal(L.PAYMENT_BYTES_MAX, 2681);
  assert.equal(L.RECEIPT_BYTES_MAX, 143);
  assert.equal(L.SEALED_OPENING_BYTES, 56);
  assert.equal(L.PAYMENT_PROOF_BYTES_MAX, 2560);
  assert.ok(L.MESSAGE_BYTES_MAX >= L.PAYMENT_BYTES_MAX);
});

test('cborHeadBytes() switches size at 24, 256, 65536 and 2^32', () => {
  const cases: Array<[number | bigint, number]> = [[0, 1], [23, 1], [24, 2], [255, 2], [256, 3], [65_535, 3], [65_536, 5], [2 ** 32 - 1, 5], [2 ** 32, 9], [(1n << 64n) - 1n, 9]];
  for (const [n, bytes] of cases) assert.equal(L.cborHeadBytes(n), bytes, `head of ${n}`);
  assert.throws(() => L.cborHeadBytes(-1), /out of range/);
  assert.throws(() => L.cborHeadBytes(1n << 64n), /out of range/);
});
