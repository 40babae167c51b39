// A payer images its SE, pays, restores the image and pays again with the same counter: two
// different payments with one nullifier, to payees at two different FIs. Whichever payee syncs
// first, the second registration at the CB is the double spend: the incident names the payer's
// customer and device (K recovered from the two tags), the customer gets no new credential, the
// nullifier goes on the next revocation list, honest parties are untouched, and the value the
// double spend created is found by the audit and booked so the totals are exact again. Runs on
// each engine and on PostgreSQL with the CB's registry in hash partitions (db/partition.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { verifyRevocationList } from '../../policy/policy_codec.ts';
import { REGISTRY_LAYOUTS } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { LedgerError } from '../errors.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';

const hex = (b: Uint8Array | null): string => (b === null ? 'null' : bytesToHex(b));

for (const { engine, label, nullifierPartitions } of REGISTRY_LAYOUTS) {
  describe(`double spend through a restored SE snapshot on ${label}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `ds-${engine}`, { nullifierPartitions });
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    for (const firstSync of ['fi-a payee', 'fi-b payee'] as const) {
      test(`detected at the CB when the ${firstSync} syncs first; the payer is identified and refused renewal`, async () => {
        const tag = firstSync === 'fi-a payee' ? 'x' : 'y';
        const payer = await newDevice(net, net.fiA, `payer-${tag}`, { depositMinor: 20_000n });
        const payeeA = await newDevice(net, net.fiA, `payee-a-${tag}`);
        const payeeB = await newDevice(net, net.fiB, `payee-b-${tag}`);
        await load(payer, 10_000n, `load-${tag}`);
        const image = snapshot(payer.backend);
        await pay(payer, payeeA, 2_000n);
        const restored: TestDevice = { ...payer, ...openSe(net, `payer-${tag}-restored`, image) };
        await pay(restored, payeeB, 2_000n);
        assert.equal((await payer.client.getInfo()).paymentCounter, (await restored.client.getInfo()).paymentCounter);

        const [first, second] = firstSync === 'fi-a payee' ? [payeeA, payeeB] : [payeeB, payeeA];
        const r1 = await syncDevice(first.client, first.fi, { keyPrefix: first.name });
        assert.deepEqual(r1.rounds[0]!.outcomes, ['inserted']);
        assert.equal((await net.cb.incidents()).filter((i) => i.customerId === payer.customerId).length, 0);
        const r2 = await syncDevice(second.client, second.fi, { keyPrefix: second.name });
        assert.deepEqual(r2.rounds[0]!.outcomes, ['conflict'], 'the honest payee is still acknowledged');
        assert.equal(r2.rounds[0]!.incidentIds.length, 1);

        const incident = (await net.cb.incidents()).find((i) => i.id === r2.rounds[0]!.incidentIds[0]);
        assert.ok(incident);
        assert.equal(incident.customerId, payer.customerId);
        assert.equal(incident.fiId, 'fi-a');
        assert.equal(hex(incident.deviceId), hex(payer.deviceId));
        assert.equal(incident.exposureMinor, 64n * 20_000n, 'L × cap(t) of tier 1');
        for (const h of [incident.firstPaymentHash, incident.secondPaymentHash]) {
          assert.equal((await net.cb.db.query('SELECT record FROM payment_evidence WHERE payment_hash = $1', [h])).length, 1, 'both payments kept as evidence');
        }
        const fiKeys = await net.fiA.db.query('SELECT device_id FROM device_keys WHERE k_point = $1', [incident.kPoint]);
        assert.equal(fiKeys.length, 1, 'the FI registry maps the recovered K to the device too');

        // Contain: no new credential for the payer's customer, through either door.
        await assert.rejects(net.fiA.startIssuance({ deviceId: payer.deviceId }), (e: unknown) => e instanceof LedgerError && e.code === 'BLOCKED');
        const payerSync = await syncDevice(restored.client, net.fiA, { keyPrefix: `payer-${tag}` });
        const renewal = payerSync.rounds.at(-1)!.renewal;
        assert.equal(renewal.offered, false);
        assert.equal(renewal.offered === false && renewal.code, 'BLOCKED');
        assert.equal(payerSync.renewedEpoch, null);
        // The original image is now a rolled-back SE: its batch id was settled with another report.
        net.world.nowMs += 1_000n;
        await assert.rejects(syncDevice(payer.client, net.fiA), (e: unknown) => e instanceof LedgerError && e.code === 'REPLAY_CONFLICT');
        // Honest payees still renew.
        const again = await syncDevice(first.client, first.fi, { keyPrefix: `${first.name}-2` });
        assert.equal(again.rounds.at(-1)!.renewal.offered, true);
        assert.ok((await first.client.getInfo()).credentialEpochs.length >= 2, 'renewed at its first sync');

        // The nullifier is on the signed revocation list, which the payees installed at sync.
        const list = verifyRevocationList(r2.rounds.at(-1)!.distribution.signedRevocationList, net.cb.publicKey);
        assert.ok(list.ok);
        assert.ok(list.value.nullifiers.some((n) => hex(n) === hex(incident.nullifier)));
        assert.equal((await second.client.getInfo()).revocationVersion, list.value.version);

        // Value was created: with everyone synced the audit finds it, and booking it makes it exact.
        const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
        assert.deepEqual(audit.violations.map((v) => v.code), ['IN_FLIGHT_NONZERO']);
        assert.equal(audit.totals.inFlightMinor, -2_000n);
        await net.cb.bookIncidentValue({ amountMinor: 2_000n, reference: incident.id, idempotencyKey: `book-${incident.id}` });
        const booked = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
        assert.equal(booked.clean, true, formatNetworkAudit(booked));
        assert.match(formatNetworkAudit(booked), new RegExp(`exposure L×cap = ${64n * 20_000n}`));
      });
    }
  });
}
