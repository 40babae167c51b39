// The warrant workflow over real HTTP on loopback, on SQLite and PostgreSQL: a regulator at the CB
// files a warrant naming a settled payment by its nullifier; escrow key holders 1 and 2, each on
// their own node with their own share and their own database, approve; holder 3 refuses with a
// reason; the regulator discloses the payer; the disclosure log's chain holds. Every CB and holder
// route refuses a stranger and each wrong role (and the wrong holder) with 401/403 and no state
// change. Negative paths: a holder posting for another holder, a duplicate and a second partial,
// a forged partial (refused on posting, and by disclose's check when written around the route),
// a warrant for an unknown payment, a record the CB rewrote under its hash.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { dealRegulatorKey, partialDecrypt, partialDecryptionToBytes, seededRng, type RegulatorKey } from '../../src/crypto/index.ts';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { escrowOfRecord } from '../../src/ledger/cb/escrow_evidence.ts';
import { partialForEscrow } from '../../src/ledger/cb/disclosure.ts';
import type { Db } from '../../src/ledger/db/adapter.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { createHolderApp, createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { cbWarrantClient } from '../../src/ledger/http/holder_routes.ts';
import { ENGINES, freshDb, type FreshDb } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const hex = bytesToHex;

interface Sent {
  status: number;
  body: Record<string, any>;
}

async function send(base: string, method: 'GET' | 'POST', path: string, token: string | null, payload?: unknown): Promise<Sent> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** What a refused call must leave as it was: warrants, partials, refusals and the disclosure log. */
async function warrantTables(db: Db): Promise<string> {
  const out: string[] = [];
  for (const t of ['warrants', 'warrant_partials', 'warrant_refusals', 'disclosure_log']) {
    const rows = await db.query(`SELECT * FROM ${t}`);
    out.push(`${t}=${JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? hex(v) : v))}`);
  }
  return out.join('\n');
}

/** A payment from `payer` to `payee` that the payee's FI has registered at the CB. */
async function settledPayment(net: OfflineNet, payer: TestDevice, payee: TestDevice, amountMinor: bigint, key: string) {
  await pay(payer, payee, amountMinor);
  const batch = await payee.client.exportSyncBatch();
  await net.cb.registerPayments({ fiId: payee.fi.fiId, deviceId: payee.deviceId, records: batch.payments, idempotencyKey: key });
  assert.equal(batch.payments.length, 1, 'one payment in the payee\'s batch');
  const record = batch.payments[0]!;
  const rows = await net.cb.db.query<{ nullifier: Uint8Array }>('SELECT nullifier FROM payment_evidence WHERE payment_hash = $1', [sha256(record)]);
  assert.equal(rows.length, 1, 'the CB stored the payment');
  return { paymentHash: sha256(record), nullifier: rows[0]!.nullifier };
}

