// The AML/CFT rules that read offline aggregates and devices — receiving.total, offline.edge,
// device.new_activity, velocity.devices — through the real FI (SQLite): real SEs, real payments
// with proofs, real sync batches and unload records. Each kind fires at its threshold and stays
// silent one unit below it; then hard and soft rules at sync and at defunding give 'hold': the
// batch or unload record settles, the alert holds the customer, and loads and credential renewals
// are refused until an operator resolves (hard) or overrides (soft) it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, type Rule, type RuleSet } from '../../src/compliance/index.ts';
import { loadDevice } from '../../src/ledger/fi/devices.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const rule = (r: Partial<Rule> & Pick<Rule, 'id' | 'kind'>): Rule => ({ mode: 'monitor', severity: 'medium', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...r });
const set = (...rules: Rule[]): RuleSet => ({ version: 7n, rules });
const code = (c: string, ruleId: string) => (e: unknown) => e instanceof LedgerError && e.code === c && e.message.includes(ruleId);
/** A window short enough that moving the fake clock past it does not cross an epoch. */
const WINDOW_MS = 60_000;

async function withNet(seed: string, rules: RuleSet): Promise<{ get: () => OfflineNet }> {
  let net: OfflineNet;
  before(async () => {
    net = await openOfflineNet('sqlite', seed, { rules, verifyWorkers: 1 });
    await fundFi(net, net.fiA, 10_000_000n, 'issue-a');
  });
  after(async () => net.cleanup());
  return { get: () => net };
}

const alertsOf = async (d: TestDevice) => (await d.fi.alerts(d.customerId)).map((a) => [a.ruleId, a.count]);
const sync = (d: TestDevice, key: string) => syncDevice(d.client, d.fi, { keyPrefix: key, renew: false });

describe('receiving.total through sync batches', async () => {
  const n = await withNet('rules-receiving', set(rule({ id: 'recv', kind: 'receiving.total', limitMinor: 1_000n, windowMs: BigInt(DAY_MS) })));

  test('Σ received of 1 000 over two batches raises nothing; one unit more in a third raises the alert', async () => {
    const net = n.get();
    const payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 1_000n });
    const payee = await newDevice(net, net.fiA, 'payee');
    await load(payer, 1_000n, 'payer/load');
    await pay(payer, payee, 400n);
    await sync(payee, 'payee-1');
    await pay(payer, payee, 500n);
    await pay(payer, payee, 100n);
    await sync(payee, 'payee-2');
    assert.deepEqual(await alertsOf(payee), [], 'exactly the limit is not above it');
    const other = await newDevice(net, net.fiA, 'payer-2', { depositMinor: 100n });
    await load(other, 100n, 'payer-2/load');
    await pay(other, payee, 1n);
    await sync(payee, 'payee-3');
    const [alert] = await payee.fi.alerts(payee.customerId);
    assert.deepEqual([alert?.ruleId, alert?.holds], ['recv', false]);
    assert.match(alert!.detail, /received 1001 .* above the limit 1000/);
  });
});

describe('offline.edge through a payer\'s sync', async () => {
  // Basic tier: 100 000 may be spent offline before a sync; a 50 % band flags 50 000 and more.
  const n = await withNet('rules-edge', set(rule({ id: 'edge', kind: 'offline.edge', bandPercent: 50n })));

  const spendAndSync = async (net: OfflineNet, name: string, amounts: bigint[]) => {
    const total = amounts.reduce((s, a) => s + a, 0n);
    const payer = await newDevice(net, net.fiA, name, { depositMinor: total });
    const payee = await newDevice(net, net.fiA, `${name}-payee`);
    await load(payer, total, `${name}/load`);
    for (const a of amounts) await pay(payer, payee, a);
    await sync(payer, name);
    return payer;
  };

  test('49 999 spent offline since the last sync raises nothing', async () => {
    const payer = await spendAndSync(n.get(), 'under', [16_667n, 16_666n, 16_666n]);
    assert.deepEqual(await alertsOf(payer), []);
  });

  test('50 000 spent offline raises the edge alert, naming the spent amount and the limit', async () => {
    const payer = await spendAndSync(n.get(), 'at-edge', [16_667n, 16_667n, 16_666n]);
    const [alert] = await payer.fi.alerts(payer.customerId);
    assert.equal(alert?.ruleId, 'edge');
    assert.match(alert!.detail, /50000 spent offline since the last sync of the 100000 allowed/);
  });
});

