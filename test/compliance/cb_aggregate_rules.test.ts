// The CB's AML/CFT rules on its aggregates per FI (src/ledger/cb/aggregate_rules.ts), through the
// real CB and FIs (SQLite and PostgreSQL): an FI's net issuance in a day, its share of the value in flight, and a
// burst of double-spend incidents naming it each raise an alert at the CB at their threshold and
// not one unit below; the alerts are listed and resolved over HTTP (an auditor reads, only a CB
// operator resolves), each step in the CB's hash-chained compliance log.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DAY_MS, type Rule, type RuleSet } from '../../src/compliance/index.ts';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const rule = (r: Partial<Rule> & Pick<Rule, 'id' | 'kind'>): Rule => ({ mode: 'monitor', severity: 'high', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...r });
const CB_RULES: RuleSet = {
  version: 2n,
  rules: [
    rule({ id: 'fi-issuance-day', kind: 'fi.net_issuance', limitMinor: 1_000_000n, windowMs: BigInt(DAY_MS) }),
    rule({ id: 'fi-share', kind: 'fi.in_flight_share', limitMinor: 10_000n, bandPercent: 60n }),
    rule({ id: 'fi-incidents', kind: 'fi.incident_burst', count: 2n, windowMs: BigInt(DAY_MS) }),
  ],
};

