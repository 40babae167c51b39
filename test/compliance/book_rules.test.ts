// The AML/CFT rules at an FI's book on both engines: deposits and withdrawals screened against a
// small rule set. A hard hit refuses with RULE_REFUSED and changes nothing (balances, rows, and the
// idempotency key stays free); a soft hit needs an operator override, used once; a monitor hit
// opens one alert and a repeat bumps it; the compliance log verifies and a tampered row breaks it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuleSet } from '../../src/compliance/index.ts';
import { DAY_MS } from '../../src/compliance/index.ts';
import { FiLedger } from '../../src/ledger/fi/book.ts';
import { changeAlert, listAlerts } from '../../src/ledger/fi/compliance.ts';
import { verifyComplianceLog } from '../../src/ledger/fi/compliance_log.ts';
import { rowBigint } from '../../src/ledger/db/adapter.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES, countingRng, fakeClock, freshDb, type FreshDb } from '../ledger/engines.ts';

const RULES: RuleSet = {
  version: 7n,
  rules: [
    { id: 'tx-max', kind: 'online.per_transaction', mode: 'hard', severity: 'high', limitMinor: 1_000n, count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'day-max', kind: 'online.daily', mode: 'soft', severity: 'medium', limitMinor: 4_000n, count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'month-watch', kind: 'online.monthly', mode: 'monitor', severity: 'low', limitMinor: 100_000n, count: 0n, windowMs: BigInt(30 * DAY_MS), bandPercent: 0n },
    { id: 'holding-watch', kind: 'holding.total', mode: 'monitor', severity: 'medium', limitMinor: 3_000n, count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'structuring', kind: 'structuring', mode: 'monitor', severity: 'high', limitMinor: 1_000n, count: 3n, windowMs: BigInt(DAY_MS), bandPercent: 10n },
  ],
};
const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;