describe('device.new_activity through loads and syncs of a new device', async () => {
  const n = await withNet('rules-new-device', set(rule({ id: 'new-dev', kind: 'device.new_activity', limitMinor: 1_000n, windowMs: BigInt(WINDOW_MS) })));

  test('a new device that moves 1 000 raises nothing; one that moves 1 001 (load and received) raises the alert', async () => {
    const net = n.get();
    const quiet = await newDevice(net, net.fiA, 'quiet', { depositMinor: 1_000n });
    await load(quiet, 600n, 'quiet/load1');
    await load(quiet, 400n, 'quiet/load2');
    assert.deepEqual(await alertsOf(quiet), []);
    const busy = await newDevice(net, net.fiA, 'busy', { depositMinor: 1_000n });
    await load(busy, 1_000n, 'busy/load');
    await pay(quiet, busy, 1n);
    await sync(busy, 'busy');
    const [alert] = await busy.fi.alerts(busy.customerId);
    assert.equal(alert?.ruleId, 'new-dev');
    assert.match(alert!.detail, /moved 1001, above 1000/);
  });

  test('the same activity once the device is older than the window raises nothing', async () => {
    const net = n.get();
    const old = await newDevice(net, net.fiA, 'old', { depositMinor: 2_000n });
    net.world.nowMs += BigInt(WINDOW_MS);
    await load(old, 2_000n, 'old/load');
    assert.deepEqual(await alertsOf(old), []);
  });
});

describe('velocity.devices through one customer\'s several devices', async () => {
  const n = await withNet('rules-velocity', set(rule({ id: 'velocity', kind: 'velocity.devices', limitMinor: 2_000n, count: 3n, windowMs: BigInt(DAY_MS) })));

  const twoDevices = async (net: OfflineNet, name: string) => {
    const first = await newDevice(net, net.fiA, `${name}-1`, { depositMinor: 5_000n });
    const second = await newDevice(net, net.fiA, `${name}-2`, { customer: first });
    return [first, second] as const;
  };

  test('two devices moving 2 000 together raise nothing; 2 001 raises the alert', async () => {
    const net = n.get();
    const [a1, a2] = await twoDevices(net, 'under');
    await load(a1, 1_000n, 'under-1/load');
    await load(a2, 1_000n, 'under-2/load');
    assert.deepEqual(await alertsOf(a1), []);
    const [b1, b2] = await twoDevices(net, 'over');
    await load(b1, 1_000n, 'over-1/load');
    await load(b2, 1_001n, 'over-2/load');
    const [alert] = await b1.fi.alerts(b1.customerId);
    assert.equal(alert?.ruleId, 'velocity');
    assert.match(alert!.detail, /2 devices moved 2001/);
  });

  test('a third active device in the window raises the alert however little it moves', async () => {
    const net = n.get();
    const [c1, c2] = await twoDevices(net, 'three');
    const c3 = await newDevice(net, net.fiA, 'three-3', { customer: c1 });
    await load(c1, 10n, 'three-1/load');
    await load(c2, 10n, 'three-2/load');
    assert.deepEqual(await alertsOf(c1), []);
    await load(c3, 1n, 'three-3/load');
    const [alert] = await c1.fi.alerts(c1.customerId);
    assert.match(alert!.detail, /3 devices active/);
  });
});

const reported = async (d: TestDevice) => (await loadDevice(d.fi.db, d.deviceId)).reportedBalanceMinor;
const held = async (d: TestDevice, ruleId: string) => (await d.fi.alerts(d.customerId)).find((a) => a.ruleId === ruleId && a.holds);
const past = (net: OfflineNet) => { net.world.nowMs += BigInt(WINDOW_MS); };

