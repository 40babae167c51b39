// Behaviour of the SE applet through its APDU interface: life cycle and phase checks, the
// transport (extended length, chaining, 61xx), vouchers, unload records, issuance, policy and
// revocation installs, and sync — each refusal with its own status word.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { encodeCommand, encodeResponse, decodeResponse } from './apdu.ts';
import { SeClient, transmitTo } from './client.ts';
import { COMMANDS, Ins } from './commands.ts';
import { MemoryBackend } from './nvm.ts';
import { openAttestation, openAttestationCert, openUnloadRecord, openBalanceReport, signLoadVoucher, signSyncAck } from './messages.ts';
import { SW, SeError, type SwName } from './status.ts';
import {
  counterSetFor, epochNow, issueCredential, issuerKeyCert, issuerRespond, loadVoucher, makeWorld, provisionSe, signedPolicy, syncAck, type World,
} from '../../test/support/world.ts';
import { TEST_COMMANDS, TEST_RECEIVE_SPEC } from './test_commands.ts';
import { receiptLogDigest } from './handlers_sync.ts';

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code && e.sw === SW[code]);
};

function newSe(w: World, opts: { extendedLength?: boolean; backend?: MemoryBackend } = {}) {
  const backend = opts.backend ?? new MemoryBackend();
  const applet = Applet.open({ backend, rng: seededRng('se'), clock: w.clock, commands: TEST_COMMANDS });
  const client = new SeClient(transmitTo(applet), { extendedLength: opts.extendedLength ?? true });
  return { applet, client, backend };
}

async function fundedSe(w: World, tier: number = Tier.iot, amountMinor = 10_000n) {
  const se = newSe(w);
  const keys = await provisionSe(w, se.client, { deviceClass: DeviceClass.wearable, tier });
  await se.client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, amountMinor));
  return { ...se, keys };
}

test('a blank SE only answers GET_INFO and GENERATE_KEYS; phases are enforced', async () => {
  const w = makeWorld('phases');
  const { client } = newSe(w);
  assert.equal((await client.getInfo()).phase, 0);
  await rejects(client.beginIssuance({ issuerNonce: new Uint8Array(32), epoch: 1n, tier: Tier.iot, issuerKeyCert: issuerKeyCert(w, 1n) }), 'BAD_STATE');
  await rejects(client.makeUnloadRecord(1n), 'BAD_STATE');
  const keys = await provisionSe(w, client, { deviceClass: DeviceClass.wearable, tier: Tier.iot });
  const info = await client.getInfo();
  assert.equal(info.phase, 2);
  assert.deepEqual(info.attestationPublicKey, keys.attestationPublicKey);
  assert.equal(info.tier, Tier.iot);
  assert.equal(info.policyVersion, 1n);
  await rejects(client.generateKeys({ deviceClass: 1, manufacturerCaPublicKey: w.manufacturer.publicKey }), 'BAD_STATE');
});

test('ATTEST signs a fresh challenge under a key the manufacturer certified', async () => {
  const w = makeWorld('attest');
  const { client, keys } = await fundedSe(w, Tier.iot, 1_234n);
  const info = await client.getInfo();
  const cert = openAttestationCert(info.certificate!, w.manufacturer.publicKey);
  assert.ok(cert.ok && cert.value.deviceClass === DeviceClass.wearable);
  const challenge = w.rng(32);
  const signed = await client.attest(challenge);
  const opened = openAttestation(signed, cert.value.publicKey);
  assert.ok(opened.ok);
  assert.deepEqual([opened.value.challenge, opened.value.balanceMinor, opened.value.loadCounter], [challenge, 1_234n, 1n]);
  assert.deepEqual(opened.value.deviceId, keys.deviceId);
  assert.equal(openAttestation(signed, w.manufacturer.publicKey).ok, false);
  await rejects(client.attest(new Uint8Array(8)), 'WRONG_DATA');
});

