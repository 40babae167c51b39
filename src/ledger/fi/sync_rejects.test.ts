// What the FI refuses or absorbs at sync, on both engines, with real SEs and payments. A broken SE
// is simulated by reading its attestation key out of its NVM and signing whatever report the
// attacker likes. The check order is walked as a table: start from a batch that is wrong in every
// way and fix one thing per row; the refusal moves down the order, and no refusal changes a
// balance, a device's counters or the CB registry. Also: replays, concurrent syncs of one device,
// vouchers and unload records applied twice, and enrolment with a bad attestation chain.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { seededRng } from '../../crypto/rng.ts';
import { receiptLogDigest } from '../../se/handlers_sync.ts';
import { balanceReportBody, decodeBalanceReport, signAttestationCert, unloadRecordBody, type BalanceReport } from '../../se/messages.ts';
import { SECTIONS } from '../../se/state.ts';
import { SeError } from '../../se/status.ts';
import { p256KeyPair, peekEnvelopeBody, signEnvelope } from '../../se/signed.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { MANUFACTURER, fundFi, load, newCustomer, newDevice, openOfflineNet, openSe, pay, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { LedgerError } from '../errors.ts';
import { auditNetwork, formatNetworkAudit } from '../network_audit.ts';
import { provisionSe } from '../../../test/support/world.ts';

const hex = (b: Uint8Array): string => bytesToHex(b);
const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;

function seKey(d: TestDevice): Uint8Array {
  return SECTIONS.identity.decode(d.backend.read('identity')!).attestationSecretKey;
}

/** What a broken SE could upload: any payments, a report signed with the extracted key. */
function forge(d: TestDevice, report: Uint8Array, payments: Uint8Array[], change: Partial<BalanceReport> = {}): Uint8Array {
  const body = decodeBalanceReport(peekEnvelopeBody(report, 4096, 'report'));
  return signEnvelope(seKey(d), balanceReportBody({ ...body, receiptCount: payments.length, logDigest: receiptLogDigest(payments), ...change }));
}

