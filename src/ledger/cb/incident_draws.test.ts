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
import { ENGINES } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT } from '../book/accounts.ts';
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
