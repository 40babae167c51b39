// An honest merchant that took a double-spent payment can always defund (DESIGN: nothing lost, a
// payment can always be re-sent or reclaimed). A payer images its SE, pays its whole balance to a
// terminal at FI A, restores the image and pays it again to a terminal at FI B. The first terminal
// syncs and defunds: circulation is empty. The second syncs, the CB opens the incident, and its
// defund needs more than circulation holds: the CB covers the shortfall from cb:incident, within
// the incident's exposure L × cap(t), and records the draw against it. The later booking of the
// incident's value counts what was drawn; the network audit is exact throughout. A shortfall with
// no open incident, or beyond the open incidents' exposure, is still refused and changes nothing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, countingRng, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { makeWorld } from '../../../test/support/world.ts';
import { CentralBank } from './central_bank.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, CB_ISSUANCE_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import { readAccount } from '../book/journal.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { cbIncidents } from '../console/screens.ts';
import { rowBigint } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';

const isCode = (code: string) => (e: unknown) => e instanceof LedgerError && e.code === code;

for (const engine of ENGINES) {
  describe(`an honest payee of a double spend defunds on ${engine}`, () => {
    let net: OfflineNet;
    const balance = async (id: string) => (await readAccount(net.cb.db, id))!.balanceMinor;
    const drawn = async () => rowBigint((await net.cb.db.query('SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS s FROM incident_draws'))[0]!, 's');
    before(async () => {
      net = await openOfflineNet(engine, `draw-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    test('a shortfall with no open incident is refused with INSUFFICIENT_FUNDS and changes nothing', async () => {
      const payer = await newDevice(net, net.fiA, 'lone', { depositMinor: 5_000n });
      await load(payer, 3_000n, 'lone-load');
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 3_000n);
      await assert.rejects(net.cb.defundCirculation({ fiId: 'fi-a', amountMinor: 3_001n, idempotencyKey: 'lone-over' }), isCode(LedgerErrorCode.insufficientFunds));
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 3_000n);
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), 0n);
      // Give it back so circulation holds only the double spender's value below.
      const unload = await payer.client.makeUnloadRecord(3_000n);
      await net.fiA.applyUnloadRecord(unload.record);
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 0n);
    });

    test('the second terminal defunds the replayed value; the booking counts the draw; the audit stays exact', async () => {
      const payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 20_000n });
      const shopA = await newDevice(net, net.fiA, 'shop-a');
      const shopB = await newDevice(net, net.fiB, 'shop-b');
      await load(payer, 10_000n, 'payer-load');
      const image = snapshot(payer.backend);
      await pay(payer, shopA, 10_000n);
      const restored: TestDevice = { ...payer, ...openSe(net, 'payer-restored', image) };
      await pay(restored, shopB, 10_000n);

      await syncDevice(shopA.client, net.fiA, { defundAll: true, keyPrefix: 'shop-a' });
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 0n, 'the first terminal took circulation to zero');
      const r = await syncDevice(shopB.client, net.fiB, { defundAll: true, keyPrefix: 'shop-b' });
      assert.deepEqual(r.rounds[0]!.outcomes, ['conflict']);
      const incidentId = r.rounds[0]!.incidentIds[0]!;
      assert.equal((await shopB.client.getInfo()).balanceMinor, 0n, 'the honest terminal defunded all it took');
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 0n);
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -10_000n, 'the shortfall came from the incident account');
      const draws = await net.cb.db.query('SELECT incident_id, amount_minor FROM incident_draws');
      assert.deepEqual(draws.map((d) => [d['incident_id'], rowBigint(d, 'amount_minor')]), [[incidentId, 10_000n]]);
      assert.equal((await net.fiB.db.query('SELECT 1 AS one FROM unload_records WHERE cb_done = 0')).length, 0);

      // The same unload record again changes nothing.
      const last = await shopB.client.getLastUnloadRecord();
      assert.ok(last);
      assert.equal((await net.fiB.applyUnloadRecord(last)).replayed, true);
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -10_000n);
      assert.equal(await drawn(), 10_000n);

      // Conservation holds with the drawn value counted as booked, before anyone books anything.
      const early = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
      assert.deepEqual(early.violations, [], formatNetworkAudit(early));
      assert.equal(early.totals.incidentValueMinor, 10_000n);
      assert.equal((await cbIncidents(net.cb.db)).find((i) => i.id === incidentId)?.bookedMinor, 10_000n, 'the console counts the draw as booked');

      // Beyond the open incidents' exposure (L × cap(t)) the shortfall is refused again.
      const exposure = (await net.cb.incidents()).find((i) => i.id === incidentId)!.exposureMinor;
      await assert.rejects(net.cb.defundCirculation({ fiId: 'fi-b', amountMinor: exposure - 10_000n + 1n, idempotencyKey: 'beyond' }), isCode(LedgerErrorCode.insufficientFunds));
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -10_000n);

      await syncDevice(restored.client, net.fiA, { keyPrefix: 'payer' });
      // Booking the incident's value counts what was drawn: nothing more moves, and it is closed.
      const booked = await net.cb.bookIncidentValue({ amountMinor: 10_000n, reference: incidentId, idempotencyKey: `book-${incidentId}` });
      assert.equal(booked.balanceMinor, -10_000n);
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -10_000n, 'never counted twice');
      assert.equal((await cbIncidents(net.cb.db)).find((i) => i.id === incidentId)?.bookedMinor, 10_000n);
      const quiet = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.equal(quiet.clean, true, formatNetworkAudit(quiet));
      // A booked incident is no longer drawn on.
      await assert.rejects(net.cb.defundCirculation({ fiId: 'fi-b', amountMinor: 1n, idempotencyKey: 'after-booking' }), isCode(LedgerErrorCode.insufficientFunds));
    });
  });
}

// The arithmetic of draws and bookings at the CB alone, with incidents as the registry would have
// stored them: oldest first within each one's exposure, an excess draw re-charged to another open
// incident at booking, and what no open incident takes given back from circulation.
for (const engine of ENGINES) {
  describe(`incident draws and bookings at the CB on ${engine}`, () => {
    let db: FreshDb;
    let cb: CentralBank;
    const balance = async (id: string) => (await readAccount(cb.db, id))!.balanceMinor;
    const drawnOf = async (id: string) => rowBigint((await cb.db.query('SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS s FROM incident_draws WHERE incident_id = $1', [id]))[0]!, 's');
    const incident = (id: string, createdMs: number, exposureMinor: bigint) => cb.db.run(
      'INSERT INTO incidents (id, epoch, nullifier, tier, exposure_minor, created_ms, first_payment_hash, second_payment_hash) VALUES ($1, 1, $2, 1, $3, $4, $5, $5)',
      [id, new Uint8Array(48).fill(createdMs), exposureMinor, BigInt(createdMs), new Uint8Array(32)],
    );
    const exact = async () => {
      const report = await cb.audit();
      assert.deepEqual(report.violations, []);
      const issued = -(await balance(CB_ISSUANCE_ACCOUNT));
      const booked = -(await balance(CB_INCIDENT_ACCOUNT));
      assert.equal(issued + booked, (await balance(cbReserveAccount('fi-a'))) + (await balance(CB_CIRCULATION_ACCOUNT)));
      const views = await cbIncidents(cb.db);
      assert.equal(views.reduce((s, i) => s + i.bookedMinor, 0n), booked, 'the console\'s booked values add up to cb:incident');
    };
    before(async () => {
      db = await freshDb(engine);
      const world = makeWorld(`draws-${engine}`);
      cb = await CentralBank.open({ db: db.db, clock: { nowMs: () => 1_800_000_000_000 }, rng: countingRng(`draws-${engine}`), signingKey: world.cb, issuerMaster: new Uint8Array(32).fill(7), regulatorKey: world.regulatorKey });
      await cb.ledger.registerFi({ fiId: 'fi-a', idempotencyKey: 'reg-a' });
      await cb.ledger.issue({ fiId: 'fi-a', amountMinor: 100_000n, idempotencyKey: 'issue' });
      await cb.fundCirculation({ fiId: 'fi-a', amountMinor: 1_000n, idempotencyKey: 'fund-1' });
    });
    after(async () => db.cleanup());

    test('a shortfall is charged oldest first within exposure; a booking below the draw re-charges the excess', async () => {
      await incident('inc-a', 1, 5_000n);
      await incident('inc-b', 2, 5_000n);
      await assert.rejects(cb.defundCirculation({ fiId: 'fi-a', amountMinor: 11_001n, idempotencyKey: 'too-much' }), isCode(LedgerErrorCode.insufficientFunds));
      await cb.defundCirculation({ fiId: 'fi-a', amountMinor: 7_000n, idempotencyKey: 'defund-1' });
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 0n);
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -6_000n);
      assert.deepEqual([await drawnOf('inc-a'), await drawnOf('inc-b')], [5_000n, 1_000n]);
      await exact();
      // inc-a's value was 2 000: the 3 000 drawn beyond it is inc-b's; nothing moves.
      await cb.bookIncidentValue({ amountMinor: 2_000n, reference: 'inc-a', idempotencyKey: 'book-a' });
      await cb.bookIncidentValue({ amountMinor: 2_000n, reference: 'inc-a', idempotencyKey: 'book-a' });
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -6_000n);
      assert.deepEqual([await drawnOf('inc-a'), await drawnOf('inc-b')], [2_000n, 4_000n]);
      await exact();
      // inc-b's value 4 500: 500 more than drawn is booked.
      await cb.bookIncidentValue({ amountMinor: 4_500n, reference: 'inc-b', idempotencyKey: 'book-b' });
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -6_500n);
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 500n);
      await exact();
      // Both are booked: no more draws on them.
      await assert.rejects(cb.defundCirculation({ fiId: 'fi-a', amountMinor: 501n, idempotencyKey: 'after' }), isCode(LedgerErrorCode.insufficientFunds));
    });

    test('an excess draw no open incident takes goes back from circulation', async () => {
      await incident('inc-c', 3, 5_000n);
      await cb.defundCirculation({ fiId: 'fi-a', amountMinor: 1_000n, idempotencyKey: 'defund-2' });
      assert.equal(await drawnOf('inc-c'), 500n);
      await cb.fundCirculation({ fiId: 'fi-a', amountMinor: 1_000n, idempotencyKey: 'fund-2' });
      await cb.bookIncidentValue({ amountMinor: 200n, reference: 'inc-c', idempotencyKey: 'book-c' });
      assert.equal(await balance(CB_INCIDENT_ACCOUNT), -6_700n, '6 500 before, 500 drawn, 300 of it given back');
      assert.equal(await balance(CB_CIRCULATION_ACCOUNT), 700n);
      await exact();
    });
  });
}