for (const engine of ENGINES) describe(`the CB's aggregate rules per FI on ${engine}`, () => {
  let net: OfflineNet;
  before(async () => {
    net = await openOfflineNet(engine, `cb-aggregates-${engine}`, { cbRules: CB_RULES, verifyWorkers: 1 });
    await fundFi(net, net.fiA, 500_000n, 'issue-a');
  });
  after(async () => net.cleanup());
  const alerts = async (fiId: string, ruleId?: string) => (await net.cb.complianceAlerts(fiId)).filter((a) => ruleId === undefined || a.ruleId === ruleId).map((a) => [a.ruleId, a.count]);

  test('net issuance of 1 000 000 in a day (redemptions subtracted) raises nothing; one unit more raises the alert', async () => {
    await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 600_000n, idempotencyKey: 'b/issue-1' });
    await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 400_000n, idempotencyKey: 'b/issue-2' });
    assert.deepEqual(await alerts('fi-b'), []);
    await net.cb.ledger.redeem({ fiId: 'fi-b', amountMinor: 1n, idempotencyKey: 'b/redeem-1' });
    await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 1n, idempotencyKey: 'b/issue-3' });
    assert.deepEqual(await alerts('fi-b'), [], 'a redemption makes room for as much again');
    await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 1n, idempotencyKey: 'b/issue-4' });
    const [alert] = await net.cb.complianceAlerts('fi-b');
    assert.deepEqual([alert?.ruleId, alert?.fiId, alert?.status], ['fi-issuance-day', 'fi-b', 'open']);
    assert.match(alert!.detail, /net issuance 1000001 .* above the limit 1000000/);
    assert.deepEqual(await alerts('fi-a'), [], 'fi-a issued 500 000: nothing');
    await net.fiB.ledger.creditTreasury({ amountMinor: 1_000_001n, reference: 'issue b', idempotencyKey: 'b/treasury' });
  });

  test('an FI holding 60 % of the value in flight raises nothing; above 60 % it raises the share alert, and not below the floor', async () => {
    const a = await newDevice(net, net.fiA, 'share-a', { depositMinor: 7_000n });
    const b = await newDevice(net, net.fiB, 'share-b', { depositMinor: 4_000n });
    await load(a, 6_000n, 'share-a/load-1');
    assert.deepEqual(await alerts('fi-a'), [], 'all of 6 000 in flight, below the 10 000 floor');
    await load(b, 4_000n, 'share-b/load');
    assert.deepEqual(await alerts('fi-b', 'fi-share'), []);
    assert.deepEqual(await net.cb.screenFi('fi-a'), [], '6 000 of 10 000 is 60 %, not above it');
    await load(a, 1n, 'share-a/load-2');
    const [alert] = await net.cb.complianceAlerts('fi-a');
    assert.equal(alert?.ruleId, 'fi-share');
    assert.match(alert!.detail, /6001 of 10001 in flight is above 60 %/);
  });

  test('one double-spend incident naming an FI raises nothing; the second in the day raises the burst alert', async () => {
    const payer = await newDevice(net, net.fiA, 'ds-payer', { depositMinor: 1_000n });
    const shops = [await newDevice(net, net.fiB, 'ds-shop-1'), await newDevice(net, net.fiB, 'ds-shop-2'), await newDevice(net, net.fiB, 'ds-shop-3')] as const;
    await load(payer, 300n, 'ds-payer/load');
    const image = snapshot(payer.backend);
    await pay(payer, shops[0], 100n);
    await pay(payer, shops[0], 100n);
    await syncDevice(shops[0].client, shops[0].fi, { keyPrefix: 'ds-shop-1' });
    const restored: TestDevice = { ...payer, ...openSe(net, 'ds-payer-restored', image) };
    await pay(restored, shops[1], 100n);
    await pay(restored, shops[2], 100n);
    await syncDevice(shops[1].client, shops[1].fi, { keyPrefix: 'ds-shop-2' });
    assert.equal((await net.cb.incidents()).length, 1);
    assert.deepEqual(await alerts('fi-a', 'fi-incidents'), []);
    await syncDevice(shops[2].client, shops[2].fi, { keyPrefix: 'ds-shop-3' });
    assert.equal((await net.cb.incidents()).length, 2);
    const [burst] = await net.cb.complianceAlerts('fi-a').then((l) => l.filter((x) => x.ruleId === 'fi-incidents'));
    assert.match(burst?.detail ?? '', /FI fi-a: 2 double-spend incidents/, 'the FI whose customer was identified');
    assert.deepEqual(await alerts('fi-b', 'fi-incidents'), [], 'an honest payee\'s FI is not named');
  });

  describe('over HTTP', () => {
    let app: FastifyInstance;
    let tokens: { operator: string; auditor: string };
    before(async () => {
      tokens = {
        operator: (await addOperator(net.cb.db, { name: 'Cara Operator', role: 'cb-operator' })).token,
        auditor: (await addOperator(net.cb.db, { name: 'Abe Auditor', role: 'auditor' })).token,
      };
      app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
    });
    after(async () => app?.close());
    let sent = 0;
    const call = (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `test-${++sent}` }) }, payload: payload === undefined ? undefined : JSON.stringify(payload) });

    test('an auditor lists the alerts; only a CB operator resolves one, logged under their id in the chained log', async () => {
      const listed = await call(tokens.auditor, 'GET', '/cb/compliance/alerts?fiId=fi-b');
      assert.equal(listed.statusCode, 200, listed.body);
      const alert = listed.json().alerts.find((x: { ruleId: string }) => x.ruleId === 'fi-issuance-day');
      assert.equal(alert.fiId, 'fi-b');
      const log = await net.cb.verifyComplianceLog();
      assert.equal(log.ok, true);
      const refused = await call(tokens.auditor, 'POST', `/cb/compliance/alerts/${alert.id}/resolve`, { reason: 'an auditor may not' });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.deepEqual(await net.cb.verifyComplianceLog(), log, 'a refused call writes nothing');
      const empty = await call(tokens.operator, 'POST', `/cb/compliance/alerts/${alert.id}/resolve`, { reason: '' });
      assert.equal(empty.statusCode, 400);
      const resolved = await call(tokens.operator, 'POST', `/cb/compliance/alerts/${alert.id}/resolve`, { reason: 'new FI, opening float agreed' });
      assert.equal(resolved.statusCode, 200, resolved.body);
      assert.deepEqual([resolved.json().alert.status, resolved.json().alert.resolutionReason], ['resolved', 'new FI, opening float agreed']);
      const check = await call(tokens.auditor, 'GET', '/cb/compliance/log/check');
      assert.deepEqual([check.json().ok, BigInt(check.json().entries)], [true, log.entries + 1n]);
      const [actor] = (await net.cb.db.query("SELECT actor FROM compliance_log WHERE alert_id = $1 AND action = 'alert.resolve'", [alert.id])).map((r) => String(r['actor']));
      assert.match(actor!, /^op-[0-9a-f]{16}$/);
      const again = await call(tokens.operator, 'POST', `/cb/compliance/alerts/${alert.id}/resolve`, { reason: 'twice' });
      assert.equal(again.statusCode, 400, 'a resolved alert stays resolved');
    });
  });
});