for (const engine of ENGINES) {
  describe(`AML/CFT rules at the FI book on ${engine}`, () => {
    let fresh: FreshDb;
    let fi: FiLedger;
    const clock = fakeClock();
    let n = 0;
    const key = (what: string) => `${what}-${n++}`;
    const customer = async (name: string) => {
      const { customerId } = await fi.registerCustomer({ tier: 1, identity: { name }, idempotencyKey: `${name}/kyc` });
      const { accountId } = await fi.openAccount({ customerId, idempotencyKey: `${name}/open` });
      return { customerId, accountId };
    };
    const count = async (table: string) => rowBigint((await fi.db.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${table}`))[0]!, 'n');
    const deps = () => ({ db: fi.db, rules: RULES, rng: countingRng('ops'), nowMs: clock.nowMs() });

    before(async () => {
      fresh = await freshDb(engine);
      fi = await FiLedger.open({ db: fresh.db, fiId: 'fi-r', clock, rng: countingRng(`rules-${engine}`), rules: RULES });
      await fi.creditTreasury({ amountMinor: 10_000_000n, idempotencyKey: 'treasury' });
    });
    after(async () => fresh.cleanup());

    test('a deposit at the per-transaction limit passes; one unit above is refused naming the rule, and nothing changes', async () => {
      const c = await customer('hard');
      await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      const before = { balance: await fi.balance(c.accountId), tx: await count('journal_transactions'), events: await count('compliance_events'), keys: await count('idempotency_keys') };
      const k = key('dep');
      await assert.rejects(fi.deposit({ accountId: c.accountId, amountMinor: 1_001n, idempotencyKey: k }), (e: unknown) => code('RULE_REFUSED')(e) && (e as Error).message.includes('tx-max'));
      await assert.rejects(fi.withdraw({ accountId: c.accountId, amountMinor: 1_001n, idempotencyKey: key('wd') }), code('RULE_REFUSED'));
      const afterRefusal = { balance: await fi.balance(c.accountId), tx: await count('journal_transactions'), events: await count('compliance_events'), keys: await count('idempotency_keys') };
      assert.deepEqual(afterRefusal, before);
      const alert = (await listAlerts(fi.db, c.customerId)).find((a) => a.ruleId === 'tx-max')!;
      assert.deepEqual([alert.mode, alert.count, alert.status], ['hard', 2n, 'open'], 'the refusals are on record, deduplicated');
      const again = await fi.deposit({ accountId: c.accountId, amountMinor: 900n, idempotencyKey: k });
      assert.equal(again.balanceMinor, 1_900n, 'the refused key was not burned');
      clock.advance(DAY_MS);
    });

    test('the soft daily limit: exactly at it passes, above needs an override, which is used once', async () => {
      const c = await customer('soft');
      await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      await fi.withdraw({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('wd') });
      await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      await fi.withdraw({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('wd') });
      const k = key('dep');
      await assert.rejects(fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: k }), (e: unknown) => code('RULE_OVERRIDE_REQUIRED')(e) && (e as Error).message.includes('day-max'));
      const alert = (await listAlerts(fi.db, c.customerId)).find((a) => a.ruleId === 'day-max')!;
      await assert.rejects(changeAlert(deps(), alert.id, 'op-1', { action: 'override', reason: ' ' }), code('BAD_REQUEST'));
      const hard = (await listAlerts(fi.db)).find((a) => a.ruleId === 'tx-max')!;
      await assert.rejects(changeAlert(deps(), hard.id, 'op-1', { action: 'override', reason: 'please' }), code('BAD_REQUEST'), 'a hard rule has no override');
      const overridden = await changeAlert(deps(), alert.id, 'op-1', { action: 'override', reason: 'salary paid in cash, documented' });
      assert.equal(overridden.status, 'resolved');
      assert.equal((await fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: k })).balanceMinor, 1n);
      const k2 = key('dep');
      await assert.rejects(fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: k2 }), code('RULE_OVERRIDE_REQUIRED'), 'the override was used');
      // The refusal names the day's alert again, reopened: an operator can override it once more.
      const reopened = (await listAlerts(fi.db, c.customerId)).find((a) => a.ruleId === 'day-max')!;
      assert.deepEqual([reopened.id, reopened.status, reopened.overrideReason], [alert.id, 'open', null]);
      await changeAlert(deps(), alert.id, 'op-1', { action: 'override', reason: 'second cash salary instalment, documented' });
      assert.equal((await fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: k2 })).balanceMinor, 2n);
      await assert.rejects(fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: key('dep') }), code('RULE_OVERRIDE_REQUIRED'), 'the second override was used too');
      clock.advance(DAY_MS);
    });

    test('holding.total monitors: up to the limit no alert; above, one alert whose repeat bumps its count', async () => {
      const c = await customer('holder');
      await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      await fi.deposit({ accountId: c.accountId, amountMinor: 700n, idempotencyKey: key('dep') });
      clock.advance(DAY_MS);
      await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      await fi.deposit({ accountId: c.accountId, amountMinor: 300n, idempotencyKey: key('dep') });
      assert.equal(await fi.balance(c.accountId), 3_000n);
      assert.deepEqual((await listAlerts(fi.db, c.customerId)).map((a) => a.ruleId), [], 'exactly at the holding limit');
      await fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: key('dep') });
      await fi.deposit({ accountId: c.accountId, amountMinor: 1n, idempotencyKey: key('dep') });
      const alerts = await listAlerts(fi.db, c.customerId);
      assert.deepEqual(alerts.map((a) => [a.ruleId, a.count, a.status]), [['holding-watch', 2n, 'open']]);
      assert.equal(await fi.balance(c.accountId), 3_002n, 'a monitor hit lets the move through');
      clock.advance(DAY_MS);
    });

    test('structuring monitors three amounts just under the cap in a day, not two', async () => {
      const c = await customer('structurer');
      await fi.deposit({ accountId: c.accountId, amountMinor: 950n, idempotencyKey: key('dep') });
      await fi.withdraw({ accountId: c.accountId, amountMinor: 900n, idempotencyKey: key('wd') });
      await fi.deposit({ accountId: c.accountId, amountMinor: 899n, idempotencyKey: key('dep') });
      assert.deepEqual((await listAlerts(fi.db, c.customerId)).map((a) => a.ruleId), [], 'two in the band, one just below it');
      await fi.deposit({ accountId: c.accountId, amountMinor: 999n, idempotencyKey: key('dep') });
      assert.deepEqual((await listAlerts(fi.db, c.customerId)).map((a) => [a.ruleId, a.severity, a.count]), [['structuring', 'high', 1n]]);
      clock.advance(DAY_MS);
    });

    test('two concurrent deposits that each fit the day but not together: exactly one passes', async () => {
      const c = await customer('racer');
      for (let i = 0; i < 3; i++) await fi.deposit({ accountId: c.accountId, amountMinor: 1_000n, idempotencyKey: key('dep') });
      const both = await Promise.allSettled([600n, 600n].map((amountMinor) => fi.deposit({ accountId: c.accountId, amountMinor, idempotencyKey: key('race') })));
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(code('RULE_OVERRIDE_REQUIRED')(refused.reason), String(refused.reason));
      assert.equal(await fi.balance(c.accountId), 3_600n);
      clock.advance(DAY_MS);
    });

    test('assignment and resolution are logged; the log chain verifies and a tampered entry breaks it', async () => {
      const [first] = await listAlerts(fi.db);
      await changeAlert(deps(), first!.id, 'op-2', { action: 'assign', assignee: 'analyst-7' });
      const resolved = await changeAlert(deps(), first!.id, 'op-2', { action: 'resolve', reason: 'customer explained, documents on file' });
      assert.deepEqual([resolved.status, resolved.assignee], ['resolved', 'analyst-7']);
      await assert.rejects(changeAlert(deps(), first!.id, 'op-2', { action: 'assign', assignee: 'x' }), code('BAD_REQUEST'));
      const ok = await verifyComplianceLog(fi.db);
      assert.equal(ok.ok, true);
      assert.ok(ok.entries >= 8n, `entries: ${ok.entries}`);
      await fi.db.run("UPDATE compliance_log SET detail = '{}' WHERE seq = 3");
      const broken = await verifyComplianceLog(fi.db);
      assert.deepEqual([broken.ok, broken.broken?.seq], [false, 3n]);
    });
  });
}
