// The console's read-only screens over a real network on each engine: a payer at fi-a restores
// an SE snapshot and pays twice, the CB opens the incident and books the value it created, a
// warrant is filed; then each screen's data function answers what its party may see, and its
// chain checks catch an edited log entry.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { devicesView } from './devices_view.ts';
import { DEFAULT_RULES } from '../../compliance/index.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { addOperator } from '../access/operators.ts';
import { createOfflineEmbeddedApp, createOfflineFiApp } from '../http/apps.ts';
import { LedgerError } from '../errors.ts';
import { fileWarrant } from '../cb/disclosure.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { brokenSeExposure, devicesPerTier } from '../exposure.ts';
import { auditNetwork } from '../network_audit.ts';
import { recordSyncIncident, SyncIncidentKind } from '../fi/sync_incidents.ts';
import { banksScreen, cbIncidents, fiIncidents, fiSyncIncidents, logsScreen, policyScreen, LOG_ENTRIES_SHOWN } from './screens.ts';

const DOUBLE_SPENT_MINOR = 2_000n;

for (const engine of ENGINES) {
  describe(`console screens on ${engine}`, () => {
    let net: OfflineNet;
    let payer: TestDevice;
    let incidentId: string;
    let evidenceHash: Uint8Array;

    before(async () => {
      net = await openOfflineNet(engine, `screens-${engine}`, { verifyWorkers: 0 });
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 500_000n, 'issue-b');
      payer = await newDevice(net, net.fiA, 'mallory', { depositMinor: 20_000n });
      const payeeA = await newDevice(net, net.fiA, 'payee-a');
      const payeeB = await newDevice(net, net.fiB, 'payee-b');
      await load(payer, 10_000n, 'mallory-load');
      const image = snapshot(payer.backend);
      await pay(payer, payeeA, DOUBLE_SPENT_MINOR);
      await pay({ ...payer, ...openSe(net, 'mallory-restored', image) }, payeeB, DOUBLE_SPENT_MINOR);
      await syncDevice(payeeA.client, net.fiA, { keyPrefix: 'payee-a' });
      const second = await syncDevice(payeeB.client, net.fiB, { keyPrefix: 'payee-b' });
      incidentId = second.rounds[0]!.incidentIds[0]!;
      await net.cb.bookIncidentValue({ amountMinor: DOUBLE_SPENT_MINOR, reference: incidentId, idempotencyKey: `book-${incidentId}` });
      evidenceHash = (await net.cb.incidents())[0]!.firstPaymentHash;
      await fileWarrant(net.cb.db, 5, { warrantId: 'w-screens', paymentHash: evidenceHash, authority: 'District Court', reason: 'double spend inquiry' });
      await addOperator(net.cb.db, { name: 'Ada Auditor', role: 'auditor' });
      await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' });
    });
    after(async () => net?.cleanup());

    test('the CB sees the incident with the payer\'s FI, pseudonymous customer id, exposure and the booked value', async () => {
      const list = await cbIncidents(net.cb.db);
      assert.equal(list.length, 1);
      const i = list[0]!;
      assert.equal(i.id, incidentId);
      assert.equal(i.fiId, 'fi-a');
      assert.equal(i.customerId, payer.customerId);
      assert.equal(i.deviceId, bytesToHex(payer.deviceId));
      assert.equal(i.exposureMinor, 64n * 20_000n, 'L × cap(t) of tier 1');
      assert.equal(i.bookedMinor, DOUBLE_SPENT_MINOR);
      assert.equal(JSON.stringify(i, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes('mallory'), false, 'the CB has no name');
    });

    test('an FI sees the incidents naming its own customers, with the name; the other FI sees none', async () => {
      const mine = await fiIncidents(net.cb.db, net.fiA.db, 'fi-a');
      assert.deepEqual(mine.map((i) => [i.id, i.customerId, i.customerName]), [[incidentId, payer.customerId, 'mallory']]);
      assert.equal('bookedMinor' in mine[0]!, false, 'the booked value is the CB\'s figure');
      assert.deepEqual(await fiIncidents(net.cb.db, net.fiB.db, 'fi-b'), [], 'the payee side names no customer of fi-b');
    });

    test("an FI's own incidents found at sync show with the customer's name, and only at that FI", async () => {
      // The writer the sync path calls when it refuses a receipt uploaded twice (fi/sync.ts).
      await recordSyncIncident(net.fiA.db, {
        deviceId: payer.deviceId, customerId: payer.customerId, kind: SyncIncidentKind.receiptUploadedTwice, paymentHash: evidenceHash,
        detail: 'this receipt was already uploaded', nowMs: Number(net.world.nowMs),
      });
      const list = await fiSyncIncidents(net.fiA.db);
      assert.deepEqual(list.map((i) => [i.kind, i.customerId, i.customerName, i.deviceId]), [['RECEIPT_UPLOADED_TWICE', payer.customerId, 'mallory', bytesToHex(payer.deviceId)]]);
      assert.equal(list[0]!.paymentHash, bytesToHex(evidenceHash).slice(0, 32));
      assert.deepEqual(await fiSyncIncidents(net.fiB.db), []);
    });

    test('the incidents lists page: limit rows below a cursor row, ties on the time broken by id; the console route says whether more exist', async () => {
      for (let k = 0; k < 4; k++) {
        await recordSyncIncident(net.fiA.db, {
          deviceId: payer.deviceId, customerId: payer.customerId, kind: SyncIncidentKind.receiptUploadedTwice, paymentHash: new Uint8Array(32).fill(k + 1),
          detail: `paging ${k}`, nowMs: Number(net.world.nowMs),
        });
      }
      const all = (await fiSyncIncidents(net.fiA.db)).map((i) => i.id);
      assert.equal(all.length, 5);
      const paged: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await fiSyncIncidents(net.fiA.db, { limit: 2, before });
        paged.push(...page.map((i) => i.id));
        if (page.length < 2) break;
        before = page[1]!.id;
      }
      assert.deepEqual(paged, all, 'the pages are the list, each row once, in order');
      await assert.rejects(fiSyncIncidents(net.fiA.db, { before: 'sinc_unknown' }), (e: unknown) => e instanceof LedgerError && e.code === 'NOT_FOUND');
      await assert.rejects(fiSyncIncidents(net.fiA.db, { limit: 0 }), (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST');
      const token = (await addOperator(net.fiA.db, { name: 'Page Reader', role: 'auditor' })).token;
      const app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
      try {
        const get = async (q: string) => (await app.inject({ method: 'GET', url: `/console/fi/fi-a/incidents${q}`, headers: { authorization: `Bearer ${token}` } }));
        const first = (await get('?limit=3')).json();
        assert.deepEqual([first.syncIncidents.map((i: { id: string }) => i.id), first.syncMore], [all.slice(0, 3), true]);
        assert.deepEqual([first.incidents.length, first.more], [1, false]);
        const rest = (await get(`?limit=3&syncBefore=${encodeURIComponent(all[2]!)}`)).json();
        assert.deepEqual([rest.syncIncidents.map((i: { id: string }) => i.id), rest.syncMore], [all.slice(3), false]);
        assert.equal((await get('?limit=501')).statusCode, 400);
        const cb = await app.inject({ method: 'GET', url: '/console/cb/incidents?limit=1', headers: { authorization: `Bearer ${(await addOperator(net.cb.db, { name: 'Cb Reader', role: 'auditor' })).token}` } });
        assert.deepEqual([cb.json().incidents.length, cb.json().more], [1, false]);
      } finally {
        await app.close();
        await net.fiA.db.run("DELETE FROM sync_incidents WHERE detail LIKE 'paging %'");
      }
    });

    test('the devices list pages oldest enrolment first after a device; more says whether devices follow', async () => {
      const all = await devicesView(net.fiA);
      assert.ok(all.devices.length >= 2, 'mallory and payee-a');
      assert.equal(all.more, false);
      const paged: string[] = [];
      let after: Uint8Array | undefined;
      for (;;) {
        const page = await devicesView(net.fiA, { limit: 1, after });
        paged.push(...page.devices.map((d) => d.deviceId));
        if (!page.more) break;
        after = hexToBytes(page.devices[0]!.deviceId);
      }
      assert.deepEqual(paged, all.devices.map((d) => d.deviceId));
      await assert.rejects(devicesView(net.fiA, { after: new Uint8Array(16) }), (e: unknown) => e instanceof LedgerError && e.code === 'NOT_FOUND');
      await assert.rejects(devicesView(net.fiA, { limit: 501 }), (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST');
    });

    test('an FI served without its CB: the incidents route says the CB holds them and still lists its refusals at sync', async () => {
      const app = await createOfflineFiApp(net.fiA);
      try {
        const { token } = await addOperator(net.fiA.db, { name: 'Ida Auditor', role: 'auditor' });
        const get = async (url: string) => {
          const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
          return { status: res.statusCode, body: res.json() as Record<string, unknown> };
        };
        const incidents = await get('/console/fi/fi-a/incidents');
        assert.equal(incidents.status, 200);
        assert.equal(incidents.body['heldByCb'], true);
        assert.deepEqual(incidents.body['incidents'], []);
        assert.equal((incidents.body['syncIncidents'] as unknown[]).length, 1);
        const policy = await get('/console/fi/fi-a/policy');
        assert.equal(policy.status, 200);
        assert.deepEqual((policy.body['ruleSets'] as Array<{ fiId: string }>).map((r) => r.fiId), ['fi-a']);
        assert.equal((await get('/console/fi/fi-a/logs')).status, 200);
        assert.equal((await get('/console/cb/incidents')).status, 404, 'no CB node here');
      } finally {
        await app.close();
        await net.fiA.db.run("DELETE FROM sync_incidents WHERE detail LIKE 'paging %'");
      }
    });

    test('the policy screen shows the installed policy and rules, and the exposure tally exposure computes', async () => {
      const policy = await net.cb.currentPolicy();
      const nowMs = Number(net.world.nowMs);
      const fis = [net.fiA, net.fiB].map((f) => ({ fiId: f.fiId, db: f.db, rules: f.ledger.rules, rulesSigned: f.rulesSigned }));
      const s = await policyScreen(policy, fis, nowMs);
      assert.equal(s.policyVersion, policy.version);
      assert.equal(s.tiers.find((t) => t.tier === 1)!.capMinor, 20_000n);
      assert.equal(s.tiers.find((t) => t.tier === 1)!.paymentsPerEpoch, 64);
      assert.equal(s.tiers[0]!.currentEpoch, BigInt(nowMs) / s.tiers[0]!.epochMs);
      assert.deepEqual(s.ruleSets.map((r) => [r.fiId, r.source, r.version, r.rules.length]), [['fi-a', 'in-process', DEFAULT_RULES.version, DEFAULT_RULES.rules.length], ['fi-b', 'in-process', DEFAULT_RULES.version, DEFAULT_RULES.rules.length]]);
      const counts = new Map<number, bigint>();
      for (const f of [net.fiA, net.fiB]) for (const [t, n] of await devicesPerTier(f.db)) counts.set(t, (counts.get(t) ?? 0n) + n);
      assert.deepEqual(s.exposure, brokenSeExposure(policy, counts));
      assert.equal(s.exposure.tiers.find((t) => t.tier === 1)!.devices, 3n);
      const own = await policyScreen(policy, [fis[0]!], nowMs);
      assert.deepEqual(own.exposure, await net.fiA.exposure(), 'an FI\'s table is its own devices\' exposure');
    });

    test('the logs screens show the newest entries and intact chains; an edited entry breaks the check', async () => {
      const cb = await logsScreen(net.cb.db, { disclosure: true });
      assert.equal(cb.admin.check.ok, true);
      assert.equal(cb.admin.entries[0]!.action, 'operator add');
      assert.ok(cb.admin.entries.length <= LOG_ENTRIES_SHOWN);
      assert.deepEqual(cb.disclosure!.entries.map((e) => [e.warrantId, e.kind]), [['w-screens', 'warrant']]);
      assert.equal(cb.disclosure!.check.intact, true);
      const fi = await logsScreen(net.fiA.db, { disclosure: false });
      assert.equal(fi.disclosure, null);
      assert.equal(fi.admin.check.ok, true);
      await net.fiA.db.run("UPDATE admin_log SET action = 'operator remove' WHERE seq = 1");
      const broken = await logsScreen(net.fiA.db, { disclosure: false });
      assert.equal(broken.admin.check.ok, false);
      assert.equal(broken.admin.check.broken?.seq, 1n);
      await net.cb.db.run("UPDATE disclosure_log SET body = '{}' WHERE seq = 1");
      assert.deepEqual((await logsScreen(net.cb.db, { disclosure: true })).disclosure!.check, { intact: false, entries: 1, brokenAt: 1n });
    });

    test('the banks screen: per FI aggregates that add up to the network audit\'s totals', async () => {
      const rows = await banksScreen(net.cb.db, [net.fiA, net.fiB].map((f) => ({ fiId: f.fiId, db: f.db })));
      assert.deepEqual(rows.map((r) => r.fiId), ['fi-a', 'fi-b']);
      const totals = (await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] })).totals;
      const sum = (f: (r: (typeof rows)[number]) => bigint | null) => rows.reduce((s, r) => s + f(r)!, 0n);
      assert.equal(sum((r) => r.reserveMinor), totals.reservesMinor);
      assert.equal(sum((r) => r.accountsMinor), totals.accountsMinor);
      assert.equal(sum((r) => r.seBalancesMinor), totals.seBalancesMinor);
      assert.equal(sum((r) => r.inFlightMinor), totals.inFlightMinor - totals.incidentValueMinor);
      const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
      assert.equal(a.circulationMinor, 10_000n, 'mallory\'s load');
      assert.equal(a.devices, 2n);
      assert.equal(b.devices, 1n);
      assert.equal(a.reserveMinor, await net.cb.ledger.reserveBalance('fi-a'));
      assert.ok(a.lastSettlementMs !== null && b.lastSettlementMs !== null, 'both FIs uploaded evidence');
      assert.ok(a.lastSyncMs !== null);
      // A bank the CB knows but this server does not host shows the CB's figures only.
      const cbOnly = await banksScreen(net.cb.db, [{ fiId: 'fi-a', db: net.fiA.db }]);
      assert.deepEqual([cbOnly[1]!.accountsMinor, cbOnly[1]!.inFlightMinor, cbOnly[1]!.reserveMinor], [null, null, b.reserveMinor]);
    });
  });
}
