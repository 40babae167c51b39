// An FI whose CB is another node reached over HTTPS with its client certificate (CbHttpClient
// over tlsFetch against the CB routes, the CB telling the FI by its certificate): enrol,
// issue a credential, load, pay offline, double spend from a restored image, sync. The results
// match the in-process port: the double spend is registered and identified through the wire, and
// the network audit over all three FIs stays exact once the created value is booked.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { seededRng } from '../../crypto/rng.ts';
import { p256KeyPair } from '../../se/signed.ts';
import type { World } from '../../../test/support/world.ts';
import { ENGINES, countingRng, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { MANUFACTURER, fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { CbHttpClient } from './cb_client.ts';
import { LedgerError } from '../errors.ts';
import { syncDevice } from './device_sync.ts';
import { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';
import { createOfflineEmbeddedApp } from '../http/apps.ts';
import { createNetworkCa, httpsServerOptions, institutionFrom, issueNodeCertificate, tlsFetch, type TlsFetch } from '../tls/index.ts';

for (const engine of ENGINES) {
  describe(`an FI talking to its CB over HTTPS on ${engine}`, () => {
    let net: OfflineNet;
    let app: FastifyInstance;
    let fiC: FinancialIntermediary;
    let db: FreshDb;
    let link: TlsFetch;
    before(async () => {
      net = await openOfflineNet(engine, `http-cb-${engine}`, { verifyWorkers: 0 });
      const ca = await createNetworkCa();
      const cbCert = await issueNodeCertificate(ca, { role: 'cb' });
      const fiCert = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-c' });
      app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [] }, {
        https: httpsServerOptions({ key: cbCert.key, cert: cbCert.cert, ca: ca.cert }),
        cbCallers: { institution: institutionFrom(null) },
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      link = tlsFetch({ ca: ca.cert, cert: fiCert.cert, key: fiCert.key });
      const key = p256KeyPair(seededRng('fi-c'));
      db = await freshDb(engine);
      fiC = await FinancialIntermediary.open({
        db: db.db, clock: net.clock, rng: countingRng('c'), fiId: 'fi-c', signingKey: key,
        manufacturers: { [MANUFACTURER]: net.world.manufacturer.publicKey }, cb: await CbHttpClient.connect(`${url}/cb`, link), verifyWorkers: 1,
      });
      net.worlds.set('fi-c', { ...net.world, fiId: 'fi-c', fi: key } as World);
      await net.cb.ledger.registerFi({ fiId: 'fi-c', idempotencyKey: 'reg-c' });
    });
    after(async () => {
      await fiC.close();
      link.close();
      await app.close();
      await db.cleanup();
      await net.cleanup();
    });

    test('policyAt() over HTTPS: a published version verifies under the CB key; an unpublished or malformed one is refused', async () => {
      const client = (fiC as unknown as { config: { cb: CbHttpClient } }).config.cb;
      assert.deepEqual(await client.policyAt(1n), await net.cb.policyAt(1n));
      await assert.rejects(client.policyAt(99n), (e: unknown) => e instanceof LedgerError && e.code === 'UNKNOWN_POLICY');
      const base = app.server.address() as { port: number };
      const res = await link(`https://127.0.0.1:${base.port}/cb/policy/not-a-number`);
      assert.equal(res.status, 400);
    });

    test('a freeze reaches the CB over HTTPS: the device key is listed, replays and unfreeze behave, another FI cannot name it', async () => {
      const dev = await newDevice(net, fiC, 'frozen-over-https');
      const key = (await fiC.device(dev.deviceId)).publicKey;
      const listed = async () => (await net.cb.deviceRevocations()).map((d) => Buffer.from(d.attestationKey).toString('hex'));
      const hexKey = Buffer.from(key).toString('hex');
      const r = await fiC.setFrozen({ customerId: dev.customerId, frozen: true, reason: 'over https', idempotencyKey: 'https-freeze' });
      assert.deepEqual([r.frozen, r.devices], [true, 1]);
      assert.ok((await listed()).includes(hexKey));
      assert.equal((await net.cb.distribution(dev.tier)).revocationVersion, r.revocationVersion);
      const again = await fiC.setFrozen({ customerId: dev.customerId, frozen: true, reason: 'over https', idempotencyKey: 'https-freeze' });
      assert.equal(again.revocationVersion, r.revocationVersion);
      // fi-c's certificate may not speak for fi-a, and a key of another customer is UNKNOWN_DEVICE.
      const client = (fiC as unknown as { config: { cb: CbHttpClient } }).config.cb;
      await assert.rejects(client.reportDeviceRevocations({ fiId: 'fi-a', customerId: dev.customerId, revoked: false, deviceKeys: [key], idempotencyKey: 'https-wrong-fi' }),
        (e: unknown) => e instanceof LedgerError && e.code === 'FORBIDDEN');
      await assert.rejects(client.reportDeviceRevocations({ fiId: 'fi-c', customerId: 'cus_someone_else', revoked: false, deviceKeys: [key], idempotencyKey: 'https-wrong-customer' }),
        (e: unknown) => e instanceof LedgerError && e.code === 'UNKNOWN_DEVICE');
      assert.ok((await listed()).includes(hexKey), 'refused calls changed nothing');
      const u = await fiC.setFrozen({ customerId: dev.customerId, frozen: false, reason: 'cleared', idempotencyKey: 'https-unfreeze' });
      assert.ok(!(await listed()).includes(hexKey));
      assert.ok(u.revocationVersion! > r.revocationVersion!);
    });

    test('issuance, vouchers, sync and a double spend go through the CB routes', async () => {
      await fundFi(net, fiC, 500_000n, 'issue-c');
      const payer = await newDevice(net, fiC, 'payer', { depositMinor: 10_000n });
      const payee1 = await newDevice(net, fiC, 'payee-1');
      const payee2 = await newDevice(net, fiC, 'payee-2');
      await load(payer, 5_000n, 'load');
      const image = snapshot(payer.backend);
      await pay(payer, payee1, 1_000n);
      const restored: TestDevice = { ...payer, ...openSe(net, 'payer-restored', image) };
      await pay(restored, payee2, 1_000n);
      const r1 = await syncDevice(payee1.client, fiC, { keyPrefix: 'p1' });
      const r2 = await syncDevice(payee2.client, fiC, { keyPrefix: 'p2' });
      assert.deepEqual([r1.rounds[0]!.outcomes, r2.rounds[0]!.outcomes], [['inserted'], ['conflict']]);
      assert.equal(r2.rounds[0]!.incidentIds.length, 1);
      assert.notEqual(r1.renewedEpoch, null, 'renewal issued through the CB route');
      const incident = (await net.cb.incidents())[0]!;
      assert.equal(incident.customerId, payer.customerId);
      assert.equal(incident.fiId, 'fi-c');
      const p = await syncDevice(restored.client, fiC, { keyPrefix: 'payer' });
      const renewal = p.rounds.at(-1)!.renewal;
      assert.equal(renewal.offered === false ? renewal.code : 'offered', 'BLOCKED');
      await net.cb.bookIncidentValue({ amountMinor: 1_000n, reference: incident.id, idempotencyKey: 'book' });
      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB, fiC] }, { expectQuiescent: true });
      assert.equal(audit.clean, true, formatNetworkAudit(audit));
      assert.equal(audit.totals.circulationMinor, 6_000n);
    });
  });
}