for (const engine of ENGINES) {
  describe(`the warrant workflow over HTTP on ${engine}`, () => {
    const regulator: RegulatorKey = dealRegulatorKey({ threshold: 2, holders: 3, rng: seededRng(`warrants-http/${engine}/dealing`) });
    let net: OfflineNet;
    let cbApp: FastifyInstance;
    let cbBase: string;
    const holders: { app: FastifyInstance; base: string; db: FreshDb; token: string; auditorToken: string; otherHolderToken: string }[] = [];
    const t: Record<string, string> = {};
    let alice: TestDevice;
    let bob: TestDevice;
    let carol: TestDevice;
    let first: { paymentHash: Uint8Array; nullifier: Uint8Array };
    let second: { paymentHash: Uint8Array; nullifier: Uint8Array };

    before(async () => {
      net = await openOfflineNet(engine, `warrants-http-${engine}`, { verifyWorkers: 0, regulator });
      await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
      alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
      bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 50_000n });
      carol = await newDevice(net, net.fiA, 'carol', { depositMinor: 50_000n });
      await load(alice, 10_000n, 'alice-load');
      first = await settledPayment(net, alice, bob, 700n, 'pay-1');
      second = await settledPayment(net, alice, carol, 300n, 'pay-2');
      const cbDb = net.cb.db;
      t['regulator'] = (await addOperator(cbDb, { name: 'Rhea Regulator', role: 'regulator' })).token;
      t['auditor'] = (await addOperator(cbDb, { name: 'Aud Auditor', role: 'auditor' })).token;
      t['cbOperator'] = (await addOperator(cbDb, { name: 'Cy Operator', role: 'cb-operator' })).token;
      t['fiOperator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
      for (const i of [1, 2, 3]) t[`holder${i}`] = (await addOperator(cbDb, { name: `Holder ${i}`, role: 'key-holder', holderIndex: i })).token;
      cbApp = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA] });
      cbBase = await cbApp.listen({ host: '127.0.0.1', port: 0 });
      for (const share of regulator.shares) {
        const db = await freshDb(engine);
        const app = await createHolderApp({
          db: db.db, share, rng: seededRng(`warrants-http/${engine}/holder-${share.index}`),
          cb: cbWarrantClient({ cbBase: `${cbBase}/cb`, token: t[`holder${share.index}`]! }),
        });
        const token = (await addOperator(db.db, { name: `Holder ${share.index} in person`, role: 'key-holder', holderIndex: share.index })).token;
        const auditorToken = (await addOperator(db.db, { name: 'holder-side auditor', role: 'auditor' })).token;
        const otherHolderToken = (await addOperator(db.db, { name: 'a holder of another index', role: 'key-holder', holderIndex: share.index === 1 ? 2 : 1 })).token;
        holders.push({ app, base: await app.listen({ host: '127.0.0.1', port: 0 }), db, token, auditorToken, otherHolderToken });
      }
    });
    after(async () => {
      for (const h of holders) {
        await h.app.close();
        await h.db.cleanup();
      }
      await cbApp?.close();
      await net?.cleanup();
    });

    /** Sends the call as every caller of `wrong` and checks each is refused 401/403 with nothing changed. */
    async function refusedToAll(base: string, method: 'GET' | 'POST', path: string, payload: unknown, wrong: (string | null)[], db: Db = net.cb.db) {
      const before = await warrantTables(db);
      for (const token of wrong) {
        const r = await send(base, method, path, token, payload);
        assert.ok(r.status === 401 || r.status === 403, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(['UNAUTHENTICATED', 'FORBIDDEN'].includes(r.body['error']?.code), `${method} ${path}: ${JSON.stringify(r.body)}`);
      }
      assert.equal(await warrantTables(db), before, `${method} ${path}: a refused call changed the warrant tables`);
    }

    test('regulator files, holders 1 and 2 approve on their own nodes, holder 3 refuses, regulator discloses; wrong callers refused on every route', async () => {
      const w = 'court-2027-0042';
      const stranger = null;
      const fileBody = { warrantId: w, nullifier: hex(first.nullifier), authority: 'District Court', reason: 'fraud inquiry 0042' };
      await refusedToAll(cbBase, 'POST', '/cb/warrants', fileBody, [stranger, t['auditor']!, t['cbOperator']!, t['fiOperator']!, t['holder1']!]);
      const filed = await send(cbBase, 'POST', '/cb/warrants', t['regulator']!, fileBody);
      assert.equal(filed.status, 201, JSON.stringify(filed.body));
      assert.equal(filed.body['warrant'].paymentHash, hex(first.paymentHash), 'the nullifier named the payment');
      assert.deepEqual([filed.body['warrant'].status, filed.body['warrant'].approvals, filed.body['warrant'].threshold], ['open', [], 2]);
      // Filing again is answered as the first time.
      assert.equal((await send(cbBase, 'POST', '/cb/warrants', t['regulator']!, fileBody)).status, 201);

      for (const path of ['/cb/warrants', `/cb/warrants/${w}`]) await refusedToAll(cbBase, 'GET', path, undefined, [stranger, t['cbOperator']!, t['fiOperator']!]);
      await refusedToAll(cbBase, 'GET', `/cb/warrants/${w}/escrow`, undefined, [stranger, t['regulator']!, t['auditor']!, t['cbOperator']!]);
      await refusedToAll(cbBase, 'GET', '/cb/disclosure/log', undefined, [stranger, t['cbOperator']!, t['holder1']!]);
      const partial1 = partialForEscrow({ share: regulator.shares[0]!, warrantId: w, escrow: escrowOfRecord(first.paymentHash, (await net.cb.db.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [first.paymentHash]))[0]!.record), rng: seededRng('p1') });
      await refusedToAll(cbBase, 'POST', `/cb/warrants/${w}/holders/1/partial`, { partial: hex(partial1) }, [stranger, t['regulator']!, t['auditor']!, t['cbOperator']!, t['holder2']!, t['holder3']!]);
      await refusedToAll(cbBase, 'POST', `/cb/warrants/${w}/holders/3/refusal`, { reason: 'x' }, [stranger, t['regulator']!, t['auditor']!, t['holder1']!, t['holder2']!]);
      await refusedToAll(cbBase, 'POST', `/cb/warrants/${w}/disclose`, undefined, [stranger, t['auditor']!, t['cbOperator']!, t['holder1']!]);
      for (const h of holders) {
        const i = holders.indexOf(h) + 1;
        // The CB's tokens and another index's token mean nothing to a holder's node.
        const wrong = [stranger, h.auditorToken, h.otherHolderToken, t[`holder${i}`]!, t['regulator']!];
        await refusedToAll(h.base, 'GET', `/holder/${i}/warrants`, undefined, wrong, h.db.db);
        await refusedToAll(h.base, 'POST', `/holder/${i}/warrants/${w}/approve`, undefined, wrong);
        await refusedToAll(h.base, 'POST', `/holder/${i}/warrants/${w}/refuse`, { reason: 'no' }, wrong);
        await refusedToAll(h.base, 'GET', `/console/holder/${i}/whoami`, undefined, wrong, h.db.db);
      }

      // Holder 1 sees the pending warrant on their node and approves it there.
      const pending = await send(holders[0]!.base, 'GET', '/holder/1/warrants', holders[0]!.token);
      assert.equal(pending.status, 200);
      assert.deepEqual(pending.body['warrants'].map((x: { warrantId: string }) => x.warrantId), [w]);
      const a1 = await send(holders[0]!.base, 'POST', `/holder/1/warrants/${w}/approve`, holders[0]!.token);
      assert.equal(a1.status, 200, JSON.stringify(a1.body));
      assert.deepEqual(a1.body['warrant'].approvals, [1]);
      const early = await send(cbBase, 'POST', `/cb/warrants/${w}/disclose`, t['regulator']!);
      assert.deepEqual([early.status, early.body['error'].code], [400, 'BAD_REQUEST']);
      assert.match(early.body['error'].message, /1 of the 2/);
      const r3 = await send(holders[2]!.base, 'POST', `/holder/3/warrants/${w}/refuse`, holders[2]!.token, { reason: 'The order names no court file number' });
      assert.equal(r3.status, 200, JSON.stringify(r3.body));
      assert.deepEqual(r3.body['warrant'].refusals.map((r: { holder: number; reason: string }) => [r.holder, r.reason]), [[3, 'The order names no court file number']]);
      const a2 = await send(holders[1]!.base, 'POST', `/holder/2/warrants/${w}/approve`, holders[1]!.token);
      assert.deepEqual(a2.body['warrant'].approvals, [1, 2]);

      const disclosed = await send(cbBase, 'POST', `/cb/warrants/${w}/disclose`, t['regulator']!);
      assert.equal(disclosed.status, 200, JSON.stringify(disclosed.body));
      assert.equal(disclosed.body['disclosed'].customerId, alice.customerId);
      assert.equal(disclosed.body['disclosed'].deviceId, hex(alice.deviceId));
      assert.deepEqual(disclosed.body['disclosed'].holders, [1, 2]);
      const listed = await send(cbBase, 'GET', '/cb/warrants', t['regulator']!);
      const state = listed.body['warrants'].find((x: { warrantId: string }) => x.warrantId === w);
      assert.deepEqual([state.status, state.disclosed.customerId], ['disclosed', alice.customerId]);
      const log = await send(cbBase, 'GET', '/cb/disclosure/log', t['auditor']!);
      assert.deepEqual(log.body['check'], { intact: true, entries: 5, brokenAt: null }); // warrant, partial, refused, partial, disclosed
      assert.deepEqual(log.body['entries'].map((e: { kind: string }) => e.kind).reverse(), ['warrant', 'partial', 'refused', 'partial', 'disclosed']);
      // Key holders see that the warrant was disclosed, not whom it named.
      const holderView = await send(holders[0]!.base, 'GET', '/holder/1/warrants', holders[0]!.token);
      const seen = holderView.body['warrants'].find((x: { warrantId: string }) => x.warrantId === w);
      assert.deepEqual([seen.status, seen.disclosed], ['disclosed', null]);
      assert.equal((await send(cbBase, 'GET', `/cb/warrants/${w}`, t['holder2']!)).body['warrant'].disclosed, null);
      // A disclosed warrant takes no more answers.
      const late = await send(holders[2]!.base, 'POST', `/holder/3/warrants/${w}/approve`, holders[2]!.token);
      assert.deepEqual([late.status, late.body['error'].code], [400, 'BAD_REQUEST']);
    });

    test('wrong holder, duplicate and second partials, refusal after approval, forged partials and unknown payments are refused without a change', async () => {
      const w = 'court-2027-0043';
      const filed = await send(cbBase, 'POST', '/cb/warrants', t['regulator']!, { warrantId: w, paymentHash: hex(second.paymentHash), authority: 'District Court', reason: 'inquiry 0043' });
      assert.equal(filed.status, 201, JSON.stringify(filed.body));
      const record = (await net.cb.db.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [second.paymentHash]))[0]!.record;
      const escrow = escrowOfRecord(second.paymentHash, record);
      const partialOf = (i: number, seed: string) => partialForEscrow({ share: regulator.shares[i - 1]!, warrantId: w, escrow, rng: seededRng(seed) });
      const post = (token: string, i: number, partial: Uint8Array) => send(cbBase, 'POST', `/cb/warrants/${w}/holders/${i}/partial`, token, { partial: hex(partial) });

      let before = await warrantTables(net.cb.db);
      // Holder 1 posts holder 2's partial under its own index: refused, nothing written.
      const wrongIndex = await post(t['holder1']!, 1, partialOf(2, 'h2'));
      assert.deepEqual([wrongIndex.status, wrongIndex.body['error'].code], [400, 'BAD_REQUEST']);
      // A holder index the escrow key does not have.
      const noHolder = await send(cbBase, 'POST', `/cb/warrants/${w}/holders/9/partial`, t['holder1']!, { partial: hex(partialOf(1, 'h1')) });
      assert.equal(noHolder.status, 403);
      // Bytes that are no partial decryption.
      const garbage = await post(t['holder1']!, 1, Uint8Array.of(1, 2, 3));
      assert.deepEqual([garbage.status, garbage.body['error'].code], [400, 'BAD_REQUEST']);
      assert.equal(await warrantTables(net.cb.db), before);

      const p1 = partialOf(1, 'h1');
      assert.equal((await post(t['holder1']!, 1, p1)).status, 200);
      before = await warrantTables(net.cb.db);
      const replay = await post(t['holder1']!, 1, p1);
      assert.deepEqual([replay.status, replay.body['warrant'].approvals], [200, [1]], 'a replay is answered as the first post');
      const again = await post(t['holder1']!, 1, partialOf(1, 'h1-again'));
      assert.deepEqual([again.status, again.body['error'].code], [422, 'IDEMPOTENCY_MISMATCH']);
      const refuseAfter = await send(cbBase, 'POST', `/cb/warrants/${w}/holders/1/refusal`, t['holder1']!, { reason: 'changed my mind' });
      assert.deepEqual([refuseAfter.status, refuseAfter.body['error'].code], [422, 'IDEMPOTENCY_MISMATCH']);
      const tooLong = await send(cbBase, 'POST', `/cb/warrants/${w}/holders/2/refusal`, t['holder2']!, { reason: 'x'.repeat(257) });
      assert.deepEqual([tooLong.status, tooLong.body['error'].code], [400, 'BAD_REQUEST']);
      assert.equal(await warrantTables(net.cb.db), before);

      // Holder 3's share applied to another payment's escrow: well-formed, and its proof fails for
      // this warrant. Refused and not counted; the refusal is in the log.
      const other = (await net.cb.db.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [first.paymentHash]))[0]!.record;
      const forged = partialForEscrow({ share: regulator.shares[2]!, warrantId: w, escrow: { ...escrowOfRecord(first.paymentHash, other), paymentId: second.paymentHash }, rng: seededRng('forged') });
      const refused = await post(t['holder3']!, 3, forged);
      assert.deepEqual([refused.status, refused.body['error'].code], [422, 'PROOF_INVALID']);
      const state = await send(cbBase, 'GET', `/cb/warrants/${w}`, t['regulator']!);
      assert.deepEqual(state.body['warrant'].approvals, [1]);
      // The same forgery written around the route, as a database administrator could: disclose's
      // own check of every partial refuses the combination and discloses nothing.
      await net.cb.db.run('INSERT INTO warrant_partials (warrant_id, holder_index, partial, created_ms) VALUES ($1, $2, $3, $4)', [w, 3n, forged, 1n]);
      const combined = await send(cbBase, 'POST', `/cb/warrants/${w}/disclose`, t['regulator']!);
      assert.deepEqual([combined.status, combined.body['error'].code], [400, 'BAD_REQUEST']);
      assert.match(combined.body['error'].message, /combination refused/);
      assert.equal((await send(cbBase, 'GET', `/cb/warrants/${w}`, t['regulator']!)).body['warrant'].status, 'open');
      await net.cb.db.run('DELETE FROM warrant_partials WHERE warrant_id = $1 AND holder_index = $2', [w, 3n]);

      // Warrants for payments the CB does not hold, and badly formed ones.
      before = await warrantTables(net.cb.db);
      for (const [bodyOf, status] of [
        [{ warrantId: 'w-none', paymentHash: hex(new Uint8Array(32)), authority: 'Court', reason: 'r' }, 400],
        [{ warrantId: 'w-none', nullifier: hex(new Uint8Array(48).fill(7)), authority: 'Court', reason: 'r' }, 400],
        [{ warrantId: 'w-none', paymentHash: hex(second.paymentHash), nullifier: hex(second.nullifier), authority: 'Court', reason: 'r' }, 400],
        [{ warrantId: 'w-none', authority: 'Court', reason: 'r' }, 400],
        [{ warrantId: 'w-none', paymentHash: hex(second.paymentHash), authority: 'Court', reason: 'r'.repeat(257) }, 400],
        [{ warrantId: w, paymentHash: hex(first.paymentHash), authority: 'District Court', reason: 'inquiry 0043' }, 422],
      ] as const) {
        const r = await send(cbBase, 'POST', '/cb/warrants', t['regulator']!, bodyOf);
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.ok(typeof r.body['error']?.code === 'string');
      }
      assert.equal((await send(cbBase, 'POST', '/cb/warrants/w-none/disclose', t['regulator']!)).status, 400);
      assert.equal(await warrantTables(net.cb.db), before);
      const log = await send(cbBase, 'GET', '/cb/disclosure/log', t['regulator']!);
      assert.equal(log.body['check'].intact, true);
    });

    test("a holder's node refuses a record that does not hash to the warranted payment", async () => {
      const w = 'court-2027-0044';
      assert.equal((await send(cbBase, 'POST', '/cb/warrants', t['regulator']!, { warrantId: w, paymentHash: hex(second.paymentHash), authority: 'Court', reason: 'r' })).status, 201);
      // The CB's database holds another payment's record under this payment's hash.
      const recordOf = async (p: { paymentHash: Uint8Array }) => (await net.cb.db.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [p.paymentHash]))[0]!.record;
      const a = await recordOf(first);
      const b = await recordOf(second);
      assert.throws(() => escrowOfRecord(second.paymentHash, a), (e: unknown) => e instanceof LedgerError && e.code === 'EVIDENCE_INVALID');
      await net.cb.db.run('UPDATE payment_evidence SET record = $1 WHERE payment_hash = $2', [a, second.paymentHash]);
      try {
        const r = await send(holders[0]!.base, 'POST', `/holder/1/warrants/${w}/approve`, holders[0]!.token);
        assert.deepEqual([r.status, r.body['error'].code], [409, 'EVIDENCE_INVALID']);
      } finally {
        await net.cb.db.run('UPDATE payment_evidence SET record = $1 WHERE payment_hash = $2', [b, second.paymentHash]);
      }
      // A CB that hands the holder's node another payment's record for this warrant: the node's own
      // hash check refuses it before the share touches it, and posts nothing.
      const honest = cbWarrantClient({ cbBase: `${cbBase}/cb`, token: t['holder1']! });
      const posted: unknown[] = [];
      const lying = await createHolderApp({
        db: holders[0]!.db.db, share: regulator.shares[0]!, rng: seededRng('lying-cb'),
        cb: { ...honest, escrow: async (id) => ({ ...(await honest.escrow(id)), record: a }), postPartial: async (...args) => posted.push(args) },
      });
      try {
        const r = await lying.inject({ method: 'POST', url: `/holder/1/warrants/${w}/approve`, headers: { authorization: `Bearer ${holders[0]!.token}` } });
        assert.deepEqual([r.statusCode, r.json().error.code], [409, 'EVIDENCE_INVALID']);
        assert.deepEqual(posted, []);
      } finally {
        await lying.close();
      }
      // A partial made without the route's help, for the right escrow, counts.
      const partial = partialDecryptionToBytes(partialDecrypt({ share: regulator.shares[1]!, ...escrowOfRecord(second.paymentHash, b), warrantId: new TextEncoder().encode(w), rng: seededRng('manual') }));
      const r = await send(cbBase, 'POST', `/cb/warrants/${w}/holders/2/partial`, t['holder2']!, { partial: hex(partial) });
      assert.deepEqual(r.body['warrant'].approvals, [2]);
    });
  });
}
