// A scripted day of the offline network on both engines, with real SEs: the CB issues to two FIs,
// customers are registered and their devices enrolled and credentialed, wallets are funded by
// load vouchers, a wallet funds its watch offline, everyone pays offline (across FIs too), then
// every device syncs in a shuffled order with repeated batches — the watch through its owner's
// wallet (store-and-forward) — the merchant terminal defunds at each sync and a wallet defunds at
// the end. The network audit must be clean with in flight exactly zero, and every total exact.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../crypto/rng.ts';
import { DeviceClass, Tier } from '../../policy/limits.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { fundFi, load, newCustomer, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { SyncCarrier, syncDevice } from '../clients/device_sync.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function shuffle<T>(xs: T[], seed: string): T[] {
  const rng = seededRng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng(1)[0]! % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

for (const engine of ENGINES) {
  describe(`a scripted offline day on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `day-${engine}`);
    });
    after(async () => net.cleanup());

    test('issue, allocate, fund, pay offline, sync in any order with duplicates, defund: clean audit, exact totals', async () => {
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
      const alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
      const bob = await newDevice(net, net.fiB, 'bob', { depositMinor: 50_000n });
      const watch = await newDevice(net, net.fiA, 'alice-watch', { tier: Tier.iot, deviceClass: DeviceClass.wearable, customer: alice });
      const shop = await newDevice(net, net.fiA, 'shop', { tier: Tier.merchant, deviceClass: DeviceClass.pos, customer: await newCustomer(net.fiA, 'shop-co', Tier.merchant) });
      await load(alice, 20_000n, 'load-alice');
      await load(bob, 20_000n, 'load-bob');
      // A voucher retried under its key gives the same voucher and debits once.
      const again = await net.fiA.createLoadVoucher({ deviceId: alice.deviceId, amountMinor: 20_000n, idempotencyKey: 'load-alice' });
      assert.equal(again.loadCounter, 0n);
      assert.equal(await net.fiA.ledger.balance(alice.accountId), 30_000n);

      const payments: Array<[TestDevice, TestDevice, bigint]> = [
        [alice, watch, 3_000n], [alice, shop, 1_500n], [bob, shop, 2_500n], [watch, shop, 700n], [bob, alice, 1_000n], [alice, bob, 500n],
      ];
      for (const [from, to, amount] of payments) await pay(from, to, amount);
      net.world.nowMs += 3_600_000n;
      const early = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.deepEqual(early.violations.map((v) => v.code), ['IN_FLIGHT_NONZERO'], 'before any sync the SEs have not reported their payments');

      const carrier = new SyncCarrier();
      const order = shuffle([alice, bob, watch, shop, bob, shop], `${net.seed}/order`);
      for (const d of order) {
        if (d === watch) {
          await carrier.collect(watch.client);
          const first = await carrier.deliver(net.fiA);
          carrier.carried.forEach((c) => (c.result = null)); // the wallet lost the answers: deliver again
          const second = await carrier.deliver(net.fiA);
          assert.deepEqual(second.map((r) => hex(r.ack)), first.map((r) => hex(r.ack)));
          assert.equal(second.every((r) => r.replayed), true);
          assert.equal(await carrier.handBack(watch.client), 1);
        } else {
          const r = await syncDevice(d.client, d.fi, { defundAll: d === shop, keyPrefix: d.name });
          // Send the last batch again: same ack, nothing counted twice.
          const last = r.rounds.at(-1)!;
          const batch = await d.client.exportSyncBatch(); // the next (empty) batch, fresh
          const replay = await d.fi.sync({ report: batch.report, payments: batch.payments });
          const replay2 = await d.fi.sync({ report: batch.report, payments: batch.payments });
          assert.equal(replay2.replayed, true);
          assert.equal(hex(replay2.ack), hex(replay.ack));
          await d.client.applySyncAck(replay.ack);
          assert.ok(last.batchId < replay.batchId);
        }
      }
      // The watch's value was received offline; its SE reports it through the carrier. Alice defunds.
      const unload = await alice.client.makeUnloadRecord(5_000n);
      assert.equal((await net.fiA.applyUnloadRecord(unload.record)).replayed, false);
      const twice = await net.fiA.applyUnloadRecord(unload.record);
      assert.equal(twice.replayed, true);
      assert.equal(twice.accountBalanceMinor, 35_000n);
      await syncDevice(alice.client, net.fiA, { keyPrefix: 'alice-end' });

      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.equal(audit.clean, true, formatNetworkAudit(audit));
      const se = async (d: TestDevice) => (await d.client.getInfo()).balanceMinor;
      assert.equal(await se(alice), 20_000n - 3_000n - 1_500n + 1_000n - 500n - 5_000n);
      assert.equal(await se(bob), 20_000n - 2_500n - 1_000n + 500n);
      assert.equal(await se(watch), 3_000n - 700n);
      assert.equal(await se(shop), 0n);
      assert.equal(await net.fiA.ledger.balance(shop.accountId), 1_500n + 2_500n + 700n);
      assert.equal(await net.fiA.ledger.balance(alice.accountId), 30_000n + 5_000n);
      assert.equal(await net.fiB.ledger.balance(bob.accountId), 30_000n);
      const t = audit.totals;
      assert.equal(t.issuedMinor, 2_000_000n);
      assert.equal(t.inFlightMinor, 0n);
      assert.equal(t.seBalancesMinor, (await se(alice)) + (await se(bob)) + (await se(watch)));
      assert.equal(t.circulationMinor, 40_000n - 4_700n - 5_000n);
      assert.equal(t.accountsMinor + t.seBalancesMinor, t.issuedMinor);
      assert.equal(audit.incidents.length, 0);
      assert.equal((await net.cb.db.query('SELECT nullifier FROM nullifiers')).length, payments.length);
    });
  });
}
