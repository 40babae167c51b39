// Message codecs: round trips for any valid message, each decoder's refusals with the right code
// (truncated, extended, non-canonical, wrong version/type, out-of-range, wrong-length fields), the
// size limits matching real maximal messages, and a fuzzer that only ever sees WireError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeCanonical, encodeCanonical, type CborValue } from './cbor.ts';
import * as L from './limits.ts';
import {
  decodeMessage,
  decodePayment,
  decodePaymentRequest,
  decodeReceipt,
  encodePayment,
  encodePaymentRequest,
  encodeReceipt,
  paymentHash,
  paymentRequestBinding,
  receiptSignedBytes,
  type Payment,
  type PaymentRequest,
  type Receipt,
} from './messages.ts';
import { WireError, type WireErrorCode } from './wire_error.ts';

const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);
/** A canonical X25519 key: top byte below 0x40 keeps u < 2^254 < p. */
const x25519Key = (n: number): Uint8Array => bytes(32, n).map((b, i) => (i === 31 ? b & 0x3f : b));
const attestationKeys = [1n, 2n, 3n, 12345n].map((k) => p256.Point.BASE.multiply(k).toBytes(true));

const sampleRequest = (): PaymentRequest => ({
  v: 1,
  amountMinor: 1234n,
  requestId: bytes(16, 1),
  payeeNonce: bytes(32, 2),
  payeeSessionKey: x25519Key(3),
  payeeCredentialProof: bytes(300, 4),
  policyVersion: 1n,
  timeMs: 1_764_000_000_000,
  payeeIdentity: bytes(32, 10),
});
const samplePayment = (): Payment => ({
  v: 1,
  requestId: bytes(16, 1),
  payerSessionKey: x25519Key(5),
  proof: bytes(2000, 6),
  sealedOpening: bytes(56, 8),
});
const sampleReceipt = (): Receipt => ({
  v: 1,
  paymentHash: bytes(32, 9),
  payeeSignature: bytes(64, 0x11),
  payeeAttestationKey: attestationKeys[0]!,
});

// ---- arbitraries ---------------------------------------------------------------------------------
const fixed = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const keyArb = fixed(32).map((k) => k.map((b, i) => (i === 31 ? b & 0x3f : b)));
const requestArb: fc.Arbitrary<PaymentRequest> = fc.record({
  v: fc.constant(1 as const),
  amountMinor: fc.bigInt({ min: L.AMOUNT_MINOR_MIN, max: L.AMOUNT_MINOR_MAX }),
  requestId: fixed(16),
  payeeNonce: fixed(32),
  payeeSessionKey: keyArb,
  payeeCredentialProof: fc.uint8Array({ minLength: 1, maxLength: L.CREDENTIAL_PROOF_BYTES_MAX }),
  policyVersion: fc.bigInt({ min: 1n, max: L.POLICY_VERSION_MAX }),
  timeMs: fc.integer({ min: 0, max: L.TIME_MS_MAX }),
  payeeIdentity: fixed(32),
});
const paymentArb: fc.Arbitrary<Payment> = fc.record({
  v: fc.constant(1 as const),
  requestId: fixed(16),
  payerSessionKey: keyArb,
  proof: fc.uint8Array({ minLength: 1, maxLength: L.PAYMENT_PROOF_BYTES_MAX }),
  sealedOpening: fixed(56),
});
const scalarBytes = fixed(32).map((b) => b.map((x, i) => (i === 0 ? x & 0x7f : i === 31 ? x | 1 : x)));
const receiptArb: fc.Arbitrary<Receipt> = fc.record({
  v: fc.constant(1 as const),
  paymentHash: fixed(32),
  payeeSignature: fc.tuple(scalarBytes, scalarBytes).map(([r, s]) => Uint8Array.from([...r, ...s])),
  payeeAttestationKey: fc.constantFrom(...attestationKeys),
});

