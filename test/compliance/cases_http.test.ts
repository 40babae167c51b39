// The watchlist and case routes over HTTP (the embedded app, SQLite): a watchlist import with a
// bad line is a 400 naming the line and imports nothing; a good one is listed; a customer on the
// list raises an alert, an operator opens a case with it, notes and closes it under their own id;
// the export comes back as JSON and as RFC 4180 CSV (text/csv), each export logged with who took it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { Tier } from '../../src/policy/limits.ts';
import type { RuleSet } from '../../src/compliance/index.ts';
import { fundFi, newCustomer, openOfflineNet, type OfflineNet } from '../ledger/offline_world.ts';
import { parseCsv } from './csv.ts';

const RULES: RuleSet = { version: 1n, rules: [{ id: 'wl-watch', kind: 'watchlist.match', mode: 'monitor', severity: 'medium', limitMinor: 0n, count: 1n, windowMs: 0n, bandPercent: 85n }] };
let net: OfflineNet;
let app: FastifyInstance;
let token: string;
let customer: { customerId: string; accountId: string };

before(async () => {
  net = await openOfflineNet('sqlite', 'cases-http', { verifyWorkers: 0, rules: RULES });
  await fundFi(net, net.fiA, 100_000n, 'fund-a');
  customer = await newCustomer(net.fiA, 'ville-valvottu', Tier.full);
  token = (await addOperator(net.fiA.db, { name: 'Vera Operator', role: 'fi-operator' })).token;
  app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
});
after(async () => {
  await app?.close();
  await net?.cleanup();
});

let sent = 0;
const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `test-${++sent}` }) }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
const HEADER = 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date';

test('a watchlist import with a bad line is refused naming it; a good one is listed', async () => {
  const bad = await call('POST', '/fi/fi-a/compliance/watchlist', { format: 'csv', mode: 'replace', data: `${HEADER}\nVille Valvottu,,,,low,TEST,2030-12-31\nNo Date,,,,low,TEST,someday\n` });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /Watchlist line 3: expiryDate/);
  assert.deepEqual((await call('GET', '/fi/fi-a/compliance/watchlist')).json().entries, []);
  const good = await call('POST', '/fi/fi-a/compliance/watchlist', { format: 'csv', mode: 'replace', data: `${HEADER}\nVille Valvottu,V. Valvottu,1980-01-01,FI,low,TEST,2030-12-31\n` });
  assert.equal(good.statusCode, 200, good.body);
  assert.deepEqual([good.json().imported, good.json().total], [1, 1]);
  const listed = (await call('GET', '/fi/fi-a/compliance/watchlist')).json().entries;
  assert.deepEqual(listed.map((e: { name: string; country: string }) => [e.name, e.country]), [['Ville Valvottu', 'FI']]);
  assert.equal((await call('POST', '/fi/fi-a/compliance/watchlist', { format: 'xml', mode: 'replace', data: '' })).statusCode, 400);
});

test('a watchlist import is once per Idempotency-Key: a retried append adds its entries once; the key with another list is refused', async () => {
  const keyed = (key: string | null, data: string) =>
    app.inject({ method: 'POST', url: '/fi/fi-a/compliance/watchlist', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) }, payload: JSON.stringify({ format: 'csv', mode: 'append', data }) });
  // Read from the books, not the GET route: the route's audit calls are rate limited, and the case test below needs its share.
  const entries = async () => (await net.fiA.db.query('SELECT id FROM watchlist_entries')).length;
  const imports = async () => (await net.fiA.db.query("SELECT seq FROM compliance_log WHERE action = 'watchlist.import'")).length;
  const before = [await entries(), await imports()];
  const list = `${HEADER}\nAppended Once,,,,low,TEST,2030-12-31\nAppended Twice,,,,medium,TEST,2030-12-31\n`;
  const first = await keyed('wl-append-1', list);
  assert.equal(first.statusCode, 200, first.body);
  const again = await keyed('wl-append-1', list);
  assert.equal(again.statusCode, 200, again.body);
  assert.deepEqual(again.json(), first.json(), 'the retry gets the first answer');
  assert.deepEqual([await entries(), await imports()], [before[0]! + 2, before[1]! + 1], 'two entries and one log entry, not four and two');
  const other = await keyed('wl-append-1', `${HEADER}\nSomeone Else,,,,low,TEST,2030-12-31\n`);
  assert.equal(other.statusCode, 422, other.body);
  assert.equal(other.json().error.code, 'IDEMPOTENCY_MISMATCH');
  const unkeyed = await keyed(null, list);
  assert.equal(unkeyed.statusCode, 400, unkeyed.body);
  assert.deepEqual([await entries(), await imports()], [before[0]! + 2, before[1]! + 1], 'the refused requests changed nothing');
});

