// Attacker: a broken SE that uploads a payment another device received (finding 4 of the threat
// model). Its owner paid an honest merchant from it, so it knows the payment's opening (a, r_a);
// the merchant syncs and is credited; then the broken SE plants the same payee record in its own
// log and syncs too, at the same FI and at another FI. Were the upload counted, the same payment
// would be credited twice and value created with no incident. The payment context names its payee
// (a hash of the payee's attestation key), so the FI refuses a receipt that names someone else,
// and records an incident naming the uploader.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { scalarFromBytes } from '../../src/crypto/index.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { auditNetwork, formatNetworkAudit } from '../../src/ledger/network_audit.ts';
import { Tier } from '../../src/policy/limits.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet } from '../ledger/offline_world.ts';
import { forgetNullifier, plantReceipt, readReceiptLog } from './broken_se.ts';

for (const engine of ENGINES) {
  describe(`receipts bound to their payee on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `foreign-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    test('payee uploads the same receipt in two batches', async () => {
      const payer = await newDevice(net, net.fiA, 'twice-payer', { depositMinor: 20_000n });
      let shop = await newDevice(net, net.fiA, 'twice-shop', { tier: Tier.merchant, testCommands: true });
      await load(payer, 10_000n, 'twice-load');
      await pay(payer, shop, 2_500n);
      const [received] = readReceiptLog(shop.backend);
      await syncDevice(shop.client, shop.fi, { keyPrefix: 'twice-1' });
      // The broken owner forgets the nullifier in NVM and logs the same record again.
      shop = forgetNullifier(shop, net, received!.nullifier);
      await plantReceipt(shop.client, {
        record: received!.payment, amountMinor: received!.amountMinor, blinding: scalarFromBytes(received!.blinding),
        nullifier: received!.nullifier, epoch: received!.epoch,
      });
      await assert.rejects(
        syncDevice(shop.client, shop.fi, { keyPrefix: 'twice-2' }),
        (e: unknown) => e instanceof LedgerError && e.code === 'REPLAY_CONFLICT',
        'the FI refuses a receipt it already settled',
      );
      const incidents = await shop.fi.syncIncidents();
      assert.ok(incidents.some((i) => bytesToHex(i.deviceId) === bytesToHex(shop.deviceId) && i.kind === 'RECEIPT_UPLOADED_TWICE'));
      assert.equal((await shop.fi.device(shop.deviceId)).reportedBalanceMinor, 2_500n, 'the FI still knows the balance of the first batch only');
    });

    test('a dishonest FI forwards a payment another device uploaded: the CB opens an incident naming the uploader', async () => {
      const payer = await newDevice(net, net.fiA, 'fwd-payer', { depositMinor: 20_000n });
      const shop = await newDevice(net, net.fiA, 'fwd-shop', { tier: Tier.merchant });
      const other = await newDevice(net, net.fiB, 'fwd-other', { tier: Tier.merchant });
      await load(payer, 10_000n, 'fwd-load');
      await pay(payer, shop, 1_500n);
      const [received] = readReceiptLog(shop.backend);
      await syncDevice(shop.client, shop.fi, { keyPrefix: 'fwd-shop' });
      const again = await net.cb.registerPayments({ fiId: 'fi-a', deviceId: shop.deviceId, records: [received!.payment], idempotencyKey: 'fwd-same' });
      assert.deepEqual(again.outcomes, ['duplicate'], 'the same uploader again is a duplicate');
      const r = await net.cb.registerPayments({ fiId: 'fi-b', deviceId: other.deviceId, records: [received!.payment], idempotencyKey: 'fwd-other' });
      assert.deepEqual(r.outcomes, ['conflict'], 'the same payment from another device is a conflict, never a duplicate');
      const incident = r.incidents[0]!;
      assert.equal(incident.customerId, null, 'the payer spent once: it is not named');
      assert.equal(incident.uploaderFiId, 'fi-b');
      assert.equal(bytesToHex(incident.uploaderDeviceId!), bytesToHex(other.deviceId));
    });

    for (const where of ['same FI', 'another FI'] as const) {
      test(`second device uploads a received payment (${where})`, async () => {
        const tag = where === 'same FI' ? 's' : 'o';
        const payer = await newDevice(net, net.fiA, `mallory-${tag}`, { depositMinor: 20_000n });
        const shop = await newDevice(net, net.fiA, `shop-${tag}`, { tier: Tier.merchant });
        const second = await newDevice(net, where === 'same FI' ? net.fiA : net.fiB, `mallory-box-${tag}`, { tier: Tier.merchant, testCommands: true });
        await load(payer, 10_000n, `load-${tag}`);
        await pay(payer, shop, 4_000n);
        const [received] = readReceiptLog(shop.backend);
        assert.ok(received, 'the merchant logged the payment');
        await syncDevice(shop.client, shop.fi, { keyPrefix: `shop-${tag}`, defundAll: true });

        await plantReceipt(second.client, {
          record: received.payment, amountMinor: received.amountMinor, blinding: scalarFromBytes(received.blinding),
          nullifier: received.nullifier, epoch: received.epoch,
        });
        await assert.rejects(
          syncDevice(second.client, second.fi, { keyPrefix: `box-${tag}`, defundAll: true }),
          (e: unknown) => e instanceof LedgerError && e.code === 'RECEIPT_NOT_FOR_UPLOADER',
          'the FI refuses a receipt whose context names another payee',
        );
        const incidents = await second.fi.syncIncidents();
        assert.ok(
          incidents.some((i) => bytesToHex(i.deviceId) === bytesToHex(second.deviceId) && i.kind === 'RECEIPT_NOT_FOR_UPLOADER'),
          'an incident names the uploader',
        );
        // The SE signed an unload of the planted value; the FI credits no unload beyond the value it
        // accounted for (vouchers and settled receipts), whether it comes with the sync or alone.
        const unload = await second.client.getLastUnloadRecord();
        assert.ok(unload, 'the broken SE made an unload record of the planted value');
        await assert.rejects(second.fi.applyUnloadRecord(unload), (e: unknown) => e instanceof LedgerError && e.code === 'UNLOAD_NOT_COVERED');
        const account = await second.fi.ledger.balance(second.accountId);
        assert.equal(account, 0n, 'nothing was credited for the foreign receipt');
        await assert.rejects(second.fi.startIssuance({ deviceId: second.deviceId }), (e: unknown) => e instanceof LedgerError && e.code === 'BLOCKED');
        const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
        assert.ok(audit.totals.inFlightMinor >= 0n, `no value created: ${formatNetworkAudit(audit)}`);
      });
    }
  });
}