type Codec = { name: string; encode: () => Uint8Array; decode: (b: Uint8Array) => unknown; max: number };
const codecs: Codec[] = [
  { name: 'PaymentRequest', encode: () => encodePaymentRequest(sampleRequest()), decode: decodePaymentRequest, max: L.PAYMENT_REQUEST_BYTES_MAX },
  { name: 'Payment', encode: () => encodePayment(samplePayment()), decode: decodePayment, max: L.PAYMENT_BYTES_MAX },
  { name: 'Receipt', encode: () => encodeReceipt(sampleReceipt()), decode: decodeReceipt, max: L.RECEIPT_BYTES_MAX },
];

function rejects(decode: (b: Uint8Array) => unknown, input: Uint8Array, code: WireErrorCode, note = ''): void {
  // Length is checked first: an edit that pushes a fixed-size message (Receipt) past its limit is TOO_LONG.
  const max = decode === decodePaymentRequest ? L.PAYMENT_REQUEST_BYTES_MAX : decode === decodePayment ? L.PAYMENT_BYTES_MAX : decode === decodeReceipt ? L.RECEIPT_BYTES_MAX : L.MESSAGE_BYTES_MAX;
  if (input.length > max) code = 'TOO_LONG';
  assert.throws(() => decode(input), (e: unknown) => e instanceof WireError && e.code === code, `expected ${code} ${note}`);
}
/** Decode canonical bytes to a Map, edit it, re-encode canonically: tests meaning, not syntax. */
function edit(b: Uint8Array, f: (m: Map<CborValue, CborValue>) => void): Uint8Array {
  const m = decodeCanonical(b, { bytesMax: 8192 }) as Map<CborValue, CborValue>;
  f(m);
  return encodeCanonical(m);
}
const splice = (b: Uint8Array, at: number, del: number, ...ins: number[]): Uint8Array =>
  Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at + del)]);

// ---- round trips ---------------------------------------------------------------------------------

test('every valid PaymentRequest, Payment and Receipt round-trips through its codec', () => {
  fc.assert(fc.property(requestArb, (m) => assert.deepEqual(decodePaymentRequest(encodePaymentRequest(m)), { ...m })), { numRuns: 150 });
  fc.assert(fc.property(paymentArb, (m) => assert.deepEqual(decodePayment(encodePayment(m)), { ...m })), { numRuns: 150 });
  fc.assert(fc.property(receiptArb, (m) => assert.deepEqual(decodeReceipt(encodeReceipt(m)), { ...m })), { numRuns: 150 });
});

test('decodeMessage() dispatches on the message type', () => {
  assert.equal(decodeMessage(encodePaymentRequest(sampleRequest())).type, 1);
  assert.equal(decodeMessage(encodePayment(samplePayment())).type, 2);
  assert.equal(decodeMessage(encodeReceipt(sampleReceipt())).type, 3);
  rejects(decodeMessage, edit(encodeReceipt(sampleReceipt()), (m) => m.set(1, 4)), 'WRONG_TYPE');
  rejects(decodeMessage, edit(encodeReceipt(sampleReceipt()), (m) => m.set(0, 2).set(1, 9)), 'BAD_VERSION');
});

test('the size limits are exactly the sizes of the largest messages', () => {
  const req = { ...sampleRequest(), amountMinor: L.AMOUNT_MINOR_MAX, policyVersion: L.POLICY_VERSION_MAX, timeMs: L.TIME_MS_MAX, payeeCredentialProof: bytes(L.CREDENTIAL_PROOF_BYTES_MAX) };
  assert.equal(encodePaymentRequest(req).length, L.PAYMENT_REQUEST_BYTES_MAX);
  assert.equal(encodePayment({ ...samplePayment(), proof: bytes(L.PAYMENT_PROOF_BYTES_MAX) }).length, L.PAYMENT_BYTES_MAX);
  assert.equal(encodeReceipt(sampleReceipt()).length, L.RECEIPT_BYTES_MAX);
});

test('encoders refuse out-of-bounds fields as a programmer error', () => {
  assert.throws(() => encodePaymentRequest({ ...sampleRequest(), amountMinor: 0n }), /AssertionError|out of bounds/);
  assert.throws(() => encodePayment({ ...samplePayment(), sealedOpening: bytes(55) }), /out of bounds/);
});

