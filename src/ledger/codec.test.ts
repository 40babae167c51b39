// Stored answers come back exactly as given (bigints, bytes, nested objects, even objects whose
// own keys look like tags), and request hashes ignore key order but nothing else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeTagged, encodeTagged, requestHash, toWireJson } from './codec.ts';

const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.bigInt(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('$bigint', '$bytes', '$object')), tie('v'), { maxKeys: 3 }),
  ),
})).v;

test('encodeTagged/decodeTagged round-trip any JSON-like value with bigints and bytes', () => {
  fc.assert(
    fc.property(value, (v) => {
      const back = decodeTagged(encodeTagged(v));
      assert.deepEqual(normalize(back), normalize(v));
    }),
    { numRuns: 300 },
  );
});

/** deepEqual treats Buffer/Uint8Array and null-prototype objects differently; compare as plain data. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

test('requestHash() ignores key order and separates bigint from its decimal string', () => {
  assert.equal(requestHash('op', { a: 1n, b: 'x' }), requestHash('op', { b: 'x', a: 1n }));
  assert.notEqual(requestHash('op', { a: 1n }), requestHash('op', { a: '1' }));
  assert.notEqual(requestHash('op', { a: 1n }), requestHash('op2', { a: 1n }));
  assert.notEqual(requestHash('op', { a: 1n }), requestHash('op', { a: { $bigint: '1' } }));
});

test('toWireJson() writes bigints as decimal strings and bytes as hex', () => {
  assert.deepEqual(toWireJson({ a: 2n ** 64n, b: new Uint8Array([1, 255]), c: [1n] }), { a: '18446744073709551616', b: '01ff', c: ['1'] });
});
