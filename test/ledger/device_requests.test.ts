// Signed device requests (src/ledger/access/device_requests.ts) against real SEs and a real FI app: a
// device route admits only a request its own enrolled SE signed, over exactly this method, path and
// body, under a counter above the last one accepted. Replayed, reordered, tampered, unsigned,
// unknown-device and other-device requests are refused and change nothing (every FI table and the
// book audit identical, balances unchanged). Vouchers name the SE's load counter: only the next one
// is issued, a lost answer is answered again, another amount is VOUCHER_OUTSTANDING until the SE
// applies the voucher, and no refused voucher (frozen, over the holding limit, insufficient funds,
// wrong counter) moves money. The host's client signs every call over a loopback server.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DeviceClass, Tier, limitsFor } from '../../src/policy/limits.ts';
import { provisionSe } from '../support/world.ts';
import type { SeClient } from '../../src/se/client.ts';
import { auditBook } from '../../src/ledger/book/audit.ts';
import type { Db } from '../../src/ledger/db/adapter.ts';
import { DEVICE_HEADER, REQUEST_COUNTER_HEADER, REQUEST_SIGNATURE_HEADER, signedHeaders } from '../../src/ledger/access/device_requests.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { FiHttpClient } from '../../src/ledger/clients/fi_client.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { fundSe } from '../../src/cli/cmd_device.ts';
import { ENGINES } from './engines.ts';
import { fundFi, newDevice, openOfflineNet, openSe, type OfflineNet, type TestDevice } from './offline_world.ts';

const TABLES = ['accounts', 'journal_transactions', 'journal_entries', 'idempotency_keys', 'customers', 'devices', 'load_vouchers', 'unload_records', 'sync_batches', 'admin_log'];

const cell = (v: unknown): string => (v instanceof Uint8Array ? bytesToHex(v) : String(v));

/** Every row of the FI's tables, as sorted text; `except` drops one device's request counter. */
async function stateOf(db: Db, except?: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  for (const t of TABLES) {
    for (const r of await db.query(`SELECT * FROM ${t}`)) {
      const row = Object.entries(r).map(([k, v]) => {
        const skip = t === 'devices' && k === 'last_request_counter' && except !== undefined && cell(r['device_id']) === bytesToHex(except);
        return `${k}=${skip ? '*' : cell(v)}`;
      });
      out.push(`${t}: ${row.join(' ')}`);
    }
  }
  return out.sort();
}

interface Req {
  method: 'GET' | 'POST';
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** A request the SE signs as sent (`sign` lets a row sign something other than what it sends). */
async function signed(se: SeClient, method: 'GET' | 'POST', url: string, payload?: unknown, key = 'k', sign: Partial<Omit<Req, 'headers'>> = {}): Promise<Req> {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const headers = await signedHeaders(se, sign.method ?? method, sign.url ?? url, sign.body ?? body);
  if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'idempotency-key': key });
  return { method, url, body, headers };
}

const send = (app: FastifyInstance, r: Req): Promise<LightMyRequestResponse> =>
  app.inject({ method: r.method, url: r.url, headers: r.headers, ...(r.body === '' ? {} : { payload: r.body }) } as InjectOptions);
const outcome = (res: LightMyRequestResponse): [number, string] => [res.statusCode, res.statusCode < 300 ? 'OK' : (res.json().error.code as string)];