test('PERSONALIZE refuses a certificate for another key and a policy signed by anyone but the CB', async () => {
  const w = makeWorld('personalize');
  const { client } = newSe(w);
  const keys = await client.generateKeys({ deviceClass: DeviceClass.vehicle, manufacturerCaPublicKey: w.manufacturer.publicKey });
  const other = newSe(w);
  await other.client.generateKeys({ deviceClass: DeviceClass.vehicle, manufacturerCaPublicKey: w.manufacturer.publicKey });
  const { signAttestationCert } = await import('./messages.ts');
  const cert = (pub: Uint8Array, deviceClass: number, ca = w.manufacturer.secretKey) =>
    signAttestationCert(ca, { deviceId: keys.deviceId, publicKey: pub, deviceClass, manufacturer: 'm', issuedAtMs: 0n });
  const base = {
    certificate: cert(keys.attestationPublicKey, DeviceClass.vehicle), cbPublicKey: w.cb.publicKey, fiId: w.fiId,
    fiPublicKey: w.fi.publicKey, regulatorKey: w.regulatorKey, tier: Tier.basic, signedPolicy: signedPolicy(w),
  };
  await rejects(client.personalize({ ...base, certificate: cert(keys.attestationPublicKey, DeviceClass.vehicle, w.cb.secretKey) }), 'BAD_CERTIFICATE');
  await rejects(client.personalize({ ...base, certificate: cert(keys.attestationPublicKey, DeviceClass.wallet) }), 'BAD_CERTIFICATE');
  await rejects(client.personalize({ ...base, cbPublicKey: w.fi.publicKey }), 'BAD_POLICY_SIGNATURE');
  await rejects(client.personalize({ ...base, tier: 9 }), 'WRONG_DATA');
  await rejects(client.personalize({ ...base, regulatorKey: new Uint8Array(48) }), 'WRONG_DATA');
  await client.personalize(base);
  assert.equal((await client.getInfo()).tier, Tier.basic);
});

test('the transport: unregistered INS, bad CLA, P1P2, lengths, chaining and response chaining', async () => {
  const w = makeWorld('transport');
  const { applet } = newSe(w);
  const send = (cla: number, ins: number, p1 = 0, data = new Uint8Array(0), ne = 256) =>
    decodeResponse(applet.transmit(encodeCommand({ cla, ins, p1, p2: 0, data, ne }))).sw;
  // The payment commands are registered (handlers_payment.ts) but refuse before personalization.
  for (const ins of [Ins.BUILD_PAYMENT_REQUEST, Ins.AUTHORIZE_PAYMENT, Ins.ACCEPT_PAYMENT]) assert.equal(send(0x80, ins), SW.BAD_STATE);
  assert.equal(send(0x80, 0x02), SW.INS_NOT_SUPPORTED);
  assert.equal(send(0x00, Ins.GET_INFO), SW.CLA_NOT_SUPPORTED);
  assert.equal(send(0x80, Ins.GET_INFO, 1), SW.WRONG_P1P2);
  assert.equal(send(0x80, Ins.GET_INFO, 0, Uint8Array.of(1)), SW.WRONG_LENGTH);
  assert.equal(send(0x80, Ins.GENERATE_KEYS, 0, Uint8Array.of(0xff)), SW.WRONG_DATA);
  assert.equal(send(0x80, 0xc0), SW.CONDITIONS_NOT_SATISFIED); // GET RESPONSE with nothing pending
  assert.deepEqual(decodeResponse(applet.transmit(Uint8Array.of(0x80, 0x10, 0, 0, 5, 1))).sw, SW.WRONG_LENGTH);
  assert.equal(decodeResponse(applet.transmit(Uint8Array.of(0x80, 0x60, 0, 0))).sw, SW.INS_NOT_SUPPORTED);
  // A chain that switches INS half way is refused and discarded.
  assert.equal(send(0x90, Ins.PERSONALIZE, 0, new Uint8Array(10)), SW.OK);
  assert.equal(send(0x80, Ins.APPLY_LOAD_VOUCHER, 0, new Uint8Array(10)), SW.CHAIN_ERROR);
  assert.equal(encodeResponse({ data: new Uint8Array(0), sw: SW.OK }).length, 2);
});

test('short-APDU clients chain commands and follow 61xx; results equal the extended-length client', async () => {
  const w = makeWorld('chaining');
  const backend = new MemoryBackend();
  const short = newSe(w, { extendedLength: false, backend });
  const keys = await provisionSe(w, short.client, { deviceClass: DeviceClass.wallet, tier: Tier.full });
  const infoShort = await short.client.getInfo();
  assert.ok(COMMANDS.getInfo.response.encode(infoShort).length > 256, 'GET_INFO needs response chaining in short mode');
  const ext = new SeClient(transmitTo(short.applet), { extendedLength: true });
  assert.deepEqual(await ext.getInfo(), infoShort);
  const small = new SeClient(transmitTo(short.applet), { extendedLength: false, chunkBytes: 7 });
  const r = await small.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, 500n));
  assert.equal(r.balanceMinor, 500n);
});

