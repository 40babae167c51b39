// Tests for the CB-signed policy table and revocation list codec: round trips, canonical form,
// strict rejection of each kind of bad input, and signatures that break under any tampering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from 'cborg';
import { p256 } from '@noble/curves/nist.js';
import { G1Point } from '../crypto/group.ts';
import { seededRng } from '../crypto/rng.ts';
import { DEFAULT_POLICY, Tier, type PolicyTable } from './limits.ts';
import {
  PolicyCodecError,
  REVOCATION_DEVICES_MAX,
  REVOCATION_LIST_BYTES_MAX,
  REVOCATION_NULLIFIERS_MAX,
  SIGNED_REVOCATION_LIST_BYTES_MAX,
  decodePolicy,
  decodeRevocationList,
  encodePolicy,
  encodeRevocationList,
  signPolicy,
  signRevocationList,
  verifyPolicy,
  verifyRevocationList,
  type RevocationList,
} from './policy_codec.ts';

const rng = seededRng('policy-codec');
const cb = p256.keygen(rng(48));
const other = p256.keygen(rng(48));
const nullifier = (i: number): Uint8Array => G1Point.BASE.mul(BigInt(i + 2)).toBytes();
const codeIs = (code: string) => (e: unknown) => e instanceof PolicyCodecError && e.code === code;

test('decodePolicy(encodePolicy(p)) returns p for any valid table', () => {
  const limitsArb = fc
    .record({ cap: fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), extra: fc.bigInt({ min: 0n, max: 1n << 40n }), L: fc.nat(512) })
    .map(({ cap, extra, L }) => ({ ...DEFAULT_POLICY.tiers[Tier.iot], capMinor: cap, holdingLimitMinor: cap + extra, paymentsPerEpoch: L }));
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.array(limitsArb, { minLength: 4, maxLength: 4 }), (version, ls) => {
      const p: PolicyTable = { version, tiers: { 0: ls[0]!, 1: ls[1]!, 2: ls[2]!, 3: ls[3]! } };
      assert.deepEqual(decodePolicy(encodePolicy(p)), p);
    }),
    { numRuns: 100 },
  );
});

test('decodePolicy() rejects oversize, non-canonical, wrong-shape and inconsistent tables with typed codes', () => {
  const good = encodePolicy(DEFAULT_POLICY);
  assert.throws(() => decodePolicy(new Uint8Array(2000)), codeIs('LENGTH'));
  assert.throws(() => decodePolicy(good.subarray(0, good.length - 1)), codeIs('MALFORMED'));
  // {b: 1, a: 1}: map keys out of RFC 8949 bytewise order.
  assert.throws(() => decodePolicy(Uint8Array.of(0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x01)), codeIs('NOT_CANONICAL'));
  // 1 written as the two-byte integer 18 01.
  assert.throws(() => decodePolicy(Uint8Array.of(0xa1, 0x61, 0x61, 0x18, 0x01)), codeIs('MALFORMED'));
  const bad = (patch: (t: Record<string, unknown>) => void) => {
    const p = structuredClone(DEFAULT_POLICY) as unknown as { tiers: Record<number, Record<string, unknown>> };
    patch(p.tiers[1]!);
    return encodePolicy(p as unknown as PolicyTable);
  };
  assert.throws(() => decodePolicy(bad((t) => (t.capMinor = 5_000_000_000n))), codeIs('LIMITS'));
  assert.throws(() => decodePolicy(bad((t) => (t.capMinor = t.holdingLimitMinor as bigint + 1n))), codeIs('LIMITS'));
  assert.throws(() => decodePolicy(bad((t) => (t.epochMs = 0n))), codeIs('LIMITS'));
  // L above the counter set's size: the CB could not sign a set for it (crypto/counter_set.ts).
  assert.throws(() => decodePolicy(bad((t) => (t.paymentsPerEpoch = 513n))), codeIs('LIMITS'));
  assert.doesNotThrow(() => decodePolicy(bad((t) => (t.paymentsPerEpoch = 512n))));
  const extraKey = encode({ type: 'tally/policy', v: 1, version: 1, tiers: [], x: 1 }, {});
  assert.throws(() => decodePolicy(extraKey), (e: unknown) => e instanceof PolicyCodecError);
});

