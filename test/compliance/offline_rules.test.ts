// The AML/CFT rules where value crosses into and out of SEs (SQLite; the book test covers both
// engines): a voucher above the hard funding limit is refused and changes nothing; fund/defund
// cycles and a sync batch's receipt count raise monitor alerts at their thresholds and not below;
// a CB-signed rule set is installed, a badly signed one refused at start.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { DAY_MS, signRules, type RuleSet } from '../../src/compliance/index.ts';
import { FinancialIntermediary } from '../../src/ledger/fi/financial_intermediary.ts';
import { loadDevice } from '../../src/ledger/fi/devices.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { freshDb } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet } from '../ledger/offline_world.ts';

const RULES: RuleSet = {
  version: 3n,
  rules: [
    { id: 'tx-max', kind: 'online.per_transaction', mode: 'hard', severity: 'high', limitMinor: 10_000n, count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'cycles', kind: 'funding.rapid_cycles', mode: 'monitor', severity: 'medium', limitMinor: 0n, count: 2n, windowMs: BigInt(DAY_MS), bandPercent: 0n },
    { id: 'burst', kind: 'sync.burst', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 2n, windowMs: 0n, bandPercent: 0n },
    { id: 'burst-max', kind: 'sync.burst', mode: 'hard', severity: 'high', limitMinor: 0n, count: 3n, windowMs: 0n, bandPercent: 0n },
  ],
};
const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;

describe('AML/CFT rules at funding, defunding and sync', () => {
  let net: OfflineNet;
  before(async () => {
    net = await openOfflineNet('sqlite', 'rules-offline', { rules: RULES });
    await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
  });
  after(async () => net.cleanup());

  const deposit = (accountId: string, amountMinor: bigint, key: string) => net.fiA.ledger.deposit({ accountId, amountMinor, idempotencyKey: key });
  const ruleIds = async (customerId: string) => (await net.fiA.alerts(customerId)).map((a) => [a.ruleId, a.count]);

  test('a voucher at the limit is issued; one unit above is refused, and account and device are unchanged', async () => {
    const d = await newDevice(net, net.fiA, 'funder', { depositMinor: 10_000n });
    await deposit(d.accountId, 10_000n, 'funder/dep2');
    await load(d, 10_000n, 'funder/load1');
    const before = [await net.fiA.ledger.balance(d.accountId), (await loadDevice(net.fiA.db, d.deviceId)).vouchersIssued];
    await assert.rejects(net.fiA.createLoadVoucher({ deviceId: d.deviceId, amountMinor: 10_001n, idempotencyKey: 'funder/load2' }), (e: unknown) => code('RULE_REFUSED')(e) && (e as Error).message.includes('tx-max'));
    assert.deepEqual([await net.fiA.ledger.balance(d.accountId), (await loadDevice(net.fiA.db, d.deviceId)).vouchersIssued], before);
    assert.deepEqual(await ruleIds(d.customerId), [['tx-max', 1n]]);
  });

  test('one fund/defund cycle raises nothing; the second in the day raises the cycles alert, a third bumps it', async () => {
    const d = await newDevice(net, net.fiA, 'cycler', { depositMinor: 10_000n });
    await load(d, 1_000n, 'cycler/load1');
    await net.fiA.applyUnloadRecord((await d.client.makeUnloadRecord(500n)).record);
    assert.deepEqual(await ruleIds(d.customerId), []);
    await load(d, 1_000n, 'cycler/load2');
    await net.fiA.applyUnloadRecord((await d.client.makeUnloadRecord(500n)).record);
    assert.deepEqual(await ruleIds(d.customerId), [['cycles', 1n]]);
    await load(d, 1_000n, 'cycler/load3');
    assert.deepEqual(await ruleIds(d.customerId), [['cycles', 2n]], 'funding after two cycles still counts two');
  });

  test('a sync batch with one receipt raises nothing; one with two raises the burst alert', async () => {
    const payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 5_000n });
    const payee = await newDevice(net, net.fiA, 'payee');
    await load(payer, 3_000n, 'payer/load');
    await pay(payer, payee, 100n);
    await syncDevice(payee.client, net.fiA, { keyPrefix: 'payee-1' });
    assert.deepEqual(await ruleIds(payee.customerId), []);
    await pay(payer, payee, 100n);
    await pay(payer, payee, 200n);
    await syncDevice(payee.client, net.fiA, { keyPrefix: 'payee-2' });
    const alerts = await net.fiA.alerts(payee.customerId);
    assert.deepEqual(alerts.map((a) => [a.ruleId, a.count, a.detail]), [['burst', 1n, '2 receipts in one sync batch (threshold 2)']]);
    const events = await net.fiA.db.query("SELECT amount_minor, receipts FROM compliance_events WHERE kind = 'sync' AND receipts > 0 ORDER BY receipts");
    assert.deepEqual(events.map((r) => [BigInt(r.amount_minor as never), BigInt(r.receipts as never)]), [[100n, 1n], [300n, 2n]], 'Σ received per batch, not single amounts');
    assert.equal((await net.fiA.verifyComplianceLog()).ok, true);
    const batches = async () => (await net.fiA.db.query('SELECT batch_id FROM sync_batches WHERE device_id = $1', [payee.deviceId])).length;
    const before = [await batches(), (await loadDevice(net.fiA.db, payee.deviceId)).reportedBalanceMinor];
    for (let i = 0; i < 3; i++) await pay(payer, payee, 10n);
    await syncDevice(payee.client, net.fiA, { keyPrefix: 'payee-3' });
    assert.deepEqual([await batches(), (await loadDevice(net.fiA.db, payee.deviceId)).reportedBalanceMinor], [before[0] as number + 1, (before[1] as bigint) + 30n],
      'a hard hit at sync does not refuse the batch: the value left the payers\' SEs already');
    const held = (await net.fiA.alerts(payee.customerId)).find((a) => a.ruleId === 'burst-max')!;
    assert.deepEqual([held.mode, held.holds, held.status], ['hard', true, 'open']);
    await deposit(payee.accountId, 10n, 'payee/dep-held');
    await assert.rejects(load(payee, 10n, 'payee/load-held'), (e: unknown) => code('RULE_REFUSED')(e) && (e as Error).message.includes('burst-max'));
    await net.fiA.resolveAlert(held.id, 'receipts from a market stall, checked');
    await load(payee, 10n, 'payee/load-held');
  });

  test('an FI installs a CB-signed rule set and refuses one signed by another key', async () => {
    const cbKey = p256.utils.randomSecretKey();
    const signed = signRules(RULES, cbKey);
    const base = { clock: net.clock, manufacturers: {}, cb: net.cb, verifyWorkers: 0, signingKey: net.world.fi, fiId: 'fi-signed' };
    const good = await freshDb('sqlite');
    const fi = await FinancialIntermediary.open({ ...base, db: good.db, rules: { signed, cbPublicKey: p256.getPublicKey(cbKey, true) } });
    assert.equal(fi.ledger.rules?.version, 3n);
    await fi.close();
    await good.cleanup();
    const bad = await freshDb('sqlite');
    const other = p256.getPublicKey(p256.utils.randomSecretKey(), true);
    await assert.rejects(FinancialIntermediary.open({ ...base, db: bad.db, rules: { signed, cbPublicKey: other } }), (e: unknown) => code('BAD_REQUEST')(e) && (e as Error).message.includes('SIGNATURE'));
    await bad.cleanup();
  });
});
