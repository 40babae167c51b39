// Deterministic CBOR: canonical round trips, and each deviation from RFC 8949 §4.2 refused with
// its own WireError code (hand-built byte strings, so the tests do not trust our own encoder).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCanonical, encodeCanonical, type CborValue } from './cbor.ts';
import { WireError, type WireErrorCode } from './wire_error.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const LIMITS = { bytesMax: 4096 };

function rejects(input: string | Uint8Array, code: WireErrorCode, limits = LIMITS): void {
  const bytes = typeof input === 'string' ? hex(input) : input;
  assert.throws(
    () => decodeCanonical(bytes, limits),
    (e: unknown) => e instanceof WireError && e.code === code,
    `expected ${code} for ${toHex(bytes).slice(0, 40)}`,
  );
}

test('encodeCanonical() writes minimal heads and bytewise-sorted keys (RFC 8949 §4.2.1)', () => {
  const m = new Map<CborValue, CborValue>([
    [-1, 1],
    [100, 2],
    [0, 3],
  ]);
  // Bytewise order: 0x00 < 0x18 0x64 (100) < 0x20 (−1); RFC 7049 length-first would put −1 second.
  assert.equal(toHex(encodeCanonical(m)), 'a3' + '0003' + '186402' + '2001');
  assert.equal(toHex(encodeCanonical(23)), '17');
  assert.equal(toHex(encodeCanonical(24)), '1818');
  assert.equal(toHex(encodeCanonical(1n << 40n)), '1b0000010000000000');
  assert.throws(() => encodeCanonical(1.5), /not a safe integer/);
  assert.throws(() => encodeCanonical(2 ** 53), /not a safe integer/);
});

const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.nat({ max: 2 ** 40 }),
  fc.integer({ min: -1000, max: -1 }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
  fc.uint8Array({ maxLength: 40 }),
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(fc.nat({ max: 1000 }), tie('v')), { maxLength: 4, selector: ([k]) => k }).map((es) => new Map<CborValue, CborValue>(es)),
  ),
})).v;

test('decodeCanonical(encodeCanonical(v)) returns v for any value within the limits', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = encodeCanonical(v);
      let decoded: CborValue;
      try {
        decoded = decodeCanonical(bytes, LIMITS);
      } catch (e) {
        // Deep values or big trees may exceed the depth/item limits; that is the only allowed refusal.
        assert.ok(e instanceof WireError && (e.code === 'TOO_DEEP' || e.code === 'TOO_MANY_ITEMS'), String(e));
        return;
      }
      assert.deepEqual(toHex(encodeCanonical(decoded)), toHex(bytes));
    }),
    { numRuns: 300 },
  );
});

test('decodeCanonical() refuses non-minimal integers and lengths with NOT_CANONICAL', () => {
  rejects('1805', 'NOT_CANONICAL'); // 5 in two bytes
  rejects('190017', 'NOT_CANONICAL'); // 23 in three bytes
  rejects('1a0000ffff', 'NOT_CANONICAL'); // 65535 in five bytes
  rejects('1b00000000ffffffff', 'NOT_CANONICAL'); // 2^32−1 in nine bytes
  rejects('3800', 'NOT_CANONICAL'); // −1 in two bytes
  rejects('580100', 'NOT_CANONICAL'); // one-byte string with a two-byte length
  rejects('a1 1800 00', 'NOT_CANONICAL'); // key 0 written long
});

test('decodeCanonical() refuses unsorted map keys with NOT_CANONICAL and repeated keys with DUPLICATE_KEY', () => {
  rejects('a2 0100 0000', 'NOT_CANONICAL');
  rejects('a2 2001 186402', 'NOT_CANONICAL'); // length-first order is not RFC 8949 order
  rejects('a2 0000 0001', 'DUPLICATE_KEY');
  rejects('a2 4100 00 4100 01', 'DUPLICATE_KEY');
});

test('decodeCanonical() refuses indefinite lengths with NOT_CANONICAL and stray breaks with MALFORMED', () => {
  rejects('9f 01 ff', 'NOT_CANONICAL');
  rejects('bf 00 00 ff', 'NOT_CANONICAL');
  rejects('5f 4100 ff', 'NOT_CANONICAL');
  rejects('7f 6161 ff', 'NOT_CANONICAL');
  rejects('ff', 'MALFORMED');
  rejects('1f', 'MALFORMED'); // uint with additional info 31
  rejects('1c', 'MALFORMED'); // reserved additional info 28
  rejects('62 fffe', 'MALFORMED'); // invalid UTF-8
});

test('decodeCanonical() refuses truncated input and lengths beyond the input without allocating', () => {
  rejects('', 'TRUNCATED');
  rejects('19 01', 'TRUNCATED');
  rejects('43 0102', 'TRUNCATED');
  rejects('5a ffffffff 00', 'TRUNCATED'); // 4 GiB byte string declared in 6 bytes
  rejects('5b ffffffffffffffff', 'TRUNCATED');
  rejects('9a ffffffff 00', 'TRUNCATED'); // 4 billion items declared
  rejects('ba 00010000 00', 'TRUNCATED');
  rejects('a2 0000 01', 'TRUNCATED');
});

test('decodeCanonical() refuses trailing bytes, oversize input, depth and item floods', () => {
  rejects('00 00', 'TRAILING_BYTES');
  rejects('a0 a0', 'TRAILING_BYTES');
  rejects(new Uint8Array(10), 'TOO_LONG', { bytesMax: 9 });
  rejects('81 81 81 81 00', 'TOO_DEEP');
  rejects('81'.repeat(5000) + '00', 'TOO_DEEP', { bytesMax: 8192 });
  rejects('98 64' + '00'.repeat(100), 'TOO_MANY_ITEMS');
  assert.deepEqual(decodeCanonical(hex('81 81 81 00'), LIMITS), [[[0]]]);
});

test('decodeCanonical() refuses tags, floats, undefined and simple values with UNSUPPORTED_TYPE', () => {
  rejects('c1 00', 'UNSUPPORTED_TYPE');
  rejects('c2 41 01', 'UNSUPPORTED_TYPE'); // bignum tag
  rejects('f9 3c00', 'UNSUPPORTED_TYPE');
  rejects('fb 3ff0000000000000', 'UNSUPPORTED_TYPE');
  rejects('f7', 'UNSUPPORTED_TYPE');
  rejects('f0', 'UNSUPPORTED_TYPE');
  rejects('f8 20', 'UNSUPPORTED_TYPE');
  assert.equal(decodeCanonical(hex('f5'), LIMITS), true);
  assert.equal(decodeCanonical(hex('f6'), LIMITS), null);
});

test('decodeCanonical() error messages say what was expected and what was found', () => {
  try {
    decodeCanonical(hex('1805'), LIMITS);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof WireError);
    assert.match(e.message, /value 5 took 2 bytes/);
  }
});
