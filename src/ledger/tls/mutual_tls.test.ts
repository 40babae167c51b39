// Mutual TLS between a CB node and an FI node on loopback, with real certificates from a network
// CA made here. A real FI in its own FinancialIntermediary reaches the CB over HTTPS with its
// certificate (CbHttpClient + tlsFetch): it registers a device, has a credential issued and funds
// circulation. Then each attacker presents one wrong credential on the CB's institution routes and
// is refused with a typed error and no state change (the CB's audit and its row counts unchanged):
// a certificate from another CA, an expired one, one revoked after the node started, the CB's own,
// FI C's certificate acting for FI A, and none at all. The FI's client refuses a server whose
// certificate is from another CA or does not name the CB.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { seededRng } from '../../crypto/rng.ts';
import { p256KeyPair } from '../../se/signed.ts';
import type { World } from '../../../test/support/world.ts';
import { countingRng, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { MANUFACTURER, load, newDevice, openOfflineNet, type OfflineNet } from '../../../test/ledger/offline_world.ts';
import { CbHttpClient } from '../clients/cb_client.ts';
import { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { createOfflineEmbeddedApp } from '../http/apps.ts';
import { createNetworkCa, issueNodeCertificate, type IssuedCertificate } from './pki.ts';
import { RevokedSerials, revokeSerial, writeRevokedFile } from './revoked.ts';
import { httpsServerOptions, institutionFrom } from './server.ts';
import { tlsFetch, type TlsFetch } from './client.ts';

interface Answer {
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One request with its own connection, presenting `client` (or no certificate) and trusting `ca`. */
function call(baseUrl: string, ca: string, client: { cert: string; key: string } | null, method: string, route: string, payload?: unknown): Promise<Answer> {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `attempt-${Math.random()}` };
  return new Promise((resolve, reject) => {
    const req = https.request(`${baseUrl}${route}`, { method, headers, ca, agent: false, ...(client ?? {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const TABLES = ['journal_transactions', 'journal_entries', 'idempotency_keys', 'cb_devices', 'cb_device_keys', 'cb_issuances'];

describe('mutual TLS between the CB and an FI node', () => {
  let net: OfflineNet;
  let app: FastifyInstance;
  let baseUrl: string;
  let fiC: FinancialIntermediary;
  let fiDb: FreshDb;
  let link: TlsFetch;
  let revoked: RevokedSerials;
  let dir: string;
  let revokedFile: string;
  let ca: IssuedCertificate;
  let cbCert: IssuedCertificate;
  let fiCert: IssuedCertificate;

  /** What a refusal must leave as it was: the CB's books and the rows of its device and issuance tables. */
  async function cbState(): Promise<unknown> {
    const counts: Record<string, unknown> = {};
    for (const t of TABLES) counts[t] = (await net.cb.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${t}`))[0]!.n;
    return { audit: await net.cb.audit(), counts, reserveC: await net.cb.ledger.reserveBalance('fi-c'), reserveA: await net.cb.ledger.reserveBalance('fi-a') };
  }

  async function refused(client: { cert: string; key: string } | null, fiId: string, status: number, code: string, message: RegExp): Promise<void> {
    const before = await cbState();
    const r = await call(baseUrl, ca.cert, client, 'POST', '/cb/circulation/fund', { fiId, amountMinor: '100' });
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(r.json.error?.code, code);
    assert.match(r.json.error!.message, message);
    assert.deepEqual(await cbState(), before);
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tally-tls-'));
    revokedFile = path.join(dir, 'revoked.json');
    writeRevokedFile(revokedFile, []);
    ca = await createNetworkCa();
    cbCert = await issueNodeCertificate(ca, { role: 'cb' });
    fiCert = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-c' });
    net = await openOfflineNet('sqlite', 'mutual-tls', { verifyWorkers: 0 });
    revoked = RevokedSerials.open(revokedFile, { recheckMs: 0 });
    app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [] }, {
      https: httpsServerOptions({ key: cbCert.key, cert: cbCert.cert, ca: ca.cert }),
      cbCallers: { institution: institutionFrom(revoked) },
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    await net.cb.ledger.registerFi({ fiId: 'fi-c', idempotencyKey: 'reg-c' });
    await net.cb.ledger.issue({ fiId: 'fi-c', amountMinor: 500_000n, idempotencyKey: 'issue-c' });
    const key = p256KeyPair(seededRng('mutual-tls/fi-c'));
    fiDb = await freshDb('sqlite');
    link = tlsFetch({ ca: ca.cert, cert: fiCert.cert, key: fiCert.key });
    fiC = await FinancialIntermediary.open({
      db: fiDb.db, clock: net.clock, rng: countingRng('tls-c'), fiId: 'fi-c', signingKey: key,
      manufacturers: { [MANUFACTURER]: net.world.manufacturer.publicKey }, cb: await CbHttpClient.connect(`${baseUrl}/cb`, link), verifyWorkers: 1,
    });
    await fiC.ledger.creditTreasury({ amountMinor: 500_000n, reference: 'issue', idempotencyKey: 'issue-c/treasury' });
    net.worlds.set('fi-c', { ...net.world, fiId: 'fi-c', fi: key } as World);
  });

  after(async () => {
    await fiC?.close();
    link?.close();
    await app?.close();
    revoked?.close();
    await fiDb?.cleanup();
    await net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the node serves https, and an FI with its own certificate enrols a device, has it credentialed and funds circulation', async () => {
    assert.match(baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const device = await newDevice(net, fiC, 'payer', { depositMinor: 10_000n });
    assert.equal((await net.cb.db.query('SELECT 1 FROM cb_devices')).length, 1, 'the CB registered the device');
    const reserveBefore = await net.cb.ledger.reserveBalance('fi-c');
    await load(device, 4_000n, 'load-1');
    assert.equal(await net.cb.ledger.reserveBalance('fi-c'), reserveBefore - 4_000n, 'the voucher moved reserve into circulation at the CB');
    const r = await call(baseUrl, ca.cert, fiCert, 'GET', '/cb/fis/fi-c/reserve');
    assert.equal(r.status, 200);
    assert.equal(r.json['balanceMinor'], (reserveBefore - 4_000n).toString());
  });

  test('a certificate from another CA is refused (401), even naming a real FI', async () => {
    const otherCa = await createNetworkCa({ name: 'Not the network CA' });
    const forged = await issueNodeCertificate(otherCa, { role: 'fi', fiId: 'fi-c' });
    await refused(forged, 'fi-c', 401, 'UNAUTHENTICATED', /Client certificate refused: .*(issuer|verify|self.signed)/i);
  });

  test('an expired certificate of the network CA is refused (401)', async () => {
    const day = 86_400_000;
    const expired = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-c' }, { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
    await refused(expired, 'fi-c', 401, 'UNAUTHENTICATED', /expired/i);
  });

  test('a certificate revoked after the node started is refused from the next request on; the FI\'s other certificate still works', async () => {
    const second = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-c' });
    assert.equal((await call(baseUrl, ca.cert, second, 'GET', '/cb/fis/fi-c/reserve')).status, 200, 'valid before the revocation');
    assert.equal(revokeSerial(revokedFile, second.serial), true);
    assert.equal(revokeSerial(revokedFile, second.serial), false, 'revoking twice changes nothing');
    await refused(second, 'fi-c', 401, 'UNAUTHENTICATED', new RegExp(`serial ${second.serial} is revoked`));
    assert.equal((await call(baseUrl, ca.cert, fiCert, 'GET', '/cb/fis/fi-c/reserve')).status, 200);
  });

  test('FI C\'s certificate cannot act for FI A (403), nor read its reserve', async () => {
    await refused(fiCert, 'fi-a', 403, 'FORBIDDEN', /FI node fi-c may not call POST \/cb\/circulation\/fund/);
    const r = await call(baseUrl, ca.cert, fiCert, 'GET', '/cb/fis/fi-a/reserve');
    assert.equal(r.status, 403);
  });

  test('no client certificate on an institution route is 401; the CB\'s own certificate names no FI (401)', async () => {
    await refused(null, 'fi-c', 401, 'UNAUTHENTICATED', /needs a credential/);
    await refused(cbCert, 'fi-c', 401, 'UNAUTHENTICATED', /Client certificate refused/);
    assert.equal((await call(baseUrl, ca.cert, null, 'GET', '/cb/info')).status, 200, 'public routes need no certificate');
  });

  test('the FI\'s client refuses a server from another CA and a network server that is not the CB', async () => {
    const otherCa = await createNetworkCa({ name: 'Not the network CA' });
    const impostors = [
      { cert: await issueNodeCertificate(otherCa, { role: 'cb' }), error: /issuer|self.signed|verify/i },
      { cert: await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-a' }), error: /not the CB/ },
      { cert: await issueNodeCertificate(ca, { role: 'cb' }), error: null },
    ];
    for (const { cert, error } of impostors) {
      const server = https.createServer({ key: cert.key, cert: cert.cert, minVersion: 'TLSv1.3' }, (_req, res) => res.end('{"ok":true}'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client = tlsFetch({ ca: ca.cert, cert: fiCert.cert, key: fiCert.key });
      try {
        const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/cb/info`;
        if (error === null) assert.deepEqual(await (await client(url)).json(), { ok: true }, 'the CB\'s certificate is accepted');
        else await assert.rejects(client(url), error);
      } finally {
        client.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
