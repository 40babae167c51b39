// The rule set's codec and CB signature: round trip, every refusal with its code, and a set an FI
// must not install (bad signature, unknown kind, a threshold its kind does not use).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode, rfc8949EncodeOptions } from 'cborg';
import { p256 } from '@noble/curves/nist.js';
import { DEFAULT_RULES, RULES_BYTES_MAX, RULES_MAX, RULE_KINDS, RulesCodecError, checkRules, decodeRules, encodeRules, signRules, verifyRules, type Rule, type RuleSet } from './rules.ts';

const cb = (() => {
  const secretKey = p256.utils.randomSecretKey();
  return { secretKey, publicKey: p256.getPublicKey(secretKey, true) };
})();
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof RulesCodecError) return e.code;
    throw e;
  }
  return 'none';
};
const withRule = (change: Partial<Record<keyof Rule, unknown>>): Uint8Array => {
  const body = { type: 'tally/rules', v: 1, version: 1n, rules: [{ ...DEFAULT_RULES.rules[0]!, ...change }] };
  return encode(body, rfc8949EncodeOptions);
};

test('DEFAULT_RULES cover every kind and round-trip through the codec', () => {
  assert.deepEqual(new Set(DEFAULT_RULES.rules.map((r) => r.kind)), new Set(RULE_KINDS));
  assert.deepEqual(decodeRules(encodeRules(DEFAULT_RULES)), DEFAULT_RULES);
});

test('any valid per-transaction limit and version round-trips', () => {
  fc.assert(fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (limitMinor, version) => {
    const set: RuleSet = { version, rules: [{ ...DEFAULT_RULES.rules[0]!, limitMinor }] };
    assert.deepEqual(decodeRules(encodeRules(set)), set);
  }));
});

test('RULES_MAX rules at their largest encode within RULES_BYTES_MAX; one more rule is refused', () => {
  const big = (i: number): Rule => ({
    id: `${String(i).padStart(2, '0')}${'x'.repeat(62)}`, kind: 'structuring', mode: 'monitor', severity: 'medium',
    limitMinor: (1n << 64n) - 1n, count: 0xffff_ffffn, windowMs: (1n << 64n) - 1n, bandPercent: 99n,
  });
  const full: RuleSet = { version: (1n << 64n) - 1n, rules: Array.from({ length: RULES_MAX }, (_, i) => big(i)) };
  assert.ok(encodeRules(full).length <= RULES_BYTES_MAX, `${encodeRules(full).length} bytes`);
  assert.equal(decodeRules(encodeRules(full)).rules.length, RULES_MAX);
  assert.equal(codeOf(() => decodeRules(encodeRules({ ...full, rules: [...full.rules, big(99)] }))), 'FIELD');
});

test('signed rules verify under the CB key and not under another, nor when one byte flips', () => {
  const signed = signRules(DEFAULT_RULES, cb.secretKey);
  const ok = verifyRules(signed, cb.publicKey);
  assert.ok(ok.ok && ok.value.version === 1n);
  const other = p256.getPublicKey(p256.utils.randomSecretKey(), true);
  assert.deepEqual(verifyRules(signed, other), { ok: false, reason: 'SIGNATURE' });
  const flipped = signed.slice();
  flipped[20]! ^= 1;
  assert.equal(verifyRules(flipped, cb.publicKey).ok, false);
  assert.deepEqual(verifyRules(new Uint8Array([1, 2, 3]), cb.publicKey), { ok: false, reason: 'MALFORMED' });
});

test('decodeRules refuses unknown kinds, unknown fields, unused or missing thresholds and duplicate ids', () => {
  assert.equal(codeOf(() => decodeRules(withRule({}))), 'none');
  assert.equal(codeOf(() => decodeRules(withRule({ kind: 'online.weekly' }))), 'KIND');
  assert.equal(codeOf(() => decodeRules(withRule({ mode: 'maybe' }))), 'FIELD');
  assert.equal(codeOf(() => decodeRules(withRule({ severity: 'extreme' }))), 'FIELD');
  assert.equal(codeOf(() => decodeRules(withRule({ extra: 1 } as never))), 'FIELD');
  assert.equal(codeOf(() => decodeRules(withRule({ count: 3n }))), 'PARAMS', 'per-transaction does not use count');
  assert.equal(codeOf(() => decodeRules(withRule({ limitMinor: 0n }))), 'PARAMS', 'per-transaction needs a limit');
  assert.equal(codeOf(() => decodeRules(withRule({ id: 'Bad Id' }))), 'PARAMS');
  const dup = { version: 1n, rules: [DEFAULT_RULES.rules[0]!, DEFAULT_RULES.rules[0]!] };
  assert.equal(codeOf(() => checkRules(dup)), 'DUPLICATE');
  assert.equal(codeOf(() => decodeRules(encode({ rules: [], v: 1, version: 1, type: 'tally/policy' }, rfc8949EncodeOptions))), 'FIELD');
});

test('a signature over a body with an unknown kind is refused with its code, not installed', () => {
  const body = withRule({ kind: 'online.weekly' });
  const signed = encode({ body, sig: p256.sign(body, cb.secretKey) }, rfc8949EncodeOptions);
  assert.deepEqual(verifyRules(signed, cb.publicKey), { ok: false, reason: 'KIND' });
});
