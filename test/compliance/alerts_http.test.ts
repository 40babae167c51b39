// The FI's alert routes over HTTP (the embedded app, SQLite): list, assign (which opens a case), resolve, the log's
// chain check, and the refusals — an unknown action or empty reason (400, by the schema), an
// unknown alert (404), a second resolution (400) — each leaving the alert and the log unchanged.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { Tier } from '../../src/policy/limits.ts';
import { fundFi, newCustomer, openOfflineNet, type OfflineNet } from '../ledger/offline_world.ts';

let net: OfflineNet;
let app: FastifyInstance;
let token: string;
let alertId: string;

before(async () => {
  net = await openOfflineNet('sqlite', 'alerts-http', { verifyWorkers: 0 });
  await fundFi(net, net.fiA, 12_000_000n, 'fund-a');
  const eve = await newCustomer(net.fiA, 'eve', Tier.full);
  for (const k of ['1', '2']) await net.fiA.ledger.deposit({ accountId: eve.accountId, amountMinor: 6_000_000n, idempotencyKey: `eve/deposit-${k}` });
  const op = await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' });
  token = op.token;
  app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
  alertId = (await net.fiA.alerts(eve.customerId)).find((a) => a.ruleId === 'holding-watch')!.id;
});
after(async () => {
  await app?.close();
  await net?.cleanup();
});

let sent = 0;
const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `test-${++sent}` }) }, payload: payload === undefined ? undefined : JSON.stringify(payload) });

test('an operator lists, assigns and resolves an alert over HTTP, each step in the chained log under their id', async () => {
  const listed = await call('GET', '/fi/fi-a/compliance/alerts');
  assert.equal(listed.statusCode, 200);
  assert.ok(listed.json().alerts.some((a: { id: string }) => a.id === alertId));
  const before = await net.fiA.verifyComplianceLog();
  const assigned = await call('POST', `/fi/fi-a/compliance/alerts/${alertId}`, { action: 'assign', text: 'Finn' });
  assert.equal(assigned.statusCode, 200, assigned.body);
  assert.equal(assigned.json().alert.status, 'assigned');
  const resolved = await call('POST', `/fi/fi-a/compliance/alerts/${alertId}`, { action: 'resolve', text: 'documents seen' });
  assert.equal(resolved.statusCode, 200, resolved.body);
  assert.equal(resolved.json().alert.resolutionReason, 'documents seen');
  const check = await call('GET', '/fi/fi-a/compliance/log/check');
  assert.equal(check.json().ok, true);
  // assign, resolve, and the case the first assignment opened (case.open, case.add-alert)
  assert.equal(BigInt(check.json().entries), before.entries + 4n);
  const cases = await call('GET', `/fi/fi-a/compliance/cases?customerId=${assigned.json().alert.customerId}`);
  assert.deepEqual(cases.json().cases.map((c: { alertIds: string[] }) => c.alertIds), [[alertId]]);
  const actors = (await net.fiA.db.query('SELECT actor FROM compliance_log WHERE alert_id = $1 AND action IN ($2, $3)', [alertId, 'alert.assign', 'alert.resolve'])).map((r) => r['actor']);
  assert.equal(actors.length, 2);
  for (const a of actors) assert.match(String(a), /^op-[0-9a-f]{16}$/, 'logged under the operator id the token names');
});

test('bad actions, empty reasons, unknown alerts and a second resolution are refused and change nothing', async () => {
  const log = await net.fiA.verifyComplianceLog();
  const alerts = JSON.stringify(await net.fiA.alerts(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  for (const [id, payload, status, code] of [
    [alertId, { action: 'delete', text: 'x' }, 400, 'BAD_REQUEST'],
    [alertId, { action: 'resolve', text: '' }, 400, 'BAD_REQUEST'],
    [alertId, { action: 'resolve' }, 400, 'BAD_REQUEST'],
    ['alr_unknown', { action: 'resolve', text: 'x' }, 404, 'NOT_FOUND'],
    [alertId, { action: 'resolve', text: 'again' }, 400, 'BAD_REQUEST'],
    [alertId, { action: 'override', text: 'a monitor rule' }, 400, 'BAD_REQUEST'],
  ] as const) {
    const r = await call('POST', `/fi/fi-a/compliance/alerts/${id}`, payload);
    assert.equal(r.statusCode, status, `${JSON.stringify(payload)} → ${r.body}`);
    assert.equal(r.json().error.code, code);
  }
  assert.deepEqual(await net.fiA.verifyComplianceLog(), log);
  assert.equal(JSON.stringify(await net.fiA.alerts(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)), alerts);
});