test('APPLY_LOAD_VOUCHER credits exactly once and refuses replay, gaps, other devices, bad signatures and the holding limit', async () => {
  const w = makeWorld('voucher');
  const { client, keys } = await fundedSe(w, Tier.iot, 10_000n);
  const pub = keys.attestationPublicKey;
  await rejects(client.applyLoadVoucher(loadVoucher(w, pub, 0n, 10_000n)), 'VOUCHER_REPLAY');
  await rejects(client.applyLoadVoucher(loadVoucher(w, pub, 2n, 100n)), 'VOUCHER_OUT_OF_ORDER');
  await rejects(client.applyLoadVoucher(loadVoucher(w, w.fi.publicKey, 1n, 100n)), 'VOUCHER_WRONG_DEVICE');
  await rejects(client.applyLoadVoucher(signLoadVoucher(w.fi.secretKey, { devicePublicKey: pub, loadCounter: 1n, amountMinor: 1n, fiId: 'other-fi' })), 'VOUCHER_WRONG_DEVICE');
  await rejects(client.applyLoadVoucher(signLoadVoucher(w.cb.secretKey, { devicePublicKey: pub, loadCounter: 1n, amountMinor: 1n, fiId: w.fiId })), 'BAD_VOUCHER_SIGNATURE');
  await rejects(client.applyLoadVoucher(syncAck(w, pub, 1n)), 'WRONG_DATA'); // FI-signed, but not a voucher
  await rejects(client.applyLoadVoucher(loadVoucher(w, pub, 1n, 0n)), 'WRONG_DATA');
  // Tier 0 holds at most 250 units = 25 000 minor; 10 000 are held.
  await rejects(client.applyLoadVoucher(loadVoucher(w, pub, 1n, 15_001n)), 'HOLDING_LIMIT');
  const ok = await client.applyLoadVoucher(loadVoucher(w, pub, 1n, 15_000n));
  assert.deepEqual(ok, { balanceMinor: 25_000n, loadCounter: 2n });
});

test('MAKE_UNLOAD_RECORD debits, signs a record with a rising counter, and can re-send it', async () => {
  const w = makeWorld('unload');
  const { client, keys } = await fundedSe(w, Tier.iot, 10_000n);
  await rejects(client.makeUnloadRecord(10_001n), 'INSUFFICIENT_BALANCE');
  await rejects(client.makeUnloadRecord(0n), 'WRONG_DATA');
  const first = await client.makeUnloadRecord(4_000n);
  const second = await client.makeUnloadRecord(1_000n);
  assert.equal(second.balanceMinor, 5_000n);
  const r1 = openUnloadRecord(first.record, keys.attestationPublicKey);
  const r2 = openUnloadRecord(second.record, keys.attestationPublicKey);
  assert.ok(r1.ok && r2.ok);
  assert.deepEqual([r1.value.unloadCounter, r1.value.amountMinor, r2.value.unloadCounter], [0n, 4_000n, 1n]);
  assert.equal(openUnloadRecord(first.record, w.fi.publicKey).ok, false);
  assert.deepEqual(await client.getLastUnloadRecord(), second.record);
});

