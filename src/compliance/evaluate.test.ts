// evaluate(): for each rule kind, an event that triggers it and one just under it (properties
// over the thresholds), the windows' edges, and how modes turn hits into a decision.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DAY_MS, evaluate, type CustomerContext, type PastEvent, type ProposedEvent } from './evaluate.ts';
import type { Rule, RuleKind, RuleMode } from './rules.ts';

const T0 = Date.UTC(2026, 11, 2, 12);
const rule = (kind: RuleKind, p: Partial<Rule> = {}, mode: RuleMode = 'hard'): Rule => ({
  id: `r-${kind}`, kind, mode, severity: 'medium', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...p,
});
const ev = (kind: ProposedEvent['kind'], amountMinor: bigint, atMs = T0, receipts?: number): ProposedEvent => ({ kind, amountMinor, atMs, customerId: 'cus-1', ...(receipts === undefined ? {} : { receipts }) });
const ctx = (history: PastEvent[] = [], holdingMinor = 0n, overrides?: Set<string>): CustomerContext => ({ history, holdingMinor, ...(overrides ? { overrides } : {}) });
const hits = (r: Rule, e: ProposedEvent, c: CustomerContext = ctx()): number => evaluate({ version: 1n, rules: [r] }, e, c).hits.length;
const limit = fc.bigInt({ min: 2n, max: 10n ** 15n });

test('online.per_transaction fires above the limit and not at it', () => {
  fc.assert(fc.property(limit, fc.constantFrom('fund', 'defund', 'deposit', 'withdraw' as const), (l, kind) => {
    const r = rule('online.per_transaction', { limitMinor: l });
    assert.equal(hits(r, ev(kind, l + 1n)), 1);
    assert.equal(hits(r, ev(kind, l)), 0);
    assert.equal(hits(r, ev('sync', l + 1n, T0, 1)), 0, 'offline receipts are not an online move');
  }));
});

test('online.daily sums the UTC day: above fires, exactly at does not, yesterday does not count', () => {
  fc.assert(fc.property(limit, fc.bigInt({ min: 1n, max: 10n ** 15n }), (l, part) => {
    const first = part % l;
    const r = rule('online.daily', { limitMinor: l });
    const today = [{ kind: 'deposit' as const, amountMinor: first, atMs: T0 - 1000 }];
    assert.equal(hits(r, ev('withdraw', l - first + 1n), ctx(today)), 1);
    assert.equal(hits(r, ev('withdraw', l - first), ctx(today)), 0);
    const yesterday = [{ kind: 'deposit' as const, amountMinor: l, atMs: Date.UTC(2026, 11, 1, 23, 59) }];
    assert.equal(hits(r, ev('withdraw', 1n), ctx(yesterday)), 0);
  }));
});

test('online.monthly sums a rolling window ending at the event', () => {
  const r = rule('online.monthly', { limitMinor: 1_000n, windowMs: BigInt(30 * DAY_MS) });
  const old = { kind: 'fund' as const, amountMinor: 600n, atMs: T0 - 29 * DAY_MS };
  assert.equal(hits(r, ev('fund', 401n), ctx([old])), 1);
  assert.equal(hits(r, ev('fund', 400n), ctx([old])), 0);
  assert.equal(hits(r, ev('fund', 401n), ctx([{ ...old, atMs: T0 - 30 * DAY_MS }])), 0, 'an event exactly windowMs old has left the window');
});

test('holding.total: a deposit that would take the total above fires; to exactly the limit does not; funding checks the total as is', () => {
  fc.assert(fc.property(limit, (l) => {
    const r = rule('holding.total', { limitMinor: l });
    assert.equal(hits(r, ev('deposit', 2n), ctx([], l - 1n)), 1);
    assert.equal(hits(r, ev('deposit', 1n), ctx([], l - 1n)), 0);
    assert.equal(hits(r, ev('fund', 5n), ctx([], l + 1n)), 1);
    assert.equal(hits(r, ev('fund', 5n), ctx([], l)), 0);
  }));
});

test('funding.rapid_cycles fires at N fund/defund cycles in the window, not at N − 1', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), (n) => {
    const r = rule('funding.rapid_cycles', { count: BigInt(n), windowMs: BigInt(DAY_MS) }, 'monitor');
    const history: PastEvent[] = [];
    for (let i = 0; i < n; i++) history.push({ kind: 'fund', amountMinor: 10n, atMs: T0 - 1000 * (2 * n - 2 * i) });
    for (let i = 0; i < n - 1; i++) history.push({ kind: 'defund', amountMinor: 10n, atMs: T0 - 1000 * (2 * n - 2 * i - 1) });
    assert.equal(hits(r, ev('defund', 10n), ctx(history)), 1, `the ${n}th defund closes cycle ${n}`);
    assert.equal(hits(r, ev('fund', 10n), ctx(history)), 0, 'one more fund closes no cycle');
    assert.equal(hits(r, ev('defund', 10n, T0 + DAY_MS * 2), ctx(history)), 0, 'old cycles left the window');
  }));
});