for (const engine of ENGINES) {
  describe(`signed device requests on ${engine}`, () => {
    let net: OfflineNet;
    let app: FastifyInstance;
    let alice: TestDevice;
    let bob: TestDevice;
    const devicePath = (d: TestDevice, rest = '') => `/fi/fi-a/devices/${bytesToHex(d.deviceId)}${rest}`;
    const balance = (d: TestDevice) => d.fi.ledger.balance(d.accountId);
    const holding = () => limitsFor(net.world.policy, Tier.basic).holdingLimitMinor;

    before(async () => {
      net = await openOfflineNet(engine, `devreq-${engine}`, { verifyWorkers: 0 });
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 500_000n });
      bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 10_000n });
      app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
    });
    after(async () => {
      await app.close();
      await net.cleanup();
    });

    test('refused device requests change nothing: unsigned, unknown device, tampered body, path, method, counter or signature, another device\'s SE', async () => {
      const url = devicePath(alice, '/vouchers');
      const payload = { amountMinor: '1000', loadCounter: '0' };
      const stranger = openSe(net, 'stranger');
      await provisionSe(net.worlds.get('fi-a')!, stranger.client, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
      const good = await signed(alice.client, 'POST', url, payload);
      const flipSig = { ...good.headers, [REQUEST_SIGNATURE_HEADER]: (good.headers[REQUEST_SIGNATURE_HEADER]![0] === '0' ? '1' : '0') + good.headers[REQUEST_SIGNATURE_HEADER]!.slice(1) };
      const rows: Array<[string, () => Promise<Req>, [number, string], Uint8Array?]> = [
        ['no device headers (the attack: an anonymous voucher request)', async () => ({ ...good, headers: { 'content-type': 'application/json', 'idempotency-key': 'k' } }), [401, 'UNAUTHENTICATED']],
        ['only one of the three headers', async () => ({ ...good, headers: { 'content-type': 'application/json', 'idempotency-key': 'k', [DEVICE_HEADER]: good.headers[DEVICE_HEADER]! } }), [401, 'UNAUTHENTICATED']],
        ['an SE this FI never enrolled', () => signed(stranger.client, 'POST', url, payload), [401, 'UNAUTHENTICATED']],
        ['an enrolled SE\'s signature sent under an unknown device id', async () => ({ ...good, headers: { ...good.headers, [DEVICE_HEADER]: '00'.repeat(16) } }), [401, 'UNAUTHENTICATED']],
        ['body tampered after signing (10.00 for 1.00)', () => signed(alice.client, 'POST', url, { amountMinor: '100000', loadCounter: '0' }, 'k', { body: JSON.stringify(payload) }), [401, 'UNAUTHENTICATED']],
        ['path tampered (signed for bob\'s route)', () => signed(alice.client, 'POST', url, payload, 'k', { url: devicePath(bob, '/vouchers') }), [401, 'UNAUTHENTICATED']],
        ['path without the FI prefix', () => signed(alice.client, 'POST', url, payload, 'k', { url: url.replace('/fi/fi-a', '') }), [401, 'UNAUTHENTICATED']],
        ['method tampered (signed as a GET)', () => signed(alice.client, 'POST', url, payload, 'k', { method: 'GET' }), [401, 'UNAUTHENTICATED']],
        ['counter header raised by one', async () => ({ ...good, headers: { ...good.headers, [REQUEST_COUNTER_HEADER]: String(BigInt(good.headers[REQUEST_COUNTER_HEADER]!) + 1n) } }), [401, 'UNAUTHENTICATED']],
        ['counter header not a decimal', async () => ({ ...good, headers: { ...good.headers, [REQUEST_COUNTER_HEADER]: `0x${good.headers[REQUEST_COUNTER_HEADER]}` } }), [401, 'UNAUTHENTICATED']],
        ['one signature digit changed', async () => ({ ...good, headers: flipSig }), [401, 'UNAUTHENTICATED']],
        ['bob\'s SE signs correctly for alice\'s route', () => signed(bob.client, 'POST', url, payload), [403, 'FORBIDDEN'], bob.deviceId],
      ];
      const aliceBefore = await balance(alice);
      for (const [name, make, expected, signer] of rows) {
        const r = await make();
        const before = await stateOf(net.fiA.db, signer);
        assert.deepEqual(outcome(await send(app, r)), expected, name);
        assert.deepEqual(await stateOf(net.fiA.db, signer), before, `${name}: the FI's state changed`);
      }
      assert.equal(await balance(alice), aliceBefore);
      // The request signed first, sent last, is still good: no refusal above spent alice's counter.
      const ok = await send(app, good);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().loadCounter, '0');
      assert.equal(await balance(alice), aliceBefore - 1000n);
      await alice.client.applyLoadVoucher(Buffer.from(ok.json().voucher as string, 'hex'));
      // The same headers again: a replay, refused before any handler.
      const before = await stateOf(net.fiA.db);
      assert.deepEqual(outcome(await send(app, good)), [401, 'REQUEST_REPLAYED']);
      assert.deepEqual(await stateOf(net.fiA.db), before);
      const audit = await auditBook(net.fiA.db, net.clock.nowMs());
      assert.deepEqual(audit.violations, []);
    });

    test('reordered requests: one signed earlier and sent after a later one is refused; the host signs again', async () => {
      const first = await signed(alice.client, 'GET', devicePath(alice));
      const second = await signed(alice.client, 'GET', devicePath(alice));
      assert.deepEqual(outcome(await send(app, second)), [200, 'OK']);
      const before = await stateOf(net.fiA.db);
      assert.deepEqual(outcome(await send(app, first)), [401, 'REQUEST_REPLAYED']);
      assert.deepEqual(await stateOf(net.fiA.db), before);
      assert.deepEqual(outcome(await send(app, await signed(alice.client, 'GET', devicePath(alice)))), [200, 'OK']);
      // Two copies of one signed request at once: exactly one passes the conditional UPDATE.
      const twin = await signed(alice.client, 'GET', devicePath(alice));
      const both = (await Promise.all([send(app, twin), send(app, twin)])).map((r) => outcome(r)[1]).sort();
      assert.deepEqual(both, ['OK', 'REQUEST_REPLAYED']);
    });

    test('a refused voucher moves no money: frozen customer, over the holding limit, insufficient funds, wrong load counter', async () => {
      const url = devicePath(bob, '/vouchers');
      const next = (await bob.client.getInfo()).loadCounter;
      const voucher = (amountMinor: bigint, loadCounter: bigint, key: string) => signed(bob.client, 'POST', url, { amountMinor: amountMinor.toString(), loadCounter: loadCounter.toString() }, key);
      const start = await balance(bob);
      await net.fiA.ledger.setFrozen({ customerId: bob.customerId, frozen: true, reason: 'test', idempotencyKey: 'freeze-bob' });
      assert.deepEqual(outcome(await send(app, await voucher(1_000n, next, 'v-frozen'))), [403, 'FROZEN']);
      await net.fiA.ledger.setFrozen({ customerId: bob.customerId, frozen: false, reason: 'test', idempotencyKey: 'unfreeze-bob' });
      const rows: Array<[string, bigint, bigint, [number, string]]> = [
        ['over the holding limit', holding() + 1n, next, [400, 'AMOUNT_INVALID']],
        ['more than the account holds', start + 1n, next, [409, 'INSUFFICIENT_FUNDS']],
        ['a load counter ahead of the FI', 1_000n, next + 1n, [400, 'BAD_REQUEST']],
      ];
      for (const [name, amountMinor, counter, expected] of rows) {
        const res = await send(app, await voucher(amountMinor, counter, `v-${name.replace(/ /g, "-")}`));
        assert.deepEqual(outcome(res), expected, `${name}: ${res.body}`);
        assert.equal(await balance(bob), start, `${name}: the account moved`);
        assert.equal((await net.fiA.device(bob.deviceId)).vouchersIssued, next, `${name}: a voucher counter was spent`);
      }
      const ok = await send(app, await voucher(1_000n, next, 'v-ok'));
      assert.deepEqual(outcome(ok), [200, 'OK']);
      assert.equal(await balance(bob), start - 1_000n);
      await bob.client.applyLoadVoucher(Buffer.from(ok.json().voucher as string, 'hex'));
    });

    test('a lost voucher answer: the same amount gets the same voucher, another amount VOUCHER_OUTSTANDING until the SE applies it', async () => {
      const url = devicePath(alice, '/vouchers');
      const n = (await alice.client.getInfo()).loadCounter;
      const ask = async (amountMinor: bigint, key: string) => send(app, await signed(alice.client, 'POST', url, { amountMinor: amountMinor.toString(), loadCounter: n.toString() }, key));
      const start = await balance(alice);
      const lost = await ask(2_000n, 'lost-1');
      assert.equal(lost.statusCode, 200, lost.body);
      const again = await ask(2_000n, 'lost-2');
      assert.equal(again.json().voucher, lost.json().voucher, 'the same voucher, answered again');
      assert.equal(await balance(alice), start - 2_000n, 'debited once');
      const before = await stateOf(net.fiA.db);
      assert.deepEqual(outcome(await ask(3_000n, 'other-amount')), [409, 'VOUCHER_OUTSTANDING']);
      const after = await stateOf(net.fiA.db);
      assert.deepEqual(after.filter((r) => !r.startsWith('idempotency_keys') && !r.startsWith('devices')), before.filter((r) => !r.startsWith('idempotency_keys') && !r.startsWith('devices')));
      // The issued voucher, fetched by its own SE; another device and an unissued counter are refused.
      assert.deepEqual(outcome(await send(app, await signed(bob.client, 'GET', devicePath(alice, `/vouchers/${n}`)))), [403, 'FORBIDDEN']);
      assert.deepEqual(outcome(await send(app, await signed(alice.client, 'GET', devicePath(alice, `/vouchers/${n + 1n}`)))), [404, 'NOT_FOUND']);
      const fetched = await send(app, await signed(alice.client, 'GET', devicePath(alice, `/vouchers/${n}`)));
      assert.deepEqual([fetched.json().voucher, fetched.json().amountMinor], [lost.json().voucher, '2000']);
      const applied = await alice.client.applyLoadVoucher(Buffer.from(fetched.json().voucher as string, 'hex'));
      assert.equal(applied.loadCounter, n + 1n);
    });

    test('a device may not upload another device\'s balance report or unload record, however well it signs', async () => {
      const unload = await alice.client.makeUnloadRecord(100n);
      const batch = await alice.client.exportSyncBatch();
      const rows: Array<[string, string, unknown]> = [
        ['sync', '/fi/fi-a/sync', { report: bytesToHex(batch.report), payments: batch.payments.map(bytesToHex), unloadRecords: [] }],
        ['unload', '/fi/fi-a/unloads', { record: bytesToHex(unload.record) }],
      ];
      for (const [name, url, payload] of rows) {
        const before = await stateOf(net.fiA.db, bob.deviceId);
        assert.deepEqual(outcome(await send(app, await signed(bob.client, 'POST', url, payload, `other-${name}`))), [403, 'FORBIDDEN'], name);
        assert.deepEqual(await stateOf(net.fiA.db, bob.deviceId), before, `${name}: the FI's state changed`);
      }
      const own = await send(app, await signed(alice.client, 'POST', '/fi/fi-a/unloads', { record: bytesToHex(unload.record) }, 'own-unload'));
      assert.deepEqual(outcome(own), [200, 'OK'], own.body);
    });

    test('the host signs every call over a loopback server: fund recovers an outstanding voucher, sync goes through', async () => {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const fi = new FiHttpClient(`${base}/fi/fi-a`, fetch, alice.client);
      const info = await alice.client.getInfo();
      // A voucher issued and never applied (the host crashed before APPLY_LOAD_VOUCHER).
      await fi.createLoadVoucher({ deviceId: alice.deviceId, amountMinor: 700n, loadCounter: info.loadCounter, idempotencyKey: 'crashed' });
      const start = await balance(alice);
      const r = await fundSe(alice.client, fi, alice.deviceId, 1_500n);
      assert.equal(r.recoveredMinor, 700n);
      assert.equal(r.applied.balanceMinor, info.balanceMinor + 700n + 1_500n);
      assert.equal(await balance(alice), start - 1_500n);
      const synced = await syncDevice(alice.client, fi, { keyPrefix: 'alice-sync' });
      assert.equal(synced.rounds.at(-1)!.balanceMinor, r.applied.balanceMinor);
      // Without its SE the same client is refused on every device route.
      const unsigned = new FiHttpClient(`${base}/fi/fi-a`);
      await assert.rejects(unsigned.createLoadVoucher({ deviceId: alice.deviceId, amountMinor: 1n, loadCounter: 0n, idempotencyKey: 'x' }), (e: unknown) => (e as { code?: string }).code === 'UNAUTHENTICATED');
    });
  });
}