// ---- refusals common to every decoder ------------------------------------------------------------

for (const c of codecs) {
  test(`decode${c.name}() refuses every truncation with TRUNCATED and any extension`, () => {
    const good = c.encode();
    for (let n = 0; n < good.length; n++) rejects(c.decode, good.subarray(0, n), 'TRUNCATED', `at ${n}`);
    rejects(c.decode, Uint8Array.from([...good, 0]), 'TRAILING_BYTES');
    rejects(c.decode, new Uint8Array(c.max + 1), 'TOO_LONG');
  });

  test(`decode${c.name}() refuses non-canonical CBOR: long integer, unsorted keys, duplicate key, indefinite map`, () => {
    const good = c.encode();
    assert.equal(good[1], 0x00); // key 0 (version) comes first, then its value 0x01
    rejects(c.decode, splice(good, 2, 1, 0x18, 0x01), 'NOT_CANONICAL', 'version 1 as 0x18 0x01');
    rejects(c.decode, splice(good, 1, 4, 0x01, good[4]!, 0x00, 0x01), 'NOT_CANONICAL', 'keys 1, 0');
    rejects(c.decode, splice(good, 3, 1, 0x00), 'DUPLICATE_KEY', 'key 0 twice');
    rejects(c.decode, Uint8Array.from([0xbf, ...good.subarray(1), 0xff]), 'NOT_CANONICAL', 'indefinite map');
    rejects(c.decode, Uint8Array.from([0xc1, ...good]), 'UNSUPPORTED_TYPE', 'tagged');
  });

  test(`decode${c.name}() refuses the wrong version, the wrong type, missing and unknown fields`, () => {
    const good = c.encode();
    rejects(c.decode, edit(good, (m) => m.set(0, 2)), 'BAD_VERSION');
    rejects(c.decode, edit(good, (m) => m.set(0, 0)), 'BAD_VERSION');
    rejects(c.decode, edit(good, (m) => m.set(1, (((m.get(1) as number) % 3) + 1))), 'WRONG_TYPE');
    for (const k of (decodeCanonical(good, { bytesMax: 8192 }) as Map<CborValue, CborValue>).keys()) {
      if (k === 0 || k === 1) continue;
      rejects(c.decode, edit(good, (m) => m.delete(k)), 'MISSING_FIELD', `without key ${String(k)}`);
    }
    rejects(c.decode, edit(good, (m) => m.set(20, 0)), 'UNKNOWN_FIELD');
    rejects(c.decode, edit(good, (m) => m.set('x', 0)), 'UNKNOWN_FIELD');
    // Same edit within the length limit (Receipt is at its maximum): swap a field for an unknown key.
    rejects(c.decode, edit(good, (m) => m.delete(2) && m.set(20, 0)), 'UNKNOWN_FIELD', 'key 2 swapped for 20');
    rejects(c.decode, encodeCanonical([1, 2]), 'BAD_FIELD', 'array instead of map');
  });

  test(`decode${c.name}() refuses every byte field one byte short, one byte long, or of the wrong type`, () => {
    const good = c.encode();
    const m0 = decodeCanonical(good, { bytesMax: 8192 }) as Map<CborValue, CborValue>;
    for (const [k, v] of m0) {
      if (!(v instanceof Uint8Array)) continue;
      const isProof = v.length > 64; // variable-length opaque proofs report OUT_OF_RANGE only at their bounds
      if (!isProof) {
        rejects(c.decode, edit(good, (m) => m.set(k, v.subarray(1))), 'BAD_FIELD', `key ${String(k)} short`);
        rejects(c.decode, edit(good, (m) => m.set(k, Uint8Array.from([...v, 0]))), 'BAD_FIELD', `key ${String(k)} long`);
      }
      rejects(c.decode, edit(good, (m) => m.set(k, 5)), 'BAD_FIELD', `key ${String(k)} as int`);
    }
  });
}

// ---- refusals of meaning, per message -----------------------------------------------------------