test('structuring fires at K amounts within the band below the cap, not at K − 1 nor at the cap itself', () => {
  fc.assert(fc.property(fc.bigInt({ min: 1_000n, max: 10n ** 12n }), fc.integer({ min: 2, max: 8 }), (cap, k) => {
    const r = rule('structuring', { limitMinor: cap, count: BigInt(k), windowMs: BigInt(DAY_MS), bandPercent: 10n }, 'monitor');
    const floor = cap - cap / 10n;
    const history = Array.from({ length: k - 1 }, (_, i) => ({ kind: 'deposit' as const, amountMinor: floor + BigInt(i % 2), atMs: T0 - 1000 * (i + 1) }));
    assert.equal(hits(r, ev('deposit', cap - 1n), ctx(history)), 1);
    assert.equal(hits(r, ev('deposit', floor - 1n), ctx(history)), 0, 'below the band');
    assert.equal(hits(r, ev('deposit', cap), ctx(history)), 0, 'at the cap: the per-transaction rule is the one that speaks');
    assert.equal(hits(r, ev('deposit', cap - 1n), ctx(history.slice(1))), 0, 'K − 1 in all');
  }));
});

test('sync.burst fires at N receipts in one batch and not at N − 1', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (n) => {
    const r = rule('sync.burst', { count: BigInt(n) }, 'monitor');
    assert.equal(hits(r, ev('sync', 5n, T0, n)), 1);
    assert.equal(hits(r, ev('sync', 5n, T0, n - 1)), 0);
  }));
});

test('modes: hard refuses, soft needs an override unless given, monitor allows', () => {
  const base = rule('online.per_transaction', { limitMinor: 100n });
  const e = ev('deposit', 101n);
  const set = (mode: RuleMode) => ({ version: 1n, rules: [{ ...base, mode }] });
  assert.equal(evaluate(set('hard'), e, ctx()).decision, 'refuse');
  assert.equal(evaluate(set('hard'), e, ctx([], 0n, new Set([base.id]))).decision, 'refuse', 'a hard rule cannot be overridden');
  assert.equal(evaluate(set('soft'), e, ctx()).decision, 'override-needed');
  assert.equal(evaluate(set('soft'), e, ctx([], 0n, new Set([base.id]))).decision, 'allow');
  const monitor = evaluate(set('monitor'), e, ctx());
  assert.deepEqual([monitor.decision, monitor.hits.map((h) => h.ruleId)], ['allow', [base.id]]);
  assert.equal(evaluate(set('hard'), ev('deposit', 100n), ctx()).hits.length, 0);
});

const dev = (deviceId: string, createdMs: number, reportedBalanceMinor = 0n) => ({ deviceId, createdMs, reportedBalanceMinor });
const syncEv = (p: Partial<ProposedEvent> = {}): ProposedEvent => ({ kind: 'sync', amountMinor: 0n, atMs: T0, customerId: 'cus-1', deviceId: 'd1', receipts: 0, ...p });

test('receiving.total sums sync batches and deposits in the window: above fires, at the limit does not, withdrawals and old ones do not count', () => {
  fc.assert(fc.property(limit, fc.bigInt({ min: 0n, max: 10n ** 15n }), (l, part) => {
    const first = 1n + (part % (l - 1n));
    const r = rule('receiving.total', { limitMinor: l, windowMs: BigInt(DAY_MS) }, 'monitor');
    const history: PastEvent[] = [{ kind: 'sync', amountMinor: first, atMs: T0 - 1000, deviceId: 'd2' }, { kind: 'withdraw', amountMinor: l, atMs: T0 - 500 }];
    assert.equal(hits(r, syncEv({ amountMinor: l - first + 1n }), ctx(history)), 1);
    assert.equal(hits(r, syncEv({ amountMinor: l - first }), ctx(history)), 0);
    assert.equal(hits(r, ev('deposit', l - first + 1n), ctx(history)), 1, 'an online credit counts');
    assert.equal(hits(r, ev('fund', l + 1n), ctx(history)), 0, 'funding is not receiving');
    assert.equal(hits(r, syncEv({ amountMinor: l - first + 1n, atMs: T0 - 1000 + DAY_MS }), ctx(history)), 0, 'the first batch left the window');
  }));
});

test('offline.edge fires at band % of L or of the offline-spend limit, not one below', () => {
  const r = rule('offline.edge', { bandPercent: 10n }, 'monitor');
  const edge = (paymentCounter: bigint, spentMinor: bigint) => syncEv({ paymentCounter, spentMinor, paymentsPerEpoch: 64n, offlineSpendLimitMinor: 10_000n });
  // 90 % of 64 is 57.6: the 58th counter is at the edge; 90 % of 10 000 is 9 000.
  assert.equal(hits(r, edge(58n, 0n)), 1);
  assert.equal(hits(r, edge(57n, 8_999n)), 0);
  assert.equal(hits(r, edge(0n, 9_000n)), 1);
  assert.equal(hits(r, { ...edge(64n, 10_000n), kind: 'fund' }), 0, 'only a sync reports counters');
  assert.equal(hits(r, syncEv({ paymentCounter: 64n, spentMinor: 10_000n })), 0, 'without the policy it has nothing to compare with');
});