test('blind issuance stores a credential and refuses bad certificates, expired epochs and forged responses', async () => {
  const w = makeWorld('issuance');
  const { client } = await fundedSe(w);
  const epoch = epochNow(w, Tier.iot);
  const counterSet = counterSetFor(w, Tier.iot);
  const a = { epoch, tier: Tier.iot, deviceClass: DeviceClass.wearable, counterSet };
  await rejects(client.finishIssuance({ epoch, tier: 0, issuerKeyCert: issuerKeyCert(w, epoch), response: new Uint8Array(112), counterSet }), 'BAD_STATE');
  const nonce = w.rng(32);
  const { signIssuerKeyCert, openIssuanceRequest } = await import('./messages.ts');
  const forgedCert = signIssuerKeyCert(w.fi.secretKey, { epoch, publicKey: w.issuerPublicKey.toBytes() });
  const begin = { issuerNonce: nonce, epoch, tier: Tier.iot, issuerKeyCert: issuerKeyCert(w, epoch) };
  await rejects(client.beginIssuance({ ...begin, issuerKeyCert: forgedCert }), 'BAD_CERTIFICATE');
  await rejects(client.beginIssuance({ ...begin, issuerKeyCert: issuerKeyCert(w, epoch + 1n) }), 'BAD_CERTIFICATE');
  await rejects(client.beginIssuance({ ...begin, tier: 9 }), 'WRONG_DATA');
  const request = await client.beginIssuance(begin);
  assert.deepEqual(await client.beginIssuance(begin), request, 'the same nonce re-sends the pending request');
  const info0 = await client.getInfo();
  assert.equal(info0.issuancePending, true);
  // The request is signed by the attestation key, for this device, nonce, epoch, tier and class.
  const opened = openIssuanceRequest(request, info0.attestationPublicKey!);
  assert.ok(opened.ok);
  assert.deepEqual({ ...opened.value, blindRequest: undefined }, { issuerNonce: nonce, deviceId: info0.deviceId!, epoch, tier: Tier.iot, deviceClass: DeviceClass.wearable, blindRequest: undefined });
  assert.equal(openIssuanceRequest(request, w.manufacturer.publicKey).ok, false);
  const response = issuerRespond(w, request, nonce, a, info0.attestationPublicKey!);
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: forgedCert, response }), 'BAD_CERTIFICATE');
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch + 1n), response }), 'BAD_CERTIFICATE');
  await rejects(client.finishIssuance({ ...a, epoch: epoch - 2n, issuerKeyCert: issuerKeyCert(w, epoch - 2n), response }), 'CREDENTIAL_EXPIRED');
  const forged = response.slice();
  forged[100]! ^= 1; // s'' changes: the unblinded signature no longer verifies
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch), response: forged }), 'BAD_ISSUANCE_RESPONSE');
  await rejects(client.finishIssuance({ ...a, tier: Tier.basic, issuerKeyCert: issuerKeyCert(w, epoch), response }), 'BAD_ISSUANCE_RESPONSE');
  await rejects(client.finishIssuance({ ...a, epoch: epoch + 1n, issuerKeyCert: issuerKeyCert(w, epoch + 1n), response }), 'BAD_ISSUANCE_RESPONSE');
  // The counter set must be the tier's L signatures under this epoch's issuer key, every one valid.
  const badSet = counterSet.slice();
  badSet[90]! ^= 1; // the scalar e of counter 1
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch), response, counterSet: badSet }), 'BAD_ISSUANCE_RESPONSE');
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch), response, counterSet: counterSet.subarray(80) }), 'BAD_ISSUANCE_RESPONSE');
  await rejects(client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch), response, counterSet: counterSetFor(w, Tier.basic) }), 'BAD_ISSUANCE_RESPONSE');
  const done = await client.finishIssuance({ ...a, issuerKeyCert: issuerKeyCert(w, epoch), response });
  assert.deepEqual(done, { epoch, tier: a.tier, deviceClass: a.deviceClass });
  const info = await client.getInfo();
  assert.deepEqual(info.credentialEpochs, [epoch]);
  assert.equal(info.issuancePending, false);
});

test('spend rules refuse with their own words: cap, offline spend, balance, expiry, receive-only', async () => {
  const w = makeWorld('spend');
  const { client, keys } = await fundedSe(w, Tier.iot, 25_000n);
  const spend = (amountMinor: bigint) => client.call(TEST_COMMANDS[0].spec, { amountMinor });
  await rejects(spend(100n), 'NO_CREDENTIAL');
  const epoch = epochNow(w, Tier.iot);
  await issueCredential(w, client, { epoch, tier: Tier.iot, deviceClass: DeviceClass.wearable });
  await rejects(spend(5_001n), 'CAP_EXCEEDED'); // tier 0 cap: 50 units
  for (let i = 0; i < 4; i++) await spend(5_000n);
  await client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 1n, 20_000n));
  await spend(5_000n); // 250 units spent: the offline limit before a sync
  await rejects(spend(1n), 'OFFLINE_SPEND_SYNC_REQUIRED');
  assert.equal((await client.getInfo()).paymentCounter, 5n);
  const batch = await client.exportSyncBatch();
  await client.applySyncAck(syncAck(w, keys.attestationPublicKey, batch.batchId));
  assert.equal((await client.getInfo()).spentSinceSyncMinor, 0n);
  const after = await spend(1n);
  assert.deepEqual(after, { epoch, counter: 5n, balanceMinor: 19_999n });
  await client.makeUnloadRecord(19_900n);
  await rejects(spend(100n), 'INSUFFICIENT_BALANCE');
  w.nowMs = (epoch + 1n) * 7n * 86_400_000n + 2n * 86_400_000n - 1n; // last millisecond of the grace period
  await spend(1n);
  w.nowMs += 1n; // the epoch and its two-day grace are over
  await rejects(spend(1n), 'CREDENTIAL_EXPIRED');
  const merchant = await fundedSe(w, Tier.merchant, 1_000n);
  await issueCredential(w, merchant.client, { epoch: epochNow(w, Tier.merchant), tier: Tier.merchant, deviceClass: DeviceClass.wearable });
  await rejects(merchant.client.call(TEST_COMMANDS[0].spec, { amountMinor: 1n }), 'RECEIVE_ONLY');
});

