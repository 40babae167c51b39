// The ledger's HTTP clients (cb_client.ts, fi_client.ts) against a hostile node: a real HTTP
// server on loopback that answers each route with a well-formed answer, or with that answer
// tampered one field at a time (removed, retyped, an unknown enumeration value, a list of the wrong
// length). The well-formed answer decodes; every tampered one is a LedgerError ANSWER_INVALID —
// never a cast value handed on to the books.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CbHttpClient, FiHttpClient, LedgerError, LedgerErrorCode } from '../../src/ledger/index.ts';

type Answer = { status: number; body: string };
let next: (path: string) => Answer = () => ({ status: 500, body: '{}' });
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = next(new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const hex = (n: number) => 'ab'.repeat(n);
const json = (o: unknown): Answer => ({ status: 200, body: JSON.stringify(o) });

async function answerInvalid(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LedgerError, `${what}: expected a LedgerError, got ${String(e)}`);
    assert.equal(e.code, LedgerErrorCode.answerInvalid, `${what}: ${e.message}`);
    return true;
  }, `${what}: decoded without complaint`);
}

/**
 * Each way to spoil field `key` of `o`: gone, of another type (a number, or for a number its text
 * and a fraction), an object, a non-hex / non-decimal string.
 */
function spoiled(o: Record<string, unknown>, key: string): Array<[string, Record<string, unknown>]> {
  const { [key]: _drop, ...without } = o;
  const retyped: Array<[string, Record<string, unknown>]> = typeof o[key] === 'number'
    ? [[`${key} = "42"`, { ...o, [key]: '42' }], [`${key} = 1.5`, { ...o, [key]: 1.5 }]]
    : [[`${key} = 42`, { ...o, [key]: 42 }]];
  return [
    [`${key} removed`, without],
    ...retyped,
    [`${key} = {}`, { ...o, [key]: {} }],
    [`${key} = "zz"`, { ...o, [key]: 'zz' }],
  ];
}

const INFO = { publicKey: hex(33), regulatorKey: hex(48) };
const INCIDENT = {
  id: 'inc-1', epoch: '7', nullifier: hex(48), firstPaymentHash: hex(32), secondPaymentHash: hex(32), tier: 1, exposureMinor: '500',
  kPoint: null, fiId: null, customerId: null, deviceId: null, uploaderFiId: 'bank-a', uploaderDeviceId: hex(16),
};
const REGISTERED = { outcomes: ['inserted', 'conflict'], incidents: [INCIDENT], reclaimedMinor: ['0', '0'], refusals: [] };
const REGISTER_INPUT = { fiId: 'bank-a', deviceId: new Uint8Array(16), records: [new Uint8Array(4), new Uint8Array(4)], idempotencyKey: 'k' };

async function cbClient(): Promise<CbHttpClient> {
  next = () => json(INFO);
  return CbHttpClient.connect(`${base}/cb`);
}

test('CB client: a well-formed registration answer decodes, and each field tampered in turn is ANSWER_INVALID', async () => {
  const cb = await cbClient();
  next = () => json(REGISTERED);
  const ok = await cb.registerPayments(REGISTER_INPUT);
  assert.deepEqual(ok.outcomes, ['inserted', 'conflict']);
  assert.equal(ok.incidents[0]!.exposureMinor, 500n);
  for (const key of Object.keys(REGISTERED)) {
    for (const [what, body] of spoiled(REGISTERED, key)) {
      next = () => json(body);
      await answerInvalid(cb.registerPayments(REGISTER_INPUT), what);
    }
  }
  const cases: Array<[string, unknown]> = [
    ['an outcome the registry has no word for', { ...REGISTERED, outcomes: ['inserted', 'credited'] }],
    ['one outcome for two records', { ...REGISTERED, outcomes: ['inserted'] }],
    ['three outcomes for two records', { ...REGISTERED, outcomes: ['inserted', 'inserted', 'duplicate'] }],
    ['a reclaimed amount as a number', { ...REGISTERED, reclaimedMinor: [0, 0] }],
    ['upper-case hex in a refusal', { ...REGISTERED, refusals: ['ABCD'] }],
    ['odd-length hex in a refusal', { ...REGISTERED, refusals: ['abc'] }],
    ['an answer that is a list', [REGISTERED]],
  ];
  for (const field of Object.keys(INCIDENT)) {
    if (['kPoint', 'fiId', 'customerId', 'deviceId', 'uploaderFiId', 'uploaderDeviceId'].includes(field)) {
      cases.push([`incident ${field} = 42`, { ...REGISTERED, incidents: [{ ...INCIDENT, [field]: 42 }] }]);
    } else {
      for (const [what, inc] of spoiled(INCIDENT, field)) {
        if (field === 'id' && what.endsWith('"zz"')) continue; // an id is any string
        cases.push([`incident ${what}`, { ...REGISTERED, incidents: [inc] }]);
      }
    }
  }
  for (const [what, body] of cases) {
    next = () => json(body);
    await answerInvalid(cb.registerPayments(REGISTER_INPUT), what);
  }
});