test('device.new_activity: a device younger than the window moving above the limit fires; at it, or an older device, does not', () => {
  fc.assert(fc.property(limit, (l) => {
    const r = rule('device.new_activity', { limitMinor: l, windowMs: BigInt(DAY_MS) }, 'monitor');
    const young = { devices: [dev('d1', T0 - 1000)] };
    const before: PastEvent[] = [{ kind: 'fund', amountMinor: l - 1n, atMs: T0 - 500, deviceId: 'd1' }, { kind: 'fund', amountMinor: l, atMs: T0 - 400, deviceId: 'd9' }];
    assert.equal(hits(r, syncEv({ amountMinor: 1n, spentMinor: 1n }), { ...ctx(before), ...young }), 1, 'received and spent count');
    assert.equal(hits(r, syncEv({ amountMinor: 1n }), { ...ctx(before), ...young }), 0, 'exactly at the limit');
    assert.equal(hits(r, ev('fund', l + 1n), { ...ctx(), ...young }), 0, 'an event without a device');
    assert.equal(hits(r, { ...ev('fund', l + 1n), deviceId: 'd1' }, { ...ctx(), devices: [dev('d1', T0 - DAY_MS)] }), 0, 'enrolled a whole window ago');
    assert.equal(hits(r, { ...ev('fund', l + 1n), deviceId: 'd1' }, { ...ctx(), ...young }), 1);
  }));
});

test('velocity.devices fires at count distinct devices in the window, or above the limit across two or more; not below', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 10 }), (n) => {
    const r = rule('velocity.devices', { count: BigInt(n), limitMinor: 1_000n, windowMs: BigInt(DAY_MS) }, 'monitor');
    const history: PastEvent[] = Array.from({ length: n - 2 }, (_, i) => ({ kind: 'fund' as const, amountMinor: 1n, atMs: T0 - 1000 * (i + 1), deviceId: `d${i + 2}` }));
    history.push({ kind: 'deposit', amountMinor: 5_000n, atMs: T0 - 10 }, { kind: 'sync', amountMinor: 1n, atMs: T0 - DAY_MS, deviceId: 'old' });
    assert.equal(hits(r, { ...ev('fund', 1n), deviceId: 'dn' }, ctx(history)), 0, `${n - 1} devices`);
    assert.equal(hits(r, { ...ev('fund', 1n), deviceId: 'dn' }, ctx([...history, { kind: 'defund', amountMinor: 1n, atMs: T0 - 5, deviceId: 'dm' }])), 1, `${n} devices`);
  }));
  const r = rule('velocity.devices', { count: 5n, limitMinor: 1_000n, windowMs: BigInt(DAY_MS) }, 'monitor');
  const other: PastEvent[] = [{ kind: 'fund', amountMinor: 600n, atMs: T0 - 10, deviceId: 'd2' }];
  assert.equal(hits(r, syncEv({ amountMinor: 300n, spentMinor: 100n }), ctx(other)), 0, 'Σ 1 000 across two devices: at the limit');
  assert.equal(hits(r, syncEv({ amountMinor: 301n, spentMinor: 100n }), ctx(other)), 1, 'Σ 1 001 across two devices');
  assert.equal(hits(r, syncEv({ amountMinor: 5_000n }), ctx()), 0, 'one device alone is not velocity across devices');
});

test('holding.total at sync swaps the device’s last reported balance for the new one; at defunding it checks the total as is', () => {
  const r = rule('holding.total', { limitMinor: 1_000n }, 'monitor');
  const c = { ...ctx([], 900n), devices: [dev('d1', 0, 300n), dev('d2', 0, 100n)] };
  assert.equal(hits(r, syncEv({ deviceBalanceMinor: 400n }), c), 0, '900 − 300 + 400 = 1 000');
  assert.equal(hits(r, syncEv({ deviceBalanceMinor: 401n }), c), 1);
  assert.equal(hits(r, ev('defund', 5n), ctx([], 1_001n)), 1);
  assert.equal(hits(r, ev('withdraw', 5n), ctx([], 1_001n)), 0, 'a withdrawal lowers the holding');
});

test('after the fact (sync, defunding) a hard or soft hit holds instead of refusing; a monitor hit allows', () => {
  const set = (mode: RuleMode) => ({ version: 1n, rules: [rule('sync.burst', { count: 2n }, mode)] });
  assert.equal(evaluate(set('hard'), syncEv({ receipts: 2 }), ctx()).decision, 'hold');
  assert.equal(evaluate(set('soft'), syncEv({ receipts: 2 }), ctx()).decision, 'hold');
  assert.equal(evaluate(set('monitor'), syncEv({ receipts: 2 }), ctx()).decision, 'allow');
  assert.equal(evaluate(set('hard'), syncEv({ receipts: 1 }), ctx()).decision, 'allow');
  const tx = { version: 1n, rules: [rule('online.per_transaction', { limitMinor: 10n })] };
  assert.equal(evaluate(tx, ev('defund', 11n), ctx()).decision, 'hold', 'the unload record is signed: refusing it would strand the value');
  assert.equal(evaluate(tx, ev('fund', 11n), ctx()).decision, 'refuse');
});