test('payments per epoch L: counter L refuses with 63C0', async () => {
  const w = makeWorld('L');
  w.policy = { ...w.policy, tiers: { ...w.policy.tiers, [Tier.iot]: { ...w.policy.tiers[Tier.iot], paymentsPerEpoch: 3 } } };
  const { client } = await fundedSe(w, Tier.iot, 1_000n);
  await issueCredential(w, client, { epoch: epochNow(w, Tier.iot), tier: Tier.iot, deviceClass: DeviceClass.wearable });
  for (let i = 0; i < 3; i++) await client.call(TEST_COMMANDS[0].spec, { amountMinor: 1n });
  await rejects(client.call(TEST_COMMANDS[0].spec, { amountMinor: 1n }), 'EPOCH_PAYMENTS_EXHAUSTED');
});

test('receive rules: holding limit, seen nullifier, revoked nullifier, log full; sync frees the log', async () => {
  const w = makeWorld('receive');
  const { client, keys } = await fundedSe(w, Tier.merchant, 1n);
  const { G1Point } = await import('../crypto/group.ts');
  const n = (i: number) => G1Point.BASE.mul(BigInt(i + 10)).toBytes();
  const receive = (i: number, amountMinor = 1n) =>
    client.call(TEST_RECEIVE_SPEC, { amountMinor, nullifier: n(i), epoch: 1n, payment: Uint8Array.of(i & 0xff, i >> 8, 7), blinding: new Uint8Array(32).fill(1) });
  await rejects(receive(0, 1_000_000n), 'HOLDING_LIMIT'); // merchant: 10 000 units
  await receive(0);
  await rejects(receive(0), 'NULLIFIER_SEEN');
  const { signedRevocationList } = await import('../../test/support/world.ts');
  await client.installRevocationList(signedRevocationList(w, { version: 1n, epoch: 1n, nullifiers: [n(1)] }));
  await rejects(receive(1), 'NULLIFIER_REVOKED');
  for (let i = 2; i < 257; i++) await receive(i);
  assert.equal((await client.getInfo()).receiptCount, 256);
  await rejects(receive(300), 'LOG_FULL');
  const batch = await client.exportSyncBatch();
  assert.equal(batch.entryCount, 256);
  assert.equal(batch.payments.length, 256);
  const report = openBalanceReport(batch.report, keys.attestationPublicKey);
  assert.ok(report.ok);
  assert.equal(report.value.receivedMinor, 256n);
  assert.deepEqual(report.value.logDigest, receiptLogDigest(batch.payments));
  assert.equal(report.value.balanceMinor, 257n);
  assert.deepEqual(await client.exportSyncBatch(), batch, 'a repeated export is identical');
  await rejects(client.applySyncAck(syncAck(w, keys.attestationPublicKey, batch.batchId + 1n)), 'UNKNOWN_BATCH');
  await rejects(client.applySyncAck(signSyncAck(w.cb.secretKey, { devicePublicKey: keys.attestationPublicKey, batchId: batch.batchId })), 'BAD_ACK_SIGNATURE');
  assert.deepEqual(await client.applySyncAck(syncAck(w, keys.attestationPublicKey, batch.batchId)), { freed: 256, receiptCount: 0 });
  assert.deepEqual(await client.applySyncAck(syncAck(w, keys.attestationPublicKey, batch.batchId)), { freed: 0, receiptCount: 0 });
  await receive(300);
  assert.equal((await client.getInfo()).receiptCount, 1);
});

