// Watchlist screening where value crosses into and out of SEs, on both engines: a voucher
// (funding) of a customer whose name is on the list is refused by a hard rule naming it, needs an
// override under a soft one and alerts under a monitor one; an unload record (defunding) is
// after the fact (the value already left the SE), so a hard or soft hit records it and holds
// the customer's next loads, and a monitor hit only alerts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuleSet } from '../../src/compliance/index.ts';
import { loadDevice } from '../../src/ledger/fi/devices.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const RULES: RuleSet = {
  version: 1n,
  rules: [
    { id: 'wl-hard', kind: 'watchlist.match', mode: 'hard', severity: 'high', limitMinor: 0n, count: 3n, windowMs: 0n, bandPercent: 85n },
    { id: 'wl-soft', kind: 'watchlist.match', mode: 'soft', severity: 'medium', limitMinor: 0n, count: 2n, windowMs: 0n, bandPercent: 85n },
    { id: 'wl-watch', kind: 'watchlist.match', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 1n, windowMs: 0n, bandPercent: 85n },
  ],
};
const code = (c: string, ...words: string[]) => (e: unknown) => e instanceof LedgerError && e.code === c && words.every((w) => e.message.includes(w));

for (const engine of ENGINES) {
  describe(`watchlist screening at funding and defunding on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `watchlist-offline-${engine}`, { rules: RULES, verifyWorkers: 0 });
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
    });
    after(async () => net.cleanup());

    const list = (name: string, risk: string) =>
      net.fiA.compliance.importWatchlist({ format: 'json', mode: 'append', data: JSON.stringify({ name, riskLevel: risk, listSource: 'TEST', expiryDate: '2030-12-31' }) }, 'op-list');
    const loaded = async (name: string): Promise<TestDevice> => {
      const d = await newDevice(net, net.fiA, name, { depositMinor: 10_000n });
      await load(d, 2_000n, `${name}/load0`);
      return d;
    };
    const ruleIds = async (customerId: string) => (await net.fiA.alerts(customerId)).map((a) => a.ruleId).sort();

    test('funding: hard refuses naming the rule and changes nothing; soft needs an override; monitor alerts', async () => {
      const hard = await loaded('harri-hardlist');
      const soft = await loaded('saara-softlist');
      const watch = await loaded('mikko-monitor');
      await list('Harri Hardlist', 'high');
      await list('Saara Softlist', 'medium');
      await list('Mikko Monitor', 'low');
      const before = [await net.fiA.ledger.balance(hard.accountId), (await loadDevice(net.fiA.db, hard.deviceId)).vouchersIssued];
      await assert.rejects(load(hard, 100n, 'harri/load1'), code('RULE_REFUSED', 'wl-hard', 'Harri Hardlist'));
      assert.deepEqual([await net.fiA.ledger.balance(hard.accountId), (await loadDevice(net.fiA.db, hard.deviceId)).vouchersIssued], before);
      await assert.rejects(load(soft, 100n, 'saara/load1'), code('RULE_OVERRIDE_REQUIRED', 'wl-soft'));
      const alert = (await net.fiA.alerts(soft.customerId)).find((a) => a.ruleId === 'wl-soft')!;
      await net.fiA.overrideRule(alert.id, 'not the listed person: date of birth differs', 'op-desk');
      await load(soft, 100n, 'saara/load1');
      await load(watch, 100n, 'mikko/load1');
      assert.deepEqual(await ruleIds(watch.customerId), ['wl-watch']);
    });

    test('defunding: a hard or soft hit records the unload and holds the next load; a monitor hit only alerts', async () => {
      const hard = await loaded('hilla-hardlist');
      const soft = await loaded('sami-softlist');
      const watch = await loaded('minna-monitor');
      await list('Hilla Hardlist', 'high');
      await list('Sami Softlist', 'medium');
      await list('Minna Monitor', 'low');
      for (const d of [hard, soft, watch]) {
        const balance = await net.fiA.ledger.balance(d.accountId);
        await net.fiA.applyUnloadRecord((await d.client.makeUnloadRecord(500n)).record);
        assert.equal(await net.fiA.ledger.balance(d.accountId), balance + 500n, `${d.name}: the unloaded value reaches the account`);
      }
      const held = async (d: TestDevice, rule: string) => (await net.fiA.alerts(d.customerId)).find((a) => a.ruleId === rule)!;
      assert.deepEqual([(await held(hard, 'wl-hard')).holds, (await held(soft, 'wl-soft')).holds], [true, true]);
      await assert.rejects(load(hard, 100n, 'hilla/load1'), code('RULE_REFUSED', 'wl-hard'));
      await assert.rejects(load(soft, 100n, 'sami/load1'), code('RULE_OVERRIDE_REQUIRED', 'wl-soft'));
      assert.deepEqual(await ruleIds(watch.customerId), ['wl-watch']);
      assert.equal((await held(watch, 'wl-watch')).holds, false);
      assert.equal((await net.fiA.verifyComplianceLog()).ok, true);
    });
  });
}