test('revocation lists round-trip, are sorted on encode and strict on decode', () => {
  const list: RevocationList = { version: 7n, epoch: 3n, nullifiers: [nullifier(3), nullifier(1), nullifier(2)] };
  const decoded = decodeRevocationList(encodeRevocationList(list));
  assert.equal(decoded.nullifiers.length, 3);
  assert.deepEqual(new Set(decoded.nullifiers.map((n) => Buffer.from(n).toString('hex'))), new Set(list.nullifiers.map((n) => Buffer.from(n).toString('hex'))));
  const raw = (nullifiers: Uint8Array[]) => encode({ epoch: 3, nullifiers, type: 'tally/revocation-list', v: 1, version: 7 });
  assert.throws(() => decodeRevocationList(raw([nullifier(1), nullifier(1)].sort())), codeIs('ORDER'));
  const notPoint = new Uint8Array(48).fill(0xff);
  assert.throws(() => decodeRevocationList(raw([notPoint])), codeIs('POINT'));
  assert.throws(() => decodeRevocationList(raw([new Uint8Array(47)])), codeIs('FIELD'));
  const many = Array.from({ length: REVOCATION_NULLIFIERS_MAX + 1 }, () => new Uint8Array(48));
  assert.throws(() => decodeRevocationList(raw(many)), codeIs('FIELD'));
  assert.throws(() => decodeRevocationList(new Uint8Array(REVOCATION_LIST_BYTES_MAX + 1)), codeIs('LENGTH'));
});

const deviceKeys = (n: number): Uint8Array[] => Array.from({ length: n }, () => p256.getPublicKey(p256.keygen(rng(48)).secretKey, true));

test('a v2 revocation list round-trips its devices section, sorted on encode; a v1 list decodes with no devices', () => {
  const devices = deviceKeys(3);
  const decoded = decodeRevocationList(encodeRevocationList({ version: 9n, epoch: 4n, nullifiers: [nullifier(1)], devices }));
  const hex = (l: Uint8Array[]) => l.map((d) => Buffer.from(d).toString('hex'));
  assert.deepEqual(hex(decoded.devices!), hex(devices).sort());
  assert.equal(decoded.nullifiers.length, 1);
  const v1 = encode({ epoch: 3, nullifiers: [nullifier(2)], type: 'tally/revocation-list', v: 1, version: 7 });
  assert.deepEqual(decodeRevocationList(v1).devices, []);
  const signed = signRevocationList({ version: 10n, epoch: 4n, nullifiers: [], devices }, cb.secretKey);
  const ok = verifyRevocationList(signed, cb.publicKey);
  assert.ok(ok.ok && ok.value.devices!.length === 3);
});

test('the devices section is bounded, strict and canonical: count, length, order, point, version', () => {
  const raw = (devices: unknown, v = 2) => encode({ devices, epoch: 3, nullifiers: [], type: 'tally/revocation-list', v, version: 7 });
  const [a, b] = deviceKeys(2).sort((x, y) => Buffer.compare(x, y));
  assert.doesNotThrow(() => decodeRevocationList(raw([a, b])));
  assert.throws(() => decodeRevocationList(raw([b, a])), codeIs('ORDER'));
  assert.throws(() => decodeRevocationList(raw([a, a])), codeIs('ORDER'));
  assert.throws(() => decodeRevocationList(raw([a!.slice(0, 32)])), codeIs('FIELD'));
  assert.throws(() => decodeRevocationList(raw([p256.getPublicKey(p256.keygen(rng(48)).secretKey, false)])), codeIs('FIELD'));
  const notPoint = new Uint8Array(33).fill(0xff);
  notPoint[0] = 0x02;
  assert.throws(() => decodeRevocationList(raw([notPoint])), codeIs('POINT'));
  assert.throws(() => decodeRevocationList(raw('x')), codeIs('FIELD'));
  // A v1 list may not carry devices, a v2 list must; v3 is unknown.
  assert.throws(() => decodeRevocationList(raw([a], 1)), codeIs('FIELD'));
  assert.throws(() => decodeRevocationList(encode({ epoch: 3, nullifiers: [], type: 'tally/revocation-list', v: 2, version: 7 })), codeIs('FIELD'));
  assert.throws(() => decodeRevocationList(raw([a], 3)), codeIs('FIELD'));
  const tooMany = Array.from({ length: REVOCATION_DEVICES_MAX + 1 }, () => a);
  assert.throws(() => decodeRevocationList(raw(tooMany)), codeIs('FIELD'));
});

