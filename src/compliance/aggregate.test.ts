// evaluateFi(): each of the CB's aggregate kinds fires at its threshold and not one unit below,
// counts only inside its window, and ignores the customer kinds (an FI's evaluate() in turn
// ignores the aggregate kinds).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateFi, aggregateLookbackMs, type FiFacts } from './aggregate.ts';
import { DAY_MS, evaluate } from './evaluate.ts';
import { DEFAULT_RULES, type Rule, type RuleKind, type RuleSet } from './rules.ts';

const rule = (kind: RuleKind, p: Partial<Rule>): Rule => ({ id: kind.replace(/[._]/g, '-'), kind, mode: 'monitor', severity: 'high', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...p });
const set = (...rules: Rule[]): RuleSet => ({ version: 1n, rules });
const NOW = 1_800_000_000_000;
const facts = (p: Partial<FiFacts>): FiFacts => ({ fiId: 'fi-x', issuance: [], incidentsMs: [], inFlightMinor: 0n, totalInFlightMinor: 0n, ...p });
const fired = (rules: RuleSet, f: FiFacts) => evaluateFi(rules, f, NOW).map((h) => h.ruleId);

test('fi.net_issuance: issued minus redeemed in the window above the limit, older issuance ignored', () => {
  const rules = set(rule('fi.net_issuance', { limitMinor: 1_000n, windowMs: BigInt(DAY_MS) }));
  const inside = [{ amountMinor: 700n, atMs: NOW - 10 }, { amountMinor: 400n, atMs: NOW }, { amountMinor: -100n, atMs: NOW - 5 }];
  assert.deepEqual(fired(rules, facts({ issuance: inside })), [], 'exactly 1 000: not above');
  assert.deepEqual(fired(rules, facts({ issuance: [...inside, { amountMinor: 1n, atMs: NOW }] })), ['fi-net-issuance']);
  assert.deepEqual(fired(rules, facts({ issuance: [...inside, { amountMinor: 1n, atMs: NOW - DAY_MS }] })), [], 'a day old: outside the window');
});

test('fi.in_flight_share: above band % of all in flight, only once the total reaches the floor', () => {
  const rules = set(rule('fi.in_flight_share', { limitMinor: 10_000n, bandPercent: 60n }));
  assert.deepEqual(fired(rules, facts({ inFlightMinor: 6_000n, totalInFlightMinor: 10_000n })), [], '60 % is not above 60 %');
  assert.deepEqual(fired(rules, facts({ inFlightMinor: 6_001n, totalInFlightMinor: 10_001n })), ['fi-in-flight-share']);
  assert.deepEqual(fired(rules, facts({ inFlightMinor: 9_999n, totalInFlightMinor: 9_999n })), [], 'below the floor a lone FI holds 100 % of little');
  assert.deepEqual(fired(rules, facts({ inFlightMinor: -5n, totalInFlightMinor: 20_000n })), [], 'an FI whose devices received more than it funded');
});

test('fi.incident_burst: count incidents in the window, the count-th fires', () => {
  const rules = set(rule('fi.incident_burst', { count: 3n, windowMs: 1_000n }));
  assert.deepEqual(fired(rules, facts({ incidentsMs: [NOW, NOW - 1, NOW - 1_000] })), [], 'the third is a window old');
  assert.deepEqual(fired(rules, facts({ incidentsMs: [NOW, NOW - 1, NOW - 999] })), ['fi-incident-burst']);
});

test('the two evaluators ignore each other\'s kinds, and the lookback is the longest aggregate window', () => {
  const busy = facts({ issuance: [{ amountMinor: 10n ** 15n, atMs: NOW }], incidentsMs: Array(100).fill(NOW), inFlightMinor: 10n ** 12n, totalInFlightMinor: 10n ** 12n });
  const customerRules = set(...DEFAULT_RULES.rules.filter((r) => !r.kind.startsWith('fi.')));
  assert.deepEqual(fired(customerRules, busy), []);
  const aggregateRules = set(...DEFAULT_RULES.rules.filter((r) => r.kind.startsWith('fi.')));
  assert.deepEqual(fired(aggregateRules, busy).sort(), ['fi-in-flight-share', 'fi-incident-burst', 'fi-net-issuance']);
  const e = evaluate(aggregateRules, { kind: 'deposit', customerId: 'c', amountMinor: 10n ** 15n, atMs: NOW }, { history: [], holdingMinor: 10n ** 15n });
  assert.deepEqual(e, { decision: 'allow', hits: [] });
  assert.equal(aggregateLookbackMs(DEFAULT_RULES), DAY_MS);
  assert.equal(aggregateLookbackMs(customerRules), 0);
});
