// Freeze and unfreeze with their offline effect, on both engines with real SEs (docs/compliance.md,
// Freeze): a freeze is logged with its reason and operator, the FI refuses the customer's devices a
// credential, the CB lists their keys on the signed revocation list (and refuses them credentials
// itself), a synced SE then refuses to pay; unfreeze takes the keys off. Replays change nothing; a
// bad reason is refused with no state change anywhere.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { verifyRevocationList } from '../../policy/policy_codec.ts';
import { SeError } from '../../se/status.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { LedgerError } from '../errors.ts';

const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;
const hex = (b: Uint8Array): string => bytesToHex(b);

for (const engine of ENGINES) {
  describe(`freeze and unfreeze on ${engine}`, () => {
    let net: OfflineNet;
    let alice: TestDevice;
    let shop: TestDevice;
    let aliceKey: string;
    /** The device keys on the CB's current signed list, and its version. */
    const cbList = async () => {
      const d = await net.cb.distribution(alice.tier);
      const v = verifyRevocationList(d.signedRevocationList, net.cb.publicKey);
      assert.ok(v.ok, 'the CB signs its list');
      return { version: v.value.version, devices: v.value.devices!.map(hex) };
    };
    /** Everything a refused freeze must leave as it was. */
    const state = async () => ({
      frozen: (await net.fiA.ledger.customer(alice.customerId)).frozen,
      log: (await net.fiA.freezeLog()).length,
      list: await cbList(),
      cbLog: (await net.cb.db.query('SELECT id FROM cb_device_revocation_log')).length,
    });

    before(async () => {
      net = await openOfflineNet(engine, `freeze-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 20_000n });
      shop = await newDevice(net, net.fiA, 'shop', { depositMinor: 1_000n });
      await load(alice, 5_000n, 'load-alice');
      aliceKey = hex((await net.fiA.device(alice.deviceId)).publicKey);
    });
    after(async () => net.cleanup());

    test('bad reasons are refused before anything changes', async () => {
      const before = await state();
      for (const reason of ['', '   ', 'x'.repeat(501), 42 as unknown as string]) {
        await assert.rejects(net.fiA.setFrozen({ customerId: alice.customerId, frozen: true, reason, idempotencyKey: `bad-${String(reason).length}` }), code('BAD_REQUEST'));
      }
      assert.deepEqual(await state(), before);
      assert.equal(before.frozen, false);
    });

    test('freeze: logged with reason and operator, the FI refuses renewal, the CB lists the key and refuses credentials', async () => {
      const listBefore = await cbList();
      assert.ok(!listBefore.devices.includes(aliceKey));
      const r = await net.fiA.setFrozen({ customerId: alice.customerId, frozen: true, reason: 'sanctions list match', operatorId: 'op-kim', idempotencyKey: 'freeze-1' });
      assert.deepEqual([r.frozen, r.devices], [true, 1]);
      const list = await cbList();
      assert.ok(list.devices.includes(aliceKey), 'the signed list names the device key');
      assert.ok(list.version > listBefore.version && r.revocationVersion === list.version);
      const [entry] = await net.fiA.freezeLog(alice.customerId);
      assert.deepEqual({ ...entry, atMs: 0 }, { customerId: alice.customerId, frozen: true, reason: 'sanctions list match', operatorId: 'op-kim', atMs: 0 });
      // The FI refuses a new credential (typed FROZEN) ...
      await assert.rejects(net.fiA.startIssuance({ deviceId: alice.deviceId }), code('FROZEN'));
      const listed = await net.cb.deviceRevocations();
      assert.deepEqual(listed.map((x) => [hex(x.deviceId), x.fiId, x.customerId]), [[hex(alice.deviceId), 'fi-a', alice.customerId]]);
    });

    test('a replay under the same key changes nothing; a freeze of the frozen adds no key and keeps the version', async () => {
      const before = await state();
      const again = await net.fiA.setFrozen({ customerId: alice.customerId, frozen: true, reason: 'sanctions list match', operatorId: 'op-kim', idempotencyKey: 'freeze-1' });
      assert.equal(again.frozen, true);
      assert.deepEqual(await state(), before);
      await assert.rejects(net.fiA.setFrozen({ customerId: alice.customerId, frozen: true, reason: 'another reason', operatorId: 'op-kim', idempotencyKey: 'freeze-1' }), code('IDEMPOTENCY_MISMATCH'));
      const second = await net.fiA.setFrozen({ customerId: alice.customerId, frozen: true, reason: 'second look', operatorId: 'op-lee', idempotencyKey: 'freeze-2' });
      assert.equal(second.revocationVersion, before.list.version);
      assert.deepEqual((await state()).list, before.list);
      assert.equal((await state()).log, before.log + 1, 'the operator action is logged');
    });

    test('at its next sync the SE gets the list and refuses to pay, but still receives and defunds; renewal is not offered', async () => {
      const sync = await syncDevice(alice.client, net.fiA, { keyPrefix: 'alice-frozen' });
      const last = sync.rounds.at(-1)!;
      assert.deepEqual([last.renewal.offered, last.renewal.offered ? '' : last.renewal.code], [false, 'FROZEN']);
      assert.equal(sync.renewedEpoch, null);
      assert.equal((await alice.client.getInfo()).deviceRevoked, true);
      await assert.rejects(pay(alice, shop, 100n), (e: unknown) => e instanceof SeError && e.code === 'DEVICE_REVOKED');
      // Defunding still works: the value goes back to the (frozen) account, nothing is stranded.
      const before = await net.fiA.ledger.balance(alice.accountId);
      await syncDevice(alice.client, net.fiA, { defundAll: true, keyPrefix: 'alice-defund' });
      assert.equal((await alice.client.getInfo()).balanceMinor, 0n);
      assert.equal(await net.fiA.ledger.balance(alice.accountId), before + 5_000n);
    });

    test('the CB refuses a credential to a listed device even when the FI asks', async () => {
      // The book alone unfreezes (no report to the CB): the FI now starts an issuance, the CB must refuse it.
      await net.fiA.ledger.setFrozen({ customerId: alice.customerId, frozen: false, reason: 'book only', idempotencyKey: 'book-unfreeze' });
      const d = await net.cb.distribution(alice.tier);
      const start = await net.fiA.startIssuance({ deviceId: alice.deviceId, epoch: d.currentEpoch + 1n });
      const cert = d.issuerKeys.find((k) => k.epoch === start.epoch)!.cert;
      const request = await alice.client.beginIssuance({ issuerNonce: start.issuerNonce, epoch: start.epoch, tier: alice.tier, issuerKeyCert: cert });
      await assert.rejects(net.fiA.issueCredential({ deviceId: alice.deviceId, issuerNonce: start.issuerNonce, request, idempotencyKey: 'cb-refuses' }), code('FROZEN'));
      assert.equal((await net.cb.db.query('SELECT device_id FROM cb_issuances WHERE device_id = $1 AND epoch = $2', [alice.deviceId, start.epoch])).length, 0);
      await net.fiA.ledger.setFrozen({ customerId: alice.customerId, frozen: true, reason: 'book only, undone', idempotencyKey: 'book-refreeze' });
    });

    test('unfreeze takes the key off the next list; the SE pays again after that list', async () => {
      const before = await cbList();
      const r = await net.fiA.setFrozen({ customerId: alice.customerId, frozen: false, reason: 'false positive, cleared', operatorId: 'op-kim', idempotencyKey: 'unfreeze-1' });
      assert.equal(r.frozen, false);
      const list = await cbList();
      assert.ok(!list.devices.includes(aliceKey));
      assert.ok(list.version > before.version);
      const replay = await net.fiA.setFrozen({ customerId: alice.customerId, frozen: false, reason: 'false positive, cleared', operatorId: 'op-kim', idempotencyKey: 'unfreeze-1' });
      assert.equal(replay.revocationVersion, list.version);
      assert.deepEqual(await cbList(), list);
      await syncDevice(alice.client, net.fiA, { keyPrefix: 'alice-unfrozen' });
      assert.equal((await alice.client.getInfo()).deviceRevoked, false);
      await load(alice, 1_000n, 'load-alice-2');
      await pay(alice, shop, 100n);
      const log = await net.fiA.freezeLog(alice.customerId);
      assert.deepEqual(log.map((e) => [e.frozen, e.operatorId]).slice(-1), [[false, 'op-kim']]);
    });

    test('every freeze and unfreeze is an entry of the chained compliance log; tampering with a stored freeze breaks the chain check', async () => {
      const db = net.fiA.db;
      const entries = await db.query("SELECT seq, action, actor, alert_id FROM compliance_log WHERE action IN ('customer.freeze', 'customer.unfreeze') ORDER BY seq");
      const rows = await net.fiA.freezeLog();
      assert.equal(entries.length, rows.length, 'one chained entry per freeze log row (replays add neither)');
      assert.deepEqual(entries.map((e) => [e['action'], e['actor'], e['alert_id']]), rows.map((r) => [r.frozen ? 'customer.freeze' : 'customer.unfreeze', r.operatorId, r.customerId]));
      const intact = await net.fiA.verifyComplianceLog();
      assert.equal(intact.ok, true, JSON.stringify(intact.broken));
      const first = entries[0]!['seq'] as bigint;
      // The freeze log row's reason rewritten: the row no longer matches its chained entry.
      const [row] = await db.query('SELECT seq, reason FROM fi_freeze_log ORDER BY seq LIMIT 1');
      await db.run('UPDATE fi_freeze_log SET reason = $1 WHERE seq = $2', ['nothing to see', row!['seq'] as bigint]);
      const rewritten = await net.fiA.verifyComplianceLog();
      assert.equal(rewritten.ok, false);
      assert.deepEqual([rewritten.broken?.seq, rewritten.broken?.reason], [first, `freeze log row ${row!['seq']} does not match its chained entry`]);
      // Rewritten in both places: the chained entry's hash no longer holds.
      const detail = (await db.query('SELECT detail FROM compliance_log WHERE seq = $1', [first]))[0]!['detail'] as string;
      await db.run('UPDATE compliance_log SET detail = $1 WHERE seq = $2', [detail.replace(JSON.stringify(row!['reason']), JSON.stringify('nothing to see')), first]);
      const both = await net.fiA.verifyComplianceLog();
      assert.deepEqual([both.ok, both.broken?.seq, both.broken?.reason], [false, first, 'entry hash does not match its content']);
      await db.run('UPDATE compliance_log SET detail = $1 WHERE seq = $2', [detail, first]);
      await db.run('UPDATE fi_freeze_log SET reason = $1 WHERE seq = $2', [row!['reason'] as string, row!['seq'] as bigint]);
      assert.equal((await net.fiA.verifyComplianceLog()).ok, true, 'restored');
      // The newest freeze row removed: its chained entry has no row.
      const last = (await db.query('SELECT * FROM fi_freeze_log ORDER BY seq DESC LIMIT 1'))[0]!;
      await db.run('DELETE FROM fi_freeze_log WHERE seq = $1', [last['seq'] as bigint]);
      const removed = await net.fiA.verifyComplianceLog();
      assert.deepEqual([removed.ok, removed.broken?.reason], [false, 'a chained freeze entry has no freeze log row (row removed?)']);
    });
  });
}