test('a revocation list at both bounds (nullifiers and devices) with u64 fields fits its signed bound', () => {
  const nullifiers: Uint8Array[] = [];
  for (let P = G1Point.BASE, i = 0; i < REVOCATION_NULLIFIERS_MAX; i++, P = P.add(G1Point.BASE)) nullifiers.push(P.toBytes());
  const devices = deviceKeys(REVOCATION_DEVICES_MAX);
  const signed = signRevocationList({ version: (1n << 64n) - 1n, epoch: (1n << 64n) - 1n, nullifiers, devices }, cb.secretKey);
  assert.ok(signed.length <= SIGNED_REVOCATION_LIST_BYTES_MAX, `${signed.length} bytes`);
  const ok = verifyRevocationList(signed, cb.publicKey);
  assert.ok(ok.ok && ok.value.devices!.length === REVOCATION_DEVICES_MAX);
});

test('a revocation list of REVOCATION_NULLIFIERS_MAX entries with u64 fields fits its bound and verifies', () => {
  const nullifiers: Uint8Array[] = [];
  for (let P = G1Point.BASE, i = 0; i < REVOCATION_NULLIFIERS_MAX; i++, P = P.add(G1Point.BASE)) nullifiers.push(P.toBytes());
  const list: RevocationList = { version: (1n << 64n) - 1n, epoch: (1n << 64n) - 1n, nullifiers };
  const signed = signRevocationList(list, cb.secretKey);
  assert.ok(signed.length <= SIGNED_REVOCATION_LIST_BYTES_MAX, `${signed.length} bytes`);
  const ok = verifyRevocationList(signed, cb.publicKey);
  assert.ok(ok.ok && ok.value.nullifiers.length === REVOCATION_NULLIFIERS_MAX);
  const maxPolicy = { version: (1n << 64n) - 1n, tiers: Object.fromEntries(Object.entries(DEFAULT_POLICY.tiers).map(([t, l]) =>
    [t, { ...l, holdingLimitMinor: (1n << 64n) - 1n, offlineSpendBeforeSyncMinor: (1n << 64n) - 1n, epochMs: (1n << 64n) - 1n, graceMs: (1n << 64n) - 1n, dailyOnlineLimitMinor: (1n << 64n) - 1n, monthlyOnlineLimitMinor: (1n << 64n) - 1n }])) } as unknown as PolicyTable;
  assert.ok(verifyPolicy(signPolicy(maxPolicy, cb.secretKey), cb.publicKey).ok, 'largest policy fits its bound');
});

test('verifyPolicy() accepts the CB signature and rejects another key and every flipped byte', () => {
  const signed = signPolicy(DEFAULT_POLICY, cb.secretKey);
  const ok = verifyPolicy(signed, cb.publicKey);
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, DEFAULT_POLICY);
  assert.deepEqual(verifyPolicy(signed, other.publicKey), { ok: false, reason: 'SIGNATURE' });
  for (let i = 0; i < signed.length; i += 5) {
    const t = signed.slice();
    t[i]! ^= 0x01;
    const r = verifyPolicy(t, cb.publicKey);
    assert.equal(r.ok, false, `flip at byte ${i}`);
  }
  assert.equal(verifyPolicy(new Uint8Array(0), cb.publicKey).ok, false);
});

test('verifyRevocationList() accepts the CB signature and rejects tampering', () => {
  const list: RevocationList = { version: 2n, epoch: 9n, nullifiers: [nullifier(5)] };
  const signed = signRevocationList(list, cb.secretKey);
  const ok = verifyRevocationList(signed, cb.publicKey);
  assert.ok(ok.ok && ok.value.version === 2n && ok.value.epoch === 9n);
  assert.deepEqual(verifyRevocationList(signed, other.publicKey), { ok: false, reason: 'SIGNATURE' });
  for (let i = 0; i < signed.length; i += 3) {
    const t = signed.slice();
    t[i]! ^= 0x80;
    assert.equal(verifyRevocationList(t, cb.publicKey).ok, false, `flip at byte ${i}`);
  }
  // A policy signature is not a revocation list signature.
  assert.equal(verifyRevocationList(signPolicy(DEFAULT_POLICY, cb.secretKey), cb.publicKey).ok, false);
});

test('decoders throw only PolicyCodecError on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      for (const f of [decodePolicy, decodeRevocationList]) {
        try {
          f(b);
        } catch (e) {
          if (!(e instanceof PolicyCodecError)) throw e;
        }
      }
      assert.equal(verifyPolicy(b, cb.publicKey).ok, false);
    }),
    { numRuns: 500 },
  );
});
