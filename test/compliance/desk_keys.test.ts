// The compliance desk's writes over HTTP take an Idempotency-Key, on SQLite and PostgreSQL: the
// same key and the same body answer the first answer again and write nothing (no case, note or
// compliance log entry more); the same key with another body is IDEMPOTENCY_MISMATCH (422) and
// writes nothing either; no key is a 400. Covers opening a case, adding an alert, a note,
// closing, an FI alert's assignment and resolution, and the CB's resolution of an aggregate alert.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { recordHit } from '../../src/ledger/fi/compliance.ts';
import { Tier } from '../../src/policy/limits.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, newCustomer, openOfflineNet, type OfflineNet } from '../ledger/offline_world.ts';

for (const engine of ENGINES) {
  describe(`compliance desk writes under an Idempotency-Key (${engine})`, () => {
    let net: OfflineNet;
    let app: FastifyInstance;
    let fiToken: string;
    let cbToken: string;
    let eve: { customerId: string; accountId: string };

    before(async () => {
      net = await openOfflineNet(engine, `desk-keys-${engine}`, { verifyWorkers: 0 });
      await fundFi(net, net.fiA, 12_000_000n, 'fund-a');
      eve = await newCustomer(net.fiA, 'eve', Tier.full);
      for (const k of ['1', '2']) await net.fiA.ledger.deposit({ accountId: eve.accountId, amountMinor: 6_000_000n, idempotencyKey: `eve/deposit-${k}` });
      fiToken = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
      cbToken = (await addOperator(net.cb.db, { name: 'Cora Operator', role: 'cb-operator' })).token;
      app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
    });
    after(async () => {
      await app?.close();
      await net?.cleanup();
    });

    const post = (token: string, url: string, payload: unknown, key: string | null) =>
      app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) }, payload: JSON.stringify(payload) });
    /** What a desk write changes: the cases with their alerts and notes, the alerts, the compliance log. */
    const fiState = async () => JSON.stringify({ cases: await net.fiA.compliance.cases(), alerts: await net.fiA.alerts(), log: await net.fiA.verifyComplianceLog() }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    const cbState = async () => JSON.stringify({ alerts: await net.cb.complianceAlerts(), log: await net.cb.verifyComplianceLog() }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

    /** The first request succeeds; its replay answers the same and writes nothing; another body under the key is refused and writes nothing. */
    async function once(token: string, url: string, first: unknown, other: unknown, status: number, state: () => Promise<string>) {
      const key = `desk-${randomBytes(8).toString('hex')}`;
      assert.equal((await post(token, url, first, null)).statusCode, 400, 'no key: refused');
      const answer = await post(token, url, first, key);
      assert.equal(answer.statusCode, status, answer.body);
      const after = await state();
      const replay = await post(token, url, first, key);
      assert.equal(replay.statusCode, status, replay.body);
      assert.deepEqual(replay.json(), answer.json(), 'the replay answers the first answer');
      assert.equal(await state(), after, 'the replay writes nothing');
      const mismatch = await post(token, url, other, key);
      assert.equal(mismatch.statusCode, 422, mismatch.body);
      assert.equal(mismatch.json().error.code, 'IDEMPOTENCY_MISMATCH');
      assert.equal(await state(), after, 'the refused request writes nothing');
      return answer.json();
    }

    test('case open, add-alert, note and close: a replay answers again, another body is IDEMPOTENCY_MISMATCH', async () => {
      const alert = (await net.fiA.alerts(eve.customerId)).find((a) => a.ruleId === 'holding-watch')!;
      const opened = await once(fiToken, '/fi/fi-a/compliance/cases', { customerId: eve.customerId }, { customerId: eve.customerId, alertIds: [alert.id] }, 201, fiState);
      const caseId = opened.case.id as string;
      assert.equal((await net.fiA.compliance.cases(eve.customerId)).length, 1, 'one case, not two');
      const d = { db: net.fiA.db, rules: net.fiA.ledger.rules!, rng: (n: number) => new Uint8Array(randomBytes(n)), nowMs: net.clock.nowMs() };
      const other = await net.fiA.db.transaction((tx) => recordHit(tx, d, eve.customerId, { ruleId: 'desk-watch', mode: 'monitor', severity: 'low', detail: 'raised for the test' }));
      await once(fiToken, `/fi/fi-a/compliance/cases/${caseId}/alerts`, { alertId: alert.id }, { alertId: other }, 200, fiState);
      const noted = await once(fiToken, `/fi/fi-a/compliance/cases/${caseId}/notes`, { text: 'called the customer' }, { text: 'called the customer twice' }, 200, fiState);
      assert.equal(noted.case.notes.length, 1, 'one note, not two');
      await once(fiToken, `/fi/fi-a/compliance/cases/${caseId}/close`, { reason: 'explained' }, { reason: 'not explained' }, 200, fiState);
      assert.equal((await net.fiA.verifyComplianceLog()).ok, true);
    });

    test('an FI alert assigned and resolved, and a CB alert resolved, once per key', async () => {
      const alert = (await net.fiA.alerts(eve.customerId)).find((a) => a.ruleId === 'desk-watch')!;
      await once(fiToken, `/fi/fi-a/compliance/alerts/${alert.id}`, { action: 'assign', text: 'Finn' }, { action: 'assign', text: 'Fran' }, 200, fiState);
      await once(fiToken, `/fi/fi-a/compliance/alerts/${alert.id}`, { action: 'resolve', text: 'seen' }, { action: 'resolve', text: 'not seen' }, 200, fiState);
      await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 10_000_000_001n, idempotencyKey: 'desk/cb-alert-issue' });
      const cbAlert = (await net.cb.complianceAlerts('fi-b')).find((a) => a.ruleId === 'fi-net-issuance' && a.status === 'open');
      assert.ok(cbAlert, 'the issuance raised the CB alert');
      await once(cbToken, `/cb/compliance/alerts/${cbAlert.id}/resolve`, { reason: 'opening float' }, { reason: 'another reason' }, 200, cbState);
    });
  });
}