for (const engine of ENGINES) {
  describe(`sync refusals on ${engine}`, () => {
    let net: OfflineNet;
    let payer: TestDevice;
    let payee: TestDevice;
    let outsider: TestDevice;
    const state = async () => ({
      device: await net.fiA.device(payee.deviceId),
      nullifiers: (await net.cb.db.query('SELECT nullifier FROM nullifiers')).length,
      accounts: await net.fiA.ledger.balance(payee.accountId),
      circulation: (await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] })).totals.circulationMinor,
    });
    before(async () => {
      net = await openOfflineNet(engine, `rej-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
      payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 30_000n });
      payee = await newDevice(net, net.fiA, 'payee', { depositMinor: 5_000n });
      outsider = await newDevice(net, net.fiB, 'outsider');
      await load(payer, 10_000n, 'load-payer');
      await pay(payer, payee, 1_200n);
      await pay(payer, payee, 800n);
    });
    after(async () => net.cleanup());

    test('the check order: each fix moves the refusal down; no refusal changes anything', async () => {
      const before0 = await state();
      const batch = await payee.client.exportSyncBatch();
      const good = batch.payments;
      const tampered = good.map((p, i) => (i === 1 ? Uint8Array.from(p, (b, j) => (j === p.length - 40 ? b ^ 1 : b)) : p));
      const outsiderBatch = await outsider.client.exportSyncBatch();
      const rows: Array<[string, () => Promise<unknown>, string]> = [
        ['a device this FI never enrolled', () => net.fiA.sync({ report: outsiderBatch.report, payments: good }), 'UNKNOWN_DEVICE'],
        ['a report signed by another key', () => net.fiA.sync({ report: forge(outsider, batch.report, good), payments: good }), 'SIGNATURE_INVALID'],
        ['a payment dropped from the batch', () => net.fiA.sync({ report: batch.report, payments: good.slice(1) }), 'REPORT_INVALID'],
        ['a forged proof (report re-signed to match)', () => net.fiA.sync({ report: forge(payee, batch.report, tampered), payments: tampered }), 'PROOF_INVALID'],
        ['a wrong aggregate opening', () => net.fiA.sync({ report: forge(payee, batch.report, good, { receivedMinor: 2_001n }), payments: good }), 'OPENING_INVALID'],
        ['a balance above the holding limit', () => net.fiA.sync({ report: forge(payee, batch.report, good, { balanceMinor: 10n ** 9n }), payments: good }), 'REPORT_INVALID'],
      ];
      for (const [what, run, expected] of rows) {
        await assert.rejects(run(), code(expected), what);
        assert.deepEqual(await state(), before0, `${what}: nothing changed`);
      }
      const ok = await net.fiA.sync({ report: batch.report, payments: good });
      assert.deepEqual(ok.outcomes, ['inserted', 'inserted']);
      assert.equal(ok.balanceMinor, 2_000n);
      // Replayed: same ack, nothing counted twice; a different report under the same batch id conflicts.
      const replay = await net.fiA.sync({ report: batch.report, payments: good });
      assert.equal(replay.replayed, true);
      assert.equal(hex(replay.ack), hex(ok.ack));
      await assert.rejects(net.fiA.sync({ report: forge(payee, batch.report, good, { timeMs: 1n }), payments: good }), code('REPLAY_CONFLICT'));
      assert.equal((await state()).nullifiers, before0.nullifiers + 2);
      await payee.client.applySyncAck(ok.ack);
    });

    test('concurrent syncs of one device settle the batch once and all get the same ack', async () => {
      await pay(payer, payee, 500n);
      const batch = await payee.client.exportSyncBatch();
      const results = await Promise.all([0, 1, 2].map(() => net.fiA.sync({ report: batch.report, payments: batch.payments })));
      assert.equal(new Set(results.map((r) => hex(r.ack))).size, 1);
      assert.equal(results.filter((r) => !r.replayed).length >= 1, true);
      const rows = await net.fiA.db.query('SELECT batch_id FROM sync_batches WHERE device_id = $1 AND batch_id = $2', [payee.deviceId, batch.batchId]);
      assert.equal(rows.length, 1);
      assert.equal((await net.fiA.device(payee.deviceId)).reportedBalanceMinor, 2_500n);
      await payee.client.applySyncAck(results[0]!.ack);
    });

    test('a voucher applies once on the SE and debits once at the FI; an unload record credits once', async () => {
      const v = await load(payee, 1_000n, 'payee-load');
      await assert.rejects(payee.client.applyLoadVoucher(v.voucher), (e: unknown) => e instanceof SeError && e.code === 'VOUCHER_REPLAY');
      const again = await net.fiA.createLoadVoucher({ deviceId: payee.deviceId, amountMinor: 1_000n, idempotencyKey: 'payee-load' });
      assert.equal(hex(again.voucher), hex(v.voucher));
      const account = await net.fiA.ledger.balance(payee.accountId);
      const forged = signEnvelope(seKey(outsider), unloadRecordBody({ deviceId: payee.deviceId, unloadCounter: 0n, amountMinor: 900n, fiId: 'fi-a', timeMs: 0n }));
      await assert.rejects(net.fiA.applyUnloadRecord(forged), code('SIGNATURE_INVALID'));
      const unload = await payee.client.makeUnloadRecord(900n);
      const [a, b] = await Promise.all([net.fiA.applyUnloadRecord(unload.record), net.fiA.applyUnloadRecord(unload.record)]);
      assert.equal(a.accountBalanceMinor, account + 900n);
      assert.equal(b.accountBalanceMinor, account + 900n);
      assert.equal(await net.fiA.ledger.balance(payee.accountId), account + 900n);
      for (const d of [payer, payee]) {
        const batch = await d.client.exportSyncBatch();
        await d.client.applySyncAck((await d.fi.sync({ report: batch.report, payments: batch.payments })).ack);
      }
      const outsiderBatch = await outsider.client.exportSyncBatch();
      await outsider.client.applySyncAck((await net.fiB.sync({ report: outsiderBatch.report, payments: outsiderBatch.payments })).ack);
      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.equal(audit.clean, true, formatNetworkAudit(audit));
    });

    test('enrolment refuses an unknown CA, a bad chain and a stale challenge; a frozen customer gets no credential', async () => {
      const customer = await newCustomer(net.fiA, 'mallory', 1);
      const enrol = async (certificate: Uint8Array, challengeFor: Uint8Array, se: TestDevice['client']) => {
        const challenge = net.fiA.enrolmentChallenge({ ...customer, certificate: challengeFor });
        return net.fiA.enrolDevice({ ...customer, certificate, attestation: await se.attest(challenge), idempotencyKey: `enrol-${hex(certificate).slice(0, 16)}` });
      };
      const rogueCa = p256KeyPair(seededRng('rogue-ca'));
      const se = openSe(net, 'mallory-se');
      await provisionSe({ ...net.worlds.get('fi-a')!, manufacturer: rogueCa }, se.client, { deviceClass: 0, tier: 1 });
      const info = await se.client.getInfo();
      const body = decodeAttestationCertOf(info.certificate!);
      const unknownCa = signAttestationCert(rogueCa.secretKey, { ...body, manufacturer: 'rogue-fab' });
      const badChain = signAttestationCert(rogueCa.secretKey, { ...body, manufacturer: MANUFACTURER });
      await assert.rejects(enrol(unknownCa, unknownCa, se.client), code('ATTESTATION_INVALID'));
      await assert.rejects(enrol(badChain, badChain, se.client), code('ATTESTATION_INVALID'));
      const genuine = await newDevice(net, net.fiA, 'mallory-2', { customer });
      const cert = (await genuine.client.getInfo()).certificate!;
      await assert.rejects(enrol(cert, badChain, genuine.client), code('ATTESTATION_INVALID'));
      await net.fiA.ledger.setFrozen({ customerId: customer.customerId, frozen: true, reason: 'test', idempotencyKey: 'freeze-mallory' });
      await assert.rejects(net.fiA.startIssuance({ deviceId: genuine.deviceId }), code('FROZEN'));
      await assert.rejects(net.fiA.createLoadVoucher({ deviceId: genuine.deviceId, amountMinor: 1n, idempotencyKey: 'frozen-load' }), code('FROZEN'));
    });

    test('the network audit names hand edits with the rows involved', async () => {
      assert.equal((await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] })).clean, true);
      const [victim] = await net.cb.db.query('SELECT epoch, nullifier FROM nullifiers ORDER BY nullifier LIMIT 1');
      await net.cb.db.run('DELETE FROM nullifiers WHERE epoch = $1 AND nullifier = $2', [victim!['epoch'] as bigint, victim!['nullifier'] as Uint8Array]);
      await net.fiA.db.run('UPDATE load_vouchers SET cb_done = 0 WHERE load_counter = 0');
      await net.fiB.db.run("UPDATE accounts SET balance_minor = balance_minor + 1 WHERE id = 'fi:treasury'");
      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
      const byCode = new Map(audit.violations.map((v) => [v.code, v]));
      assert.deepEqual([...byCode.keys()].sort(), ['BOOK_VIOLATION', 'LEG_PENDING', 'RECEIPT_UNREGISTERED', 'TOTALS_MISMATCH'].sort());
      assert.equal(byCode.get('RECEIPT_UNREGISTERED')!.rows.length, 1);
      assert.equal(byCode.get('RECEIPT_UNREGISTERED')!.rows[0]!['nullifier'], hex(victim!['nullifier'] as Uint8Array));
      assert.ok(byCode.get('LEG_PENDING')!.rows.length >= 1);
      assert.match(formatNetworkAudit(audit), /RECEIPT_UNREGISTERED/);
    });
  });
}

function decodeAttestationCertOf(cert: Uint8Array) {
  return decodeAttestationCertBody(peekEnvelopeBody(cert, 4096, 'cert'));
}
import { decodeAttestationCert as decodeAttestationCertBody } from '../../se/messages.ts';