test('CB client: connect, blocked, reclaim and circulation answers are checked too', async () => {
  for (const [what, body] of [...spoiled(INFO, 'publicKey'), ...spoiled(INFO, 'regulatorKey')]) {
    next = () => json(body);
    await answerInvalid(CbHttpClient.connect(`${base}/cb`), `info ${what}`);
  }
  const cb = await cbClient();
  next = () => json({ blocked: 'true' });
  await answerInvalid(cb.isBlocked('bank-a', 'c-1'), 'blocked as a string');
  next = () => json({ blocked: false });
  assert.equal(await cb.isBlocked('bank-a', 'c-1'), false);
  next = () => json({ reclaimed: 1 });
  await answerInvalid(cb.reclaimPayment({ fiId: 'bank-a', epoch: 1n, nullifier: new Uint8Array(48), paymentHash: new Uint8Array(32), amountMinor: 5n, idempotencyKey: 'r' }), 'reclaimed as a number');
  next = () => json({ transactionId: 't-1', balanceMinor: 12 });
  await answerInvalid(cb.fundCirculation({ fiId: 'bank-a', amountMinor: 5n, idempotencyKey: 'f' }), 'balance as a number');
});

const DISTRIBUTION = {
  tier: 1, currentEpoch: '7', policyVersion: '1', signedPolicy: hex(40), issuerKeys: [{ epoch: '7', publicKey: hex(96), cert: hex(170) }],
  revocationVersion: '0', signedRevocationList: hex(40),
};
const SYNCED = {
  deviceId: hex(16), batchId: '3', ack: hex(80), receiptCount: 2, outcomes: ['inserted', 'duplicate'], incidentIds: [], balanceMinor: '1200',
  refusals: [], replayed: false, unloads: [{ deviceId: hex(16), unloadCounter: '1', amountMinor: '100', accountBalanceMinor: '900' }],
  reclaim: null, distribution: DISTRIBUTION, renewal: { offered: true, epoch: '8', issuerNonce: hex(32) },
};
const SYNC_INPUT = { report: new Uint8Array(8), payments: [new Uint8Array(4), new Uint8Array(4)] };
const OPTIONAL_IN_SYNC = new Set(['refusals', 'reclaim']);

test('FI client: a well-formed sync answer decodes, and each field tampered in turn is ANSWER_INVALID', async () => {
  const fi = new FiHttpClient(`${base}/fi/bank-a`);
  next = () => json(SYNCED);
  const ok = await fi.sync(SYNC_INPUT);
  assert.equal(ok.balanceMinor, 1200n);
  assert.equal(ok.distribution.issuerKeys[0]!.epoch, 7n);
  const { refusals: _r, reclaim: _c, ...withoutOptional } = SYNCED;
  next = () => json(withoutOptional);
  assert.equal((await fi.sync(SYNC_INPUT)).reclaim, null, 'refusals and reclaim may be absent');
  for (const key of Object.keys(SYNCED)) {
    for (const [what, body] of spoiled(SYNCED, key)) {
      if (OPTIONAL_IN_SYNC.has(key) && what.endsWith('removed')) continue;
      next = () => json(body);
      await answerInvalid(fi.sync(SYNC_INPUT), what);
    }
  }
  const cases: Array<[string, unknown]> = [
    ['one outcome for two payments', { ...SYNCED, outcomes: ['inserted'] }],
    ['an unknown outcome', { ...SYNCED, outcomes: ['inserted', 'settled'] }],
    ['a renewal refusal with an unknown code', { ...SYNCED, renewal: { offered: false, code: 'MAYBE', message: 'x' } }],
    ['a renewal offer without its nonce', { ...SYNCED, renewal: { offered: true, epoch: '8' } }],
    ['a distribution tier as text', { ...SYNCED, distribution: { ...DISTRIBUTION, tier: '1' } }],
    ['an issuer key epoch as a number', { ...SYNCED, distribution: { ...DISTRIBUTION, issuerKeys: [{ epoch: 7, publicKey: hex(96), cert: hex(170) }] } }],
    ['a reclaim claim with an unknown status', { ...SYNCED, reclaim: { outcomes: hex(2), claims: [{ recordHash: hex(32), paymentHash: hex(32), amountMinor: '5', windowEndMs: '9', status: 'lost' }] } }],
    ['an unload amount with a fraction', { ...SYNCED, unloads: [{ ...SYNCED.unloads[0], amountMinor: '1.5' }] }],
  ];
  for (const [what, body] of cases) {
    next = () => json(body);
    await answerInvalid(fi.sync(SYNC_INPUT), what);
  }
});

test('error answers: a known code passes through, an unknown code or a body that is not JSON is ANSWER_INVALID', async () => {
  const fi = new FiHttpClient(`${base}/fi/bank-a`);
  next = () => ({ status: 409, body: JSON.stringify({ error: { code: 'REPLAY_CONFLICT', message: 'seen' } }) });
  await assert.rejects(fi.sync(SYNC_INPUT), (e: unknown) => e instanceof LedgerError && e.code === 'REPLAY_CONFLICT' && e.message === 'seen');
  next = () => ({ status: 400, body: JSON.stringify({ error: { code: 'GIVE_ME_MONEY', message: 'x' } }) });
  await answerInvalid(fi.sync(SYNC_INPUT), 'unknown error code');
  next = () => ({ status: 200, body: '<html>' });
  await answerInvalid(fi.sync(SYNC_INPUT), 'HTML');
  next = () => ({ status: 502, body: '' });
  await answerInvalid(fi.sync(SYNC_INPUT), 'empty error body');
});
