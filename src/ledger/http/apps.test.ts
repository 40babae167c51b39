// The CB and FI HTTP apps over real sockets on 127.0.0.1 (each node on its own ephemeral port,
// as separate processes would be), and the embedded app that mounts them all in one server.
// Amounts travel as decimal strings, every POST needs an Idempotency-Key, errors carry codes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { ENGINES, countingRng, fakeClock, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { bearer, tokenFor } from '../../../test/ledger/credentials.ts';
import { createCbApp, createEmbeddedApp, createFiApp } from './apps.ts';
import { CbLedger } from '../cb/book.ts';
import { FiLedger } from '../fi/book.ts';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function client(base: string, token?: string) {
  return async (method: 'GET' | 'POST', path: string, payload?: unknown, key?: string): Promise<Reply> => {
    const headers: Record<string, string> = token === undefined ? {} : bearer(token);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (key !== undefined) headers['idempotency-key'] = key;
    const res = await fetch(base + path, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

const errorCode = (r: Reply) => (r.body['error'] as { code?: string } | undefined)?.code;

for (const engine of ENGINES) {
  describe(`HTTP services on ${engine}`, () => {
    const dbs: FreshDb[] = [];
    const apps: FastifyInstance[] = [];
    let cbHttp: ReturnType<typeof client>;
    let aHttp: ReturnType<typeof client>;
    let bHttp: ReturnType<typeof client>;

    before(async () => {
      for (let i = 0; i < 3; i++) dbs.push(await freshDb(engine));
      const clock = fakeClock();
      const cb = await createCbApp({ db: dbs[0]!.db, clock, rng: countingRng('cb') });
      const a = await createFiApp({ db: dbs[1]!.db, clock, rng: countingRng('a'), fiId: 'fi-a' });
      const b = await createFiApp({ db: dbs[2]!.db, clock, rng: countingRng('b'), fiId: 'fi-b' });
      apps.push(cb.app, a.app, b.app);
      const bases = await Promise.all(apps.map((app) => app.listen({ port: 0, host: '127.0.0.1' })));
      const tokens = [await tokenFor(dbs[0]!.db, 'cb-operator'), await tokenFor(dbs[1]!.db, 'fi-operator'), await tokenFor(dbs[2]!.db, 'fi-operator')];
      [cbHttp, aHttp, bHttp] = bases.map((b, i) => client(b, tokens[i])) as [typeof cbHttp, typeof cbHttp, typeof cbHttp];
    });
    after(async () => {
      for (const app of apps) await app.close();
      for (const d of dbs) await d.cleanup();
    });

    test('a payment walks through three nodes over HTTP with exact balances and clean audits', async () => {
      assert.deepEqual((await cbHttp('GET', '/health')).body, { ok: true, node: 'cb' });
      for (const fiId of ['fi-a', 'fi-b']) assert.equal((await cbHttp('POST', '/fis', { fiId }, `reg-${fiId}`)).status, 201);
      // Eleven issues reach 9 999 999 999 999 991 minor units: odd and above 2^53, so any trip
      // through a JavaScript number on the way would show.
      const issues = [...Array.from({ length: 10 }, () => '999999999999999'), '1'];
      let issued: Reply | undefined;
      for (const [i, amountMinor] of issues.entries()) {
        issued = await cbHttp('POST', '/issue', { fiId: 'fi-a', amountMinor }, `iss-${i}`);
        assert.equal(issued.status, 200, JSON.stringify(issued.body));
        assert.equal((await aHttp('POST', '/treasury/credit', { amountMinor, reference: `iss-${i}` }, `t-${i}`)).status, 200);
      }
      assert.equal(issued!.body['balanceMinor'], '9999999999999991');
      const cust = await aHttp('POST', '/customers', { tier: 1, identity: { name: 'Ann' } }, 'kyc-ann');
      assert.equal(cust.status, 201);
      const acct = await aHttp('POST', `/customers/${cust.body['customerId']}/accounts`, {}, 'open-ann');
      const ann = acct.body['accountId'] as string;
      const bobCust = await bHttp('POST', '/customers', { tier: 2, identity: { name: 'Bob' } }, 'kyc-bob');
      const bob = (await bHttp('POST', `/customers/${bobCust.body['customerId']}/accounts`, {}, 'open-bob')).body['accountId'] as string;
      assert.equal((await aHttp('POST', `/accounts/${ann}/deposit`, { amountMinor: '5000' }, 'dep-1')).body['balanceMinor'], '5000');
      assert.equal((await aHttp('POST', `/accounts/${ann}/transfer-out`, { toFiId: 'fi-b', amountMinor: '1200' }, 'x1-out')).body['balanceMinor'], '3800');
      const settled = await cbHttp('POST', '/transfers', { fromFiId: 'fi-a', toFiId: 'fi-b', amountMinor: '1200' }, 'x1-settle');
      assert.equal(settled.body['toBalanceMinor'], '1200');
      assert.equal((await bHttp('POST', `/accounts/${bob}/transfer-in`, { fromFiId: 'fi-a', amountMinor: '1200' }, 'x1-in')).body['balanceMinor'], '1200');
      assert.deepEqual((await bHttp('GET', `/accounts/${bob}`)).body, { accountId: bob, balanceMinor: '1200' });
      assert.equal((await cbHttp('GET', '/fis/fi-a/reserve')).body['balanceMinor'], String(9999999999999991n - 1200n));
      for (const node of [cbHttp, aHttp, bHttp]) {
        const audit = await node('GET', '/audit');
        assert.equal(audit.status, 200);
        assert.equal(audit.body['clean'], true, JSON.stringify(audit.body['violations']));
      }
    });

    test('errors carry stable codes and statuses; a missing Idempotency-Key is a 400', async () => {
      const noKey = await cbHttp('POST', '/issue', { fiId: 'fi-a', amountMinor: '1' });
      assert.deepEqual([noKey.status, errorCode(noKey)], [400, 'BAD_REQUEST']);
      const bad = await cbHttp('POST', '/issue', { fiId: 'fi-a', amountMinor: 12 }, 'e-1');
      assert.deepEqual([bad.status, errorCode(bad)], [400, 'AMOUNT_INVALID']);
      const unknown = await cbHttp('POST', '/issue', { fiId: 'fi-zz', amountMinor: '1' }, 'e-2');
      assert.deepEqual([unknown.status, errorCode(unknown)], [404, 'UNKNOWN_ACCOUNT']);
      const poor = await cbHttp('POST', '/transfers', { fromFiId: 'fi-b', toFiId: 'fi-a', amountMinor: '999999' }, 'e-3');
      assert.deepEqual([poor.status, errorCode(poor)], [409, 'INSUFFICIENT_FUNDS']);
      const reused = await cbHttp('POST', '/issue', { fiId: 'fi-a', amountMinor: '2' }, 'e-2');
      assert.deepEqual([reused.status, errorCode(reused)], [422, 'IDEMPOTENCY_MISMATCH']);
      const replayed = await cbHttp('POST', '/issue', { fiId: 'fi-zz', amountMinor: '1' }, 'e-2');
      assert.deepEqual(replayed, unknown);
    });

    test('ten concurrent identical HTTP requests: one effect, ten identical answers', async () => {
      const before = (await cbHttp('GET', '/issued')).body['issuedMinor'] as string;
      const replies = await Promise.all(Array.from({ length: 10 }, () => cbHttp('POST', '/issue', { fiId: 'fi-b', amountMinor: '31' }, 'conc-1')));
      for (const r of replies) assert.deepEqual(r, replies[0]);
      assert.equal(replies[0]!.status, 200);
      assert.equal((await cbHttp('GET', '/issued')).body['issuedMinor'], String(BigInt(before) + 31n));
    });

    test('nullifiers go in as hex and come back as inserted, duplicate or conflict', async () => {
      const item = (n: number, p: number) => ({ epoch: '4', nullifier: 'ab'.repeat(47) + n.toString(16).padStart(2, '0'), paymentHash: 'cd'.repeat(31) + p.toString(16).padStart(2, '0') });
      const r1 = await cbHttp('POST', '/nullifiers', { items: [item(1, 1), item(2, 2)] }, 'nul-1');
      assert.deepEqual(r1.body['outcomes'], ['inserted', 'inserted']);
      const r2 = await cbHttp('POST', '/nullifiers', { items: [item(1, 1), item(2, 3)] }, 'nul-2');
      assert.deepEqual(r2.body['outcomes'], ['duplicate', 'conflict']);
      const conflict = (r2.body['conflicts'] as Array<Record<string, string>>)[0]!;
      assert.deepEqual([conflict['paymentHash'], conflict['existingPaymentHash']], [item(2, 3).paymentHash, item(2, 2).paymentHash]);
      const bad = await cbHttp('POST', '/nullifiers', { items: [{ ...item(3, 3), nullifier: 'zz' }] }, 'nul-3');
      assert.deepEqual([bad.status, errorCode(bad)], [400, 'BAD_REQUEST']);
    });
  });
}

test('the embedded app mounts a CB and several FIs in one server under prefixes', async () => {
  const dbs = await Promise.all([freshDb('sqlite'), freshDb('sqlite'), freshDb('sqlite')]);
  try {
    const cb = await CbLedger.open({ db: dbs[0]!.db });
    const fis = [await FiLedger.open({ db: dbs[1]!.db, fiId: 'fi-a' }), await FiLedger.open({ db: dbs[2]!.db, fiId: 'fi-b' })];
    const app = await createEmbeddedApp({ cb, fis });
    const get = async (url: string) => (await app.inject({ method: 'GET', url })).json() as Record<string, unknown>;
    assert.deepEqual(await get('/cb/health'), { ok: true, node: 'cb' });
    assert.deepEqual(await get('/fi/fi-a/health'), { ok: true, node: 'fi', fiId: 'fi-a' });
    assert.deepEqual(await get('/fi/fi-b/health'), { ok: true, node: 'fi', fiId: 'fi-b' });
    const reg = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/cb/fis', headers: { 'idempotency-key': 'r', ...headers }, payload: { fiId: 'fi-a' } });
    // Each node knows only its own operators: an FI operator's token means nothing at the CB.
    assert.equal((await reg(bearer(await tokenFor(dbs[1]!.db, 'fi-operator')))).statusCode, 401);
    assert.equal((await reg(bearer(await tokenFor(dbs[0]!.db, 'cb-operator')))).statusCode, 201);
    await app.close();
  } finally {
    for (const d of dbs) await d.cleanup();
  }
});