test('decodePaymentRequest() refuses amounts, versions and times outside their bounds with OUT_OF_RANGE', () => {
  const good = encodePaymentRequest(sampleRequest());
  const d = decodePaymentRequest;
  rejects(d, edit(good, (m) => m.set(2, 0)), 'OUT_OF_RANGE', 'amount 0');
  rejects(d, edit(good, (m) => m.set(2, 2 ** 32)), 'OUT_OF_RANGE', 'amount 2^32');
  rejects(d, edit(good, (m) => m.set(2, -1)), 'OUT_OF_RANGE', 'amount −1');
  rejects(d, edit(good, (m) => m.set(2, 2n ** 64n - 1n)), 'OUT_OF_RANGE', 'amount 2^64−1');
  rejects(d, edit(good, (m) => m.set(2, new Uint8Array(8))), 'BAD_FIELD', 'amount as bytes');
  rejects(d, edit(good, (m) => m.set(7, 0)), 'OUT_OF_RANGE', 'policy version 0');
  rejects(d, edit(good, (m) => m.set(8, 2n ** 53n)), 'OUT_OF_RANGE', 'time beyond safe integers');
  rejects(d, edit(good, (m) => m.set(6, new Uint8Array(0))), 'OUT_OF_RANGE', 'empty credential proof');
  rejects(d, edit(good, (m) => m.set(6, bytes(L.CREDENTIAL_PROOF_BYTES_MAX + 1))), 'OUT_OF_RANGE', 'credential proof too long');
  assert.equal(d(edit(good, (m) => m.set(2, 2 ** 32 - 1))).amountMinor, L.AMOUNT_MINOR_MAX);
});

test('decodePaymentRequest() and decodePayment() refuse a non-canonical X25519 session key', () => {
  const p = (2n ** 255n - 19n).toString(16).padStart(64, '0');
  const pLE = Uint8Array.from(Buffer.from(p, 'hex').reverse());
  rejects(decodePaymentRequest, edit(encodePaymentRequest(sampleRequest()), (m) => m.set(5, pLE)), 'BAD_FIELD');
  rejects(decodePayment, edit(encodePayment(samplePayment()), (m) => m.set(3, bytes(32, 0xff))), 'BAD_FIELD');
});

test('decodePayment() refuses a proof that is empty or beyond PAYMENT_PROOF_BYTES_MAX', () => {
  const good = encodePayment({ ...samplePayment(), proof: bytes(10) });
  rejects(decodePayment, edit(good, (m) => m.set(4, new Uint8Array(0))), 'OUT_OF_RANGE');
  // Every other Payment field has a fixed size, so the message limit is what refuses a long proof.
  rejects(decodePayment, edit(good, (m) => m.set(4, bytes(L.PAYMENT_PROOF_BYTES_MAX + 1))), 'TOO_LONG');
});

test('decodeReceipt() refuses an invalid attestation key or a signature scalar out of range', () => {
  const good = encodeReceipt(sampleReceipt());
  const n = p256.Point.Fn.ORDER;
  const be = (x: bigint): number[] => [...Buffer.from(x.toString(16).padStart(64, '0'), 'hex')];
  rejects(decodeReceipt, edit(good, (m) => m.set(4, Uint8Array.from([0x04, ...bytes(32)]))), 'BAD_FIELD', 'prefix 04');
  const offCurve = [...Array(20).keys()].map((i) => Uint8Array.from([0x02, ...bytes(31, 0), i])).find((k) => {
    try { p256.Point.fromBytes(k); return false; } catch { return true; }
  })!;
  rejects(decodeReceipt, edit(good, (m) => m.set(4, offCurve)), 'BAD_FIELD', 'x not on curve');
  rejects(decodeReceipt, edit(good, (m) => m.set(3, Uint8Array.from([...be(0n), ...be(1n)]))), 'BAD_FIELD', 'r = 0');
  rejects(decodeReceipt, edit(good, (m) => m.set(3, Uint8Array.from([...be(1n), ...be(n)]))), 'BAD_FIELD', 's = n');
  assert.ok(decodeReceipt(edit(good, (m) => m.set(3, Uint8Array.from([...be(n - 1n), ...be(1n)])))));
});