describe('hard and soft rules at sync and defunding hold the customer', async () => {
  // Basic tier: 100 000 may be spent offline before a sync; a 90 % band flags 10 000 and more.
  const n = await withNet('rules-hold', set(
    rule({ id: 'edge-hard', kind: 'offline.edge', mode: 'hard', bandPercent: 90n }),
    rule({ id: 'new-dev-hard', kind: 'device.new_activity', mode: 'hard', limitMinor: 30_000n, windowMs: BigInt(WINDOW_MS) }),
    rule({ id: 'velocity-soft', kind: 'velocity.devices', mode: 'soft', limitMinor: 30_000n, count: 3n, windowMs: BigInt(WINDOW_MS) }),
  ));

  test('hard offline.edge at sync: the batch settles, the alert holds loads and renewals until resolved', async () => {
    const net = n.get();
    const payer = await newDevice(net, net.fiA, 'edge', { depositMinor: 12_000n });
    const payee = await newDevice(net, net.fiA, 'edge-payee');
    await load(payer, 10_000n, 'edge/load');
    for (const a of [5_000n, 5_000n]) await pay(payer, payee, a);
    const { rounds } = await sync(payer, 'edge-1');
    assert.equal(await reported(payer), 0n, 'the batch settled: the FI holds the SE\'s new balance');
    const alert = await held(payer, 'edge-hard');
    assert.deepEqual([alert?.mode, alert?.status], ['hard', 'open']);
    const renewal = rounds.at(-1)!.renewal;
    assert.deepEqual([renewal.offered, renewal.offered ? '' : renewal.code], [false, 'RULE_REFUSED']);
    await assert.rejects(load(payer, 10n, 'edge/held'), code('RULE_REFUSED', 'edge-hard'));
    await assert.rejects(payer.fi.startIssuance({ deviceId: payer.deviceId }), code('RULE_REFUSED', 'edge-hard'));
    await assert.rejects(payer.fi.overrideRule(alert!.id, 'not soft'), /only a soft rule can be overridden/);
    await payer.fi.resolveAlert(alert!.id, 'spent at a fair, receipts seen');
    await load(payer, 10n, 'edge/held');
    const again = await sync(payer, 'edge-2');
    assert.equal(again.rounds.at(-1)!.renewal.offered, true, 'renewal is offered again once resolved');
    assert.equal((await payer.fi.verifyComplianceLog()).ok, true);
  });

  test('hard device.new_activity at defunding: the unload record is credited, the alert holds until resolved', async () => {
    const net = n.get();
    const d = await newDevice(net, net.fiA, 'newdev', { depositMinor: 20_000n });
    await load(d, 20_000n, 'newdev/load');
    await net.fiA.applyUnloadRecord((await d.client.makeUnloadRecord(10_001n)).record);
    assert.equal(await net.fiA.ledger.balance(d.accountId), 10_001n, 'the unload record was credited');
    const alert = await held(d, 'new-dev-hard');
    assert.equal(alert?.mode, 'hard');
    await assert.rejects(load(d, 10n, 'newdev/held'), code('RULE_REFUSED', 'new-dev-hard'));
    await net.fiA.resolveAlert(alert!.id, 'a new meter set up and returned');
    past(net);
    await load(d, 10n, 'newdev/held');
  });

  test('soft velocity.devices at defunding: the unload record is credited, loads need the override', async () => {
    const net = n.get();
    const v1 = await newDevice(net, net.fiA, 'vel-1', { depositMinor: 30_000n });
    const v2 = await newDevice(net, net.fiA, 'vel-2', { customer: v1 });
    await load(v1, 16_000n, 'vel-1/load');
    await load(v2, 14_000n, 'vel-2/load');
    assert.deepEqual(await alertsOf(v1), []);
    await net.fiA.applyUnloadRecord((await v2.client.makeUnloadRecord(1n)).record);
    assert.equal(await net.fiA.ledger.balance(v1.accountId), 1n, 'the unload record was credited');
    const alert = await held(v1, 'velocity-soft');
    assert.equal(alert?.mode, 'soft');
    await assert.rejects(load(v1, 1n, 'vel-1/held'), code('RULE_OVERRIDE_REQUIRED', 'velocity-soft'));
    await net.fiA.overrideRule(alert!.id, 'a household moving value between its meters');
    past(net);
    await load(v1, 1n, 'vel-1/held');
  });
});

describe('a soft receiving.total rule at sync holds the payee', async () => {
  const n = await withNet('rules-hold-receiving', set(rule({ id: 'recv-soft', kind: 'receiving.total', mode: 'soft', limitMinor: 5_000n, windowMs: BigInt(DAY_MS) })));

  test('the batch settles, loads and renewals need the operator\'s override', async () => {
    const net = n.get();
    const payers = [await newDevice(net, net.fiA, 'recv-p1', { depositMinor: 3_000n }), await newDevice(net, net.fiA, 'recv-p2', { depositMinor: 3_000n })];
    const payee = await newDevice(net, net.fiA, 'recv-payee', { depositMinor: 100n });
    for (const [i, p] of payers.entries()) await load(p, 3_000n, `recv-p${i}/load`);
    await pay(payers[0]!, payee, 3_000n);
    await pay(payers[1]!, payee, 1_901n);
    await sync(payee, 'recv-1');
    assert.equal(await reported(payee), 4_901n, 'the batch settled');
    const alert = await held(payee, 'recv-soft');
    assert.equal(alert?.mode, 'soft');
    assert.match(alert!.detail, /received 5001/);
    await assert.rejects(load(payee, 10n, 'recv/held'), code('RULE_OVERRIDE_REQUIRED', 'recv-soft'));
    await assert.rejects(payee.fi.startIssuance({ deviceId: payee.deviceId }), code('RULE_OVERRIDE_REQUIRED', 'recv-soft'));
    await payee.fi.overrideRule(alert!.id, 'wages from two employers');
    await load(payee, 10n, 'recv/held');
  });
});