test('a case over HTTP: opened with the alert, noted, closed, exported as JSON and CSV under the operator id', async () => {
  await net.fiA.ledger.deposit({ accountId: customer.accountId, amountMinor: 500n, idempotencyKey: 'ville/dep' });
  const [alert] = await net.fiA.alerts(customer.customerId);
  assert.match(alert!.detail, /Ville Valvottu.*score 100/);
  const opened = await call('POST', '/fi/fi-a/compliance/cases', { customerId: customer.customerId, alertIds: [alert!.id] });
  assert.equal(opened.statusCode, 201, opened.body);
  const caseId = opened.json().case.id as string;
  assert.match(opened.json().case.openedBy, /^op-[0-9a-f]{16}$/);
  assert.equal((await call('POST', `/fi/fi-a/compliance/cases/${caseId}/notes`, { text: 'Name, with "quotes"\nand a second line' })).statusCode, 200);
  assert.equal((await call('POST', `/fi/fi-a/compliance/cases/${caseId}/notes`, { text: '' })).statusCode, 400);
  assert.equal((await call('POST', `/fi/fi-a/compliance/cases/${caseId}/alerts`, { alertId: alert!.id })).statusCode, 400, 'already in the case');
  const closed = await call('POST', `/fi/fi-a/compliance/cases/${caseId}/close`, { reason: 'reported to the FIU' });
  assert.equal(closed.json().case.status, 'closed');
  assert.equal((await call('GET', '/fi/fi-a/compliance/cases/case_unknown')).statusCode, 404);
  const json = await call('GET', `/fi/fi-a/compliance/cases/${caseId}/export?format=json`);
  assert.equal(json.statusCode, 200);
  assert.deepEqual([json.json().customer.identity, json.json().alerts.length, json.json().notes[0].text], [{ name: 'ville-valvottu' }, 1, 'Name, with "quotes"\nand a second line']);
  const csv = await call('GET', `/fi/fi-a/compliance/cases/${caseId}/export?format=csv`);
  assert.equal(csv.statusCode, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  const rows = parseCsv(csv.body);
  assert.deepEqual(rows.find((r) => r[0] === 'note')!.at(-1), 'Name, with "quotes"\nand a second line');
  assert.deepEqual(rows.filter((r) => r[0] === 'event').map((r) => r[4]), ['deposit']);
  assert.equal((await call('GET', `/fi/fi-a/compliance/cases/${caseId}/export?format=pdf`)).statusCode, 400);
  const log = await net.fiA.db.query("SELECT actor, detail FROM compliance_log WHERE action = 'case.export' ORDER BY seq");
  assert.deepEqual(log.map((r) => JSON.parse(String(r['detail'])).format), ['json', 'csv']);
  for (const r of log) assert.match(String(r['actor']), /^op-[0-9a-f]{16}$/);
  assert.equal((await call('GET', '/fi/fi-a/compliance/log/check')).json().ok, true);
  const listed = await call('GET', `/fi/fi-a/compliance/cases?customerId=${customer.customerId}`);
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(listed.json().cases.map((c: { id: string }) => c.id), [caseId]);
});