test('one message never decodes as another', () => {
  rejects(decodePayment, encodeReceipt(sampleReceipt()), 'WRONG_TYPE');
  rejects(decodePayment, encodePaymentRequest(sampleRequest()), 'WRONG_TYPE');
  rejects(decodePaymentRequest, encodeReceipt(sampleReceipt()), 'WRONG_TYPE');
  rejects(decodeReceipt, encodePayment(samplePayment()), 'TOO_LONG');
});

// ---- fuzzing -------------------------------------------------------------------------------------

const decoders = [decodePaymentRequest, decodePayment, decodeReceipt, decodeMessage];
function onlyWireErrors(input: Uint8Array): void {
  for (const d of decoders) {
    try {
      d(input);
    } catch (e) {
      if (!(e instanceof WireError)) throw new Error(`non-WireError from ${d.name} on ${Buffer.from(input).toString('hex').slice(0, 80)}: ${String(e)}`);
    }
  }
}

test('decoders throw nothing but WireError on random bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyWireErrors), { numRuns: 1000 });
  // CBOR-shaped noise: a map head followed by random items reaches the field checks more often.
  fc.assert(fc.property(fc.integer({ min: 0xa0, max: 0xbf }), fc.uint8Array({ maxLength: 200 }), (h, rest) => onlyWireErrors(Uint8Array.from([h, ...rest]))), { numRuns: 1000 });
});

test('decoders throw nothing but WireError on mutated valid messages', () => {
  const seeds = codecs.map((c) => c.encode());
  const mutation = fc.record({
    seed: fc.nat({ max: seeds.length - 1 }),
    ops: fc.array(fc.tuple(fc.constantFrom('flip', 'set', 'insert', 'delete', 'cut'), fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
  });
  fc.assert(
    fc.property(mutation, ({ seed, ops }) => {
      let b = seeds[seed]!;
      for (const [op, at, val] of ops) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === 'flip') b = splice(b, i, 1, (b[i] ?? 0) ^ (1 << (val % 8)));
        if (op === 'set') b = splice(b, i, 1, val);
        if (op === 'insert') b = splice(b, i, 0, val);
        if (op === 'delete') b = splice(b, i, 1);
        if (op === 'cut') b = b.subarray(0, i);
      }
      onlyWireErrors(b);
    }),
    { numRuns: 2000 },
  );
});

// ---- hashes --------------------------------------------------------------------------------------

test('paymentHash() is a domain-separated SHA-256 that changes with any byte of the payment', () => {
  const b = encodePayment(samplePayment());
  const h = paymentHash(b);
  assert.equal(h.length, 32);
  assert.notDeepEqual(h, sha256(b));
  assert.deepEqual(paymentHash(b), h);
  assert.notDeepEqual(paymentHash(splice(b, b.length - 1, 1, b[b.length - 1]! ^ 1)), h);
  assert.notDeepEqual(receiptSignedBytes(h).subarray(-32), paymentHash(b).map((x) => x ^ 1));
  assert.deepEqual(receiptSignedBytes(h).subarray(-32), h);
});

test('paymentRequestBinding() covers every request field but the credential proof', () => {
  const base = sampleRequest();
  const ref = Buffer.from(paymentRequestBinding(base)).toString('hex');
  const otherProof: PaymentRequest = { ...base, payeeCredentialProof: bytes(10) };
  assert.equal(Buffer.from(paymentRequestBinding(otherProof)).toString('hex'), ref);
  const variants: Array<Partial<PaymentRequest>> = [
    { amountMinor: base.amountMinor + 1n },
    { requestId: bytes(16, 99) },
    { payeeNonce: bytes(32, 99) },
    { payeeIdentity: bytes(32, 98) },
    { payeeSessionKey: x25519Key(99) },
    { policyVersion: 2n },
    { timeMs: base.timeMs + 1 },
  ];
  const seen = new Set([ref]);
  for (const v of variants) seen.add(Buffer.from(paymentRequestBinding({ ...base, ...v })).toString('hex'));
  assert.equal(seen.size, variants.length + 1);
});