test('INSTALL_POLICY and INSTALL_REVOCATION_LIST need the CB signature and a strictly newer version', async () => {
  const w = makeWorld('install');
  const { client } = await fundedSe(w);
  const { signPolicy } = await import('../policy/policy_codec.ts');
  const v2 = { ...w.policy, version: 2n };
  await rejects(client.installPolicy(signPolicy(v2, w.fi.secretKey)), 'BAD_POLICY_SIGNATURE');
  await rejects(client.installPolicy(signedPolicy(w)), 'STALE_POLICY');
  assert.equal(await client.installPolicy(signedPolicy(w, v2)), 2n);
  await rejects(client.installPolicy(signedPolicy(w, v2)), 'STALE_POLICY');
  await rejects(client.installPolicy(new Uint8Array(10)), 'WRONG_DATA');
  const { signRevocationList } = await import('../policy/policy_codec.ts');
  const { signedRevocationList } = await import('../../test/support/world.ts');
  const list = { version: 5n, epoch: 1n, nullifiers: [] };
  await rejects(client.installRevocationList(signRevocationList(list, w.fi.secretKey)), 'BAD_REVOCATION_SIGNATURE');
  assert.equal(await client.installRevocationList(signedRevocationList(w, list)), 5n);
  await rejects(client.installRevocationList(signedRevocationList(w, { ...list, version: 5n })), 'STALE_REVOCATION_LIST');
  assert.equal((await client.getInfo()).revocationVersion, 5n);
});

test('hostile APDUs never crash the applet, never answer 6F00 and never change the balance', async () => {
  const w = makeWorld('fuzz');
  const { applet, client, keys } = await fundedSe(w, Tier.basic, 5_000n);
  const fc = (await import('fast-check')).default;
  const before = await client.getInfo();
  const valid = [
    encodeCommand({ cla: 0x80, ins: Ins.APPLY_LOAD_VOUCHER, p1: 0, p2: 0, data: COMMANDS.applyLoadVoucher.request.encode({ voucher: loadVoucher(w, keys.attestationPublicKey, 0n, 5n) }), ne: 256 }),
    encodeCommand({ cla: 0x80, ins: Ins.INSTALL_POLICY, p1: 0, p2: 0, data: COMMANDS.installPolicy.request.encode({ signedPolicy: signedPolicy(w) }), ne: 256 }),
    encodeCommand({ cla: 0x80, ins: Ins.GET_INFO, p1: 0, p2: 0, data: new Uint8Array(0), ne: 0 }),
  ];
  const mutated = fc
    .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
    .map(([bytes, flips]) => {
      const out = bytes.slice();
      for (const [at, v] of flips) out[at % out.length] = v;
      return out;
    });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated), (bytes) => {
      const res = decodeResponse(applet.transmit(bytes));
      assert.notEqual(res.sw, SW.INTERNAL_ERROR, String(applet.lastInternalError));
    }),
    { numRuns: 600 },
  );
  const after = await client.getInfo();
  assert.equal(after.balanceMinor, before.balanceMinor);
  assert.equal(after.loadCounter, before.loadCounter);
});

test('a maximum-size revocation list installs over chained short APDUs and over one extended APDU', async () => {
  const w = makeWorld('big-list');
  const { G1Point } = await import('../crypto/group.ts');
  const { REVOCATION_NULLIFIERS_MAX } = await import('../policy/policy_codec.ts');
  const { signedRevocationList } = await import('../../test/support/world.ts');
  const nullifiers: Uint8Array[] = [];
  for (let P = G1Point.BASE, i = 0; i < REVOCATION_NULLIFIERS_MAX; i++, P = P.add(G1Point.BASE)) nullifiers.push(P.toBytes());
  const list = (version: bigint) => signedRevocationList(w, { version, epoch: (1n << 64n) - 1n, nullifiers });
  const short = newSe(w, { extendedLength: false });
  await provisionSe(w, short.client, { deviceClass: DeviceClass.pos, tier: Tier.merchant });
  assert.equal(await short.client.installRevocationList(list(1n)), 1n);
  const ext = new SeClient(transmitTo(short.applet), { extendedLength: true });
  assert.equal(await ext.installRevocationList(list((1n << 64n) - 1n)), (1n << 64n) - 1n);
  await rejects(ext.installRevocationList(list(5n)), 'STALE_REVOCATION_LIST');
});
