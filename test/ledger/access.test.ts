// The gate every ledger route sits behind (src/ledger/access/gate.ts), on real books over real
// databases: operators' tokens (made as `tally operator add` makes them, stored hashed), their
// revocation, what a refusal answers and that it changes nothing, the admin log of privileged
// actions and its hash chain, per-caller rate limits, and the two fail-closed rules (a route
// without an access rule cannot be registered; a route no gate admitted never runs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import {
  addOperator, appendAdminLog, createCbApp, createFiApp, readAdminLog, revokeOperator, verifyAdminLog, type CbLedger, type FiLedger,
} from '../../src/ledger/index.ts';
import { ledgerApp } from '../../src/ledger/http/app.ts';
import { routeSchema } from '../../src/ledger/http/schema.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { ENGINES, fakeClock, freshDb, type FreshDb } from './engines.ts';
import { bearer, tokenFor } from './credentials.ts';

const json = (r: { body: string }) => JSON.parse(r.body) as { error?: { code: string; message: string } } & Record<string, unknown>;

async function rowCounts(db: FreshDb['db']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['accounts', 'journal_transactions', 'journal_entries', 'idempotency_keys', 'customers', 'operators', 'admin_log']) {
    out[t] = String((await db.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${t}`))[0]!['n']);
  }
  return out;
}

for (const engine of ENGINES) {
  describe(`access on ${engine}`, () => {
    let cbDb: FreshDb;
    let fiDb: FreshDb;
    let cbApp: FastifyInstance;
    let fiApp: FastifyInstance;
    let cb: CbLedger;
    let fi: FiLedger;
    const clock = fakeClock();

    before(async () => {
      [cbDb, fiDb] = [await freshDb(engine), await freshDb(engine)];
      ({ app: cbApp, cb } = await createCbApp({ db: cbDb.db, clock, rateLimits: { audit: { burst: 3, perSecond: 0.001 } } }));
      ({ app: fiApp, fi } = await createFiApp({ db: fiDb.db, clock, fiId: 'fi-a' }));
    });
    after(async () => {
      await cbApp.close();
      await fiApp.close();
      await cbDb.cleanup();
      await fiDb.cleanup();
    });

    const issue = (headers: Record<string, string>, key = 'issue-1') =>
      cbApp.inject({ method: 'POST', url: '/fis', headers: { 'idempotency-key': key, ...headers }, payload: { fiId: 'fi-a' } });

    test('no token, a malformed one, an unknown one and a forged secret are 401; nothing changes', async () => {
      const real = await addOperator(cbDb.db, { name: 'Carol Banks', role: 'cb-operator' });
      const before = await rowCounts(cbDb.db);
      const forged = real.token.slice(0, -4) + (real.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer ' }, bearer('tly1.op-0000000000000000.' + 'A'.repeat(43)), bearer(forged), bearer('x'.repeat(300))]) {
        const r = await issue(headers);
        assert.equal(r.statusCode, 401, JSON.stringify(headers));
        assert.equal(json(r).error?.code, 'UNAUTHENTICATED');
      }
      assert.deepEqual(await rowCounts(cbDb.db), before);
      const ok = await issue(bearer(real.token));
      assert.equal(ok.statusCode, 201);
    });

    test("even the CB's operator registers only a well-formed FI id (no 'cb:issuance', no spaces or capitals)", async () => {
      const op = bearer(await tokenFor(cbDb.db, 'cb-operator'));
      for (const fiId of ['cb:issuance', 'cb:reserve:x', 'Evil Bank', 'EVIL', '-bank', 'a'.repeat(33)]) {
        const r = await cbApp.inject({ method: 'POST', url: '/fis', headers: { 'idempotency-key': `bad-${fiId}`, ...op }, payload: { fiId } });
        assert.deepEqual([r.statusCode, json(r).error?.code], [400, 'BAD_REQUEST'], fiId);
      }
    });

    test('a known caller in the wrong role is 403 FORBIDDEN, and its refusal is not logged', async () => {
      const auditor = await tokenFor(cbDb.db, 'auditor');
      const before = await rowCounts(cbDb.db);
      const r = await issue(bearer(auditor), 'issue-2');
      assert.equal(r.statusCode, 403);
      assert.equal(json(r).error?.code, 'FORBIDDEN');
      assert.deepEqual(await rowCounts(cbDb.db), before);
      // The same token reads the audit.
      assert.equal((await cbApp.inject({ method: 'GET', url: '/audit', headers: bearer(auditor) })).statusCode, 200);
    });

    test('a revoked token is refused from the next request on', async () => {
      const made = await addOperator(cbDb.db, { name: 'Dan', role: 'cb-operator' });
      assert.equal((await issue(bearer(made.token), 'issue-3')).statusCode, 201);
      await revokeOperator(cbDb.db, { operatorId: made.record.operatorId });
      const before = await rowCounts(cbDb.db);
      const r = await issue(bearer(made.token), 'issue-4');
      assert.deepEqual([r.statusCode, json(r).error?.code], [401, 'UNAUTHENTICATED']);
      assert.deepEqual(await rowCounts(cbDb.db), before);
      assert.deepEqual(await revokeOperator(cbDb.db, { operatorId: made.record.operatorId }).then((x) => x.alreadyRevoked), true);
    });

    test("a token of one node means nothing at another (each node keeps its own operators)", async () => {
      const cbOp = await tokenFor(cbDb.db, 'cb-operator');
      const r = await fiApp.inject({ method: 'POST', url: '/customers', headers: { 'idempotency-key': 'c1', ...bearer(cbOp) }, payload: { tier: 1, identity: { name: 'Alice' } } });
      assert.deepEqual([r.statusCode, json(r).error?.code], [401, 'UNAUTHENTICATED']);
    });

    test('a customer reaches its own accounts only', async () => {
      const staff = bearer(await tokenFor(fiDb.db, 'fi-operator'));
      assert.equal((await fiApp.inject({ method: 'POST', url: '/treasury/credit', headers: { 'idempotency-key': 'treasury', ...staff }, payload: { amountMinor: '5000' } })).statusCode, 200);
      const mk = async (name: string) => {
        const c = json(await fiApp.inject({ method: 'POST', url: '/customers', headers: { 'idempotency-key': `kyc-${name}`, ...staff }, payload: { tier: 1, identity: { name } } }));
        const a = json(await fiApp.inject({ method: 'POST', url: `/customers/${c['customerId']}/accounts`, headers: { 'idempotency-key': `acct-${name}`, ...staff } }));
        await fiApp.inject({ method: 'POST', url: `/accounts/${a['accountId']}/deposit`, headers: { 'idempotency-key': `dep-${name}`, ...staff }, payload: { amountMinor: '1000' } });
        return { customerId: c['customerId'] as string, accountId: a['accountId'] as string };
      };
      const alice = await mk('Alice');
      const bob = await mk('Bob');
      const aliceToken = bearer(await tokenFor(fiDb.db, 'customer', { customerId: alice.customerId }));
      const get = (accountId: string) => fiApp.inject({ method: 'GET', url: `/accounts/${accountId}`, headers: aliceToken });
      assert.equal((await get(alice.accountId)).statusCode, 200);
      assert.equal((await get(bob.accountId)).statusCode, 403);
      const before = await rowCounts(fiDb.db);
      const drain = await fiApp.inject({ method: 'POST', url: `/accounts/${bob.accountId}/withdraw`, headers: { 'idempotency-key': 'w1', ...aliceToken }, payload: { amountMinor: '1000' } });
      assert.deepEqual([drain.statusCode, json(drain).error?.code], [403, 'FORBIDDEN']);
      assert.deepEqual(await rowCounts(fiDb.db), before);
      assert.equal(await fi.balance(bob.accountId), 1000n);
      // A customer may not deposit (money from nowhere) even into its own account.
      const dep = await fiApp.inject({ method: 'POST', url: `/accounts/${alice.accountId}/deposit`, headers: { 'idempotency-key': 'd1', ...aliceToken }, payload: { amountMinor: '1' } });
      assert.equal(dep.statusCode, 403);
      const own = await fiApp.inject({ method: 'POST', url: `/accounts/${alice.accountId}/withdraw`, headers: { 'idempotency-key': 'w2', ...aliceToken }, payload: { amountMinor: '250' } });
      assert.equal(own.statusCode, 200);
      assert.equal(await fi.balance(alice.accountId), 750n);
      await assert.rejects(addOperator(fiDb.db, { name: 'Nobody', role: 'customer', customerId: 'no-such-customer' }), /No customer/);
      await assert.rejects(addOperator(fiDb.db, { name: 'Staff', role: 'fi-operator', customerId: alice.customerId }), /names no customer/);
    });

    test("an operator's state-changing calls go to the admin log with their result; the chain verifies and a tampered entry breaks it", async () => {
      const made = await addOperator(cbDb.db, { name: 'Erin', role: 'cb-operator' });
      await cb.registerFi({ fiId: 'fi-a', idempotencyKey: 'issue-1' });
      const before = (await verifyAdminLog(cbDb.db)).entries;
      assert.equal((await cbApp.inject({ method: 'POST', url: '/issue', headers: { 'idempotency-key': 'iss-1', ...bearer(made.token) }, payload: { fiId: 'fi-a', amountMinor: '500' } })).statusCode, 200);
      const refused = await cbApp.inject({ method: 'POST', url: '/issue', headers: { 'idempotency-key': 'iss-2', ...bearer(made.token) }, payload: { fiId: 'nobody', amountMinor: '500' } });
      assert.equal(refused.statusCode, 404);
      const [last, prev] = await readAdminLog(cbDb.db, 2);
      assert.deepEqual([prev!.action, prev!.status, prev!.code, prev!.operatorId], ['POST /issue', 200, null, made.record.operatorId]);
      assert.deepEqual([last!.action, last!.status, last!.code], ['POST /issue', 404, 'UNKNOWN_ACCOUNT']);
      assert.equal((last!.detail as { idempotencyKey: string }).idempotencyKey, 'iss-2');
      const check = await verifyAdminLog(cbDb.db);
      assert.equal(check.ok, true);
      assert.equal(check.entries, before + 2n);
      assert.equal((await cb.audit()).clean, true);

      // Rewriting what an entry says breaks the chain at that entry, and the audit says so.
      await cbDb.db.run("UPDATE admin_log SET detail = '{}' WHERE seq = $1", [prev!.seq]);
      const broken = await verifyAdminLog(cbDb.db);
      assert.deepEqual([broken.ok, broken.broken?.seq], [false, prev!.seq]);
      const audit = await cb.audit();
      assert.equal(audit.clean, false);
      assert.ok(audit.violations.some((v) => v.code === 'ADMIN_LOG_BROKEN'));
      // Removing the newest entry is caught by the head row.
      await cbDb.db.run("UPDATE admin_log SET detail = $1 WHERE seq = $2", [JSON.stringify(prev!.detail), prev!.seq]);
      assert.equal((await verifyAdminLog(cbDb.db)).ok, true);
      await cbDb.db.run('DELETE FROM admin_log WHERE seq = $1', [last!.seq]);
      assert.match((await verifyAdminLog(cbDb.db)).broken?.reason ?? '', /head/);
      // Put it back for the tests after this one.
      await cbDb.db.run(
        'INSERT INTO admin_log (seq, at_ms, operator_id, role, action, detail, status, code, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        [last!.seq, BigInt(last!.atMs), last!.operatorId, last!.role, last!.action, JSON.stringify(last!.detail), BigInt(last!.status), last!.code, last!.prevHash, last!.entryHash],
      );
      assert.equal((await verifyAdminLog(cbDb.db)).ok, true);
      // A large body is logged by its hash and length, not copied into the log.
      const items = Array.from({ length: 40 }, (_, i) => ({ epoch: '1', nullifier: i.toString(16).padStart(2, '0').repeat(48), paymentHash: 'ab'.repeat(32) }));
      const big = JSON.stringify({ items });
      assert.ok(big.length > 4096);
      const nul = await cbApp.inject({ method: 'POST', url: '/nullifiers', headers: { 'idempotency-key': 'nul-big', 'content-type': 'application/json', ...bearer(made.token) }, payload: big });
      assert.equal(nul.statusCode, 200);
      const [logged] = await readAdminLog(cbDb.db, 1);
      assert.deepEqual((logged!.detail as { body: unknown }).body, { sha256: bytesToHex(sha256(utf8ToBytes(big))), chars: big.length });
      check.entries += 1n;
      const appended = await appendAdminLog(cbDb.db, { atMs: 1, operatorId: 'cli', role: 'node-admin', action: 'test', detail: {}, status: 200, code: null });
      assert.equal(appended, check.entries + 1n);
      assert.equal((await verifyAdminLog(cbDb.db)).ok, true);
    });

    test('each caller has its own budget for expensive routes: past it, 429 RATE_LIMITED', async () => {
      const [a, b] = [bearer(await tokenFor(cbDb.db, 'auditor')), bearer(await tokenFor(cbDb.db, 'auditor'))];
      const audit = (h: Record<string, string>) => cbApp.inject({ method: 'GET', url: '/audit', headers: h });
      for (let i = 0; i < 3; i++) assert.equal((await audit(a)).statusCode, 200);
      const limited = await audit(a);
      assert.deepEqual([limited.statusCode, json(limited).error?.code], [429, 'RATE_LIMITED']);
      assert.equal((await audit(b)).statusCode, 200, 'another caller keeps its own budget');
    });
  });
}

test('a route without an access rule cannot be registered, and a route no gate admitted never runs', async () => {
  const app = ledgerApp();
  assert.throws(() => app.get('/bare', { schema: routeSchema({}) }, async () => ({ ran: true })), /no access rule/);
  await app.close();

  const open = ledgerApp();
  let ran = false;
  open.get('/staff', { schema: routeSchema({}), config: { access: { grants: [{ role: 'cb-operator' }] } } }, async () => {
    ran = true;
    return {};
  });
  const r = await open.inject({ method: 'GET', url: '/staff' });
  assert.deepEqual([r.statusCode, json(r).error?.code, ran], [403, 'FORBIDDEN', false]);
  await open.close();
});
