// Reclaim (issue 9) on both engines (PostgreSQL also with the CB's registry in hash partitions),
// through the SEs' APDU interfaces and the ledger's own APIs:
// a payment never delivered is credited back to its payer exactly once after the settlement
// window (before it: RECLAIM_TOO_EARLY; again: nothing changes), and is refused afterwards by any
// payee (offline: the revocation list; online: a payee that had credited it reverses the credit
// on the CB's signed refusal, and its FI charges the owner's account the rest); a payment delivered and settled is not reclaimed. The network audit stays balanced.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DeviceClass, Tier } from '../../policy/limits.ts';
import { settlementWindowEndMs } from '../../policy/settlement.ts';
import { DEFAULT_POLICY } from '../../policy/limits.ts';
import { SeError } from '../../se/status.ts';
import { REGISTRY_LAYOUTS } from '../../../test/ledger/engines.ts';
import { codeOf, fundFi, load, newCustomer, newDevice, openOfflineNet, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { viewRecord } from './payment_records.ts';
import { reclaimCbKey } from './reclaim.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';

/** Pays `amountMinor` to `payee`'s fresh request; the payment never reaches the payee. */
async function payUndelivered(payer: TestDevice, payee: TestDevice, amountMinor: bigint) {
  const request = await payee.client.buildPaymentRequest(amountMinor);
  return { request, payment: (await payer.client.authorizePayment(request, amountMinor)).payment };
}

for (const { engine, label, nullifierPartitions } of REGISTRY_LAYOUTS) {
  describe(`reclaim on ${label}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `reclaim-${engine}`, { nullifierPartitions });
    });
    after(async () => net.cleanup());

    test('undelivered → reclaimed once after the window, refused afterwards at any payee; settled → not reclaimed; audit balanced', async () => {
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
      const alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
      const shop = await newDevice(net, net.fiB, 'shop', { tier: Tier.merchant, deviceClass: DeviceClass.pos, customer: await newCustomer(net.fiB, 'shop-co', Tier.merchant) });
      const kiosk = await newDevice(net, net.fiB, 'kiosk', { tier: Tier.merchant, deviceClass: DeviceClass.pos, customer: await newCustomer(net.fiB, 'kiosk-co', Tier.merchant) });
      const carol = await newDevice(net, net.fiB, 'carol', { depositMinor: 1_000n });
      await load(alice, 20_000n, 'load-alice');

      // Three payments, none receipted to alice's SE: one never delivered (lost), one the shop credits
      // and settles in time (settled), one the kiosk credits and only uploads after the window (late).
      const lost = await payUndelivered(alice, shop, 1_200n);
      const settled = await payUndelivered(alice, shop, 800n);
      await shop.client.acceptPayment(settled.payment);
      const late = await payUndelivered(alice, kiosk, 500n);
      await kiosk.client.acceptPayment(late.payment);
      const lateToWallet = await payUndelivered(alice, carol, 400n);
      await carol.client.acceptPayment(lateToWallet.payment);
      await syncDevice(shop.client, shop.fi, { keyPrefix: 'shop-1' });
      const epoch = (await alice.client.getInfo()).spendingEpoch;
      assert.equal((await alice.client.getUnconfirmedPayments()).length, 4);

      // Before the window: the claims are kept, nothing is credited, and an explicit reclaim is refused.
      const first = await syncDevice(alice.client, alice.fi, { keyPrefix: 'alice-1' });
      const filed = first.rounds.at(-1)!.reclaim!;
      assert.deepEqual(filed.claims.map((c) => [c.amountMinor, c.status]), [[1_200n, 'pending'], [800n, 'pending'], [500n, 'pending'], [400n, 'pending']]);
      const windowEnd = settlementWindowEndMs(DEFAULT_POLICY, Tier.basic, epoch);
      assert.deepEqual(filed.claims.map((c) => c.windowEndMs), [windowEnd, windowEnd, windowEnd, windowEnd]);
      assert.equal(await codeOf(net.fiA.settleReclaim(filed.claims[0]!.recordHash)), 'RECLAIM_TOO_EARLY');
      assert.equal(await net.fiA.ledger.balance(alice.accountId), 30_000n);
      assert.equal((await alice.client.getUnconfirmedPayments()).length, 4);

      // One millisecond before the window's end is still too early; at its end the due claims settle.
      net.world.nowMs = windowEnd - 1n;
      assert.equal(await codeOf(net.fiA.settleReclaim(filed.claims[0]!.recordHash)), 'RECLAIM_TOO_EARLY');
      net.world.nowMs = windowEnd;
      const second = await syncDevice(alice.client, alice.fi, { keyPrefix: 'alice-2', renew: false });
      assert.deepEqual(second.rounds.at(-1)!.reclaim!.claims.map((c) => c.status), ['credited', 'settled', 'credited', 'credited']);
      assert.equal(await net.fiA.ledger.balance(alice.accountId), 30_000n + 1_200n + 500n + 400n);
      assert.deepEqual(await alice.client.getUnconfirmedPayments(), [], 'the FI told the SE every claim is done');
      // Again: nothing changes.
      assert.equal((await net.fiA.settleReclaim(filed.claims[0]!.recordHash)).replayed, true);
      await syncDevice(alice.client, alice.fi, { keyPrefix: 'alice-3', renew: false });
      assert.equal(await net.fiA.ledger.balance(alice.accountId), 32_100n);
      assert.equal((await net.cb.db.query('SELECT nullifier FROM reclaims')).length, 3);

      // Offline: the shop, synced, holds the revocation list and refuses the lost payment.
      await syncDevice(shop.client, shop.fi, { keyPrefix: 'shop-2', renew: false });
      await assert.rejects(shop.client.acceptPayment(lost.payment), (e: unknown) => e instanceof SeError && e.code === 'NULLIFIER_REVOKED');
      // Online: the kiosk credited the late one and uploads it after the window; its owner is charged for it.
      const kioskAccount = await net.fiB.ledger.balance(kiosk.accountId);
      await syncDevice(kiosk.client, kiosk.fi, { keyPrefix: 'kiosk-1', renew: false, defundAll: true });
      assert.equal(await net.fiB.ledger.balance(kiosk.accountId), kioskAccount + 500n - 500n, 'unloaded 500, charged 500 for the reclaimed payment');
      // A wallet payee still holding the value: its SE reverses the credit (CB-signed refusal), its account pays nothing net.
      assert.equal((await carol.client.getInfo()).balanceMinor, 400n);
      const carolSync = await syncDevice(carol.client, carol.fi, { keyPrefix: 'carol-1', renew: false });
      assert.equal(carolSync.rounds[0]!.refusals.length, 1);
      assert.equal((await carol.client.getInfo()).balanceMinor, 0n, 'the SE reversed the reclaimed credit');
      assert.equal(await net.fiB.ledger.balance(carol.accountId), 1_000n, 'reversed 400 in, charged 400 out');
      // The refusal again (a replayed answer) reverses nothing more.
      assert.equal((await carol.client.applyReclaimRefusal(carolSync.rounds[0]!.refusals[0]!)).applied, false);
      assert.equal((await carol.client.getInfo()).balanceMinor, 0n);

      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.equal(audit.clean, true, formatNetworkAudit(audit));
      assert.equal(audit.totals.inFlightMinor, 0n);
      assert.equal(audit.totals.accountsMinor + audit.totals.seBalancesMinor, audit.totals.issuedMinor);
      assert.equal(bytesToHex(filed.claims[1]!.paymentHash).length, 64);
    });

    test('a claim is refused unless it is its own device\'s, signed, and its record and opening check; a refused claim keeps nothing', async () => {
      const bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 10_000n });
      const mallory = await newDevice(net, net.fiA, 'mallory', { depositMinor: 10_000n });
      const till = await newDevice(net, net.fiB, 'till', { tier: Tier.merchant, deviceClass: DeviceClass.pos, customer: await newCustomer(net.fiB, 'till-co', Tier.merchant) });
      await load(bob, 5_000n, 'load-bob');
      await payUndelivered(bob, till, 300n);
      const [claim] = await bob.client.exportReclaimClaims();
      const flip = (b: Uint8Array, i: number) => {
        const c = b.slice();
        c[i]! ^= 1;
        return c;
      };
      const rows = async () => (await net.fiA.db.query('SELECT record_hash FROM reclaim_claims')).length;
      const before = await rows();
      const codes = [
        await codeOf(net.fiA.fileReclaimClaims(mallory.deviceId, [claim!])), // another device presents bob's claim
        await codeOf(net.fiA.fileReclaimClaims(bob.deviceId, [{ ...claim!, claim: flip(claim!.claim, claim!.claim.length - 1) }])), // signature
        await codeOf(net.fiA.fileReclaimClaims(bob.deviceId, [{ ...claim!, record: flip(claim!.record, claim!.record.length - 1) }])), // record
        await codeOf(net.fiA.fileReclaimClaims(bob.deviceId, [{ ...claim!, record: claim!.record.slice(1) }])), // malformed record
        await codeOf(net.fiB.fileReclaimClaims(bob.deviceId, [claim!])), // another FI
      ];
      assert.deepEqual(codes, ['RECLAIM_REFUSED', 'RECLAIM_REFUSED', 'RECLAIM_REFUSED', 'RECLAIM_REFUSED', 'UNKNOWN_DEVICE']);
      assert.equal(await rows(), before, 'no refused claim was kept');
      const filed = await net.fiA.fileReclaimClaims(bob.deviceId, [claim!]);
      const again = await net.fiA.fileReclaimClaims(bob.deviceId, [claim!]);
      assert.deepEqual([filed.claims[0]!.status, again.claims[0]!.status, await rows()], ['pending', 'pending', before + 1]);
      assert.equal(await net.fiA.ledger.balance(bob.accountId), 5_000n);

      // A crash between the CB leg and the FI leg: the CB has reclaimed, the FI has not credited yet.
      const hash = filed.claims[0]!;
      net.world.nowMs = hash.windowEndMs;
      const v = viewRecord(claim!.record);
      assert.ok(v.ok);
      await net.cb.reclaimPayment({ fiId: 'fi-a', epoch: v.view.epoch, nullifier: v.view.nullifier, paymentHash: hash.recordHash, amountMinor: 300n, idempotencyKey: reclaimCbKey('fi-a', hash.recordHash) });
      const torn = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
      assert.deepEqual(torn.violations.map((x) => x.code), ['RESERVE_MISMATCH', 'TOTALS_MISMATCH'], 'the FI leg is outstanding');
      assert.ok((await net.fiA.resume()) >= 1, 'resume() settles the due claim');
      assert.equal(await net.fiA.ledger.balance(bob.accountId), 5_300n);
      assert.equal((await net.fiA.settleReclaim(hash.recordHash)).replayed, true);
      assert.equal(await net.fiA.ledger.balance(bob.accountId), 5_300n);
      const healed = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
      assert.equal(healed.clean, true, formatNetworkAudit(healed));
    });
  });
}
