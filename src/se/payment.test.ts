// The payment commands through the SEs' APDU interfaces: value moves once, the receipt and the
// logged record verify, re-sends are idempotent on both sides, the precomputation stays in RAM,
// and every limit refuses with its own status word on the real payment path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, G2Point, scalarFromBytes } from '../crypto/group.ts';
import { commit } from '../crypto/pedersen.ts';
import { verifyPayment } from '../crypto/payment.ts';
import { decodePaymentProof } from '../crypto/payment_codec.ts';
import { randomScalar, seededRng } from '../crypto/rng.ts';
import { DEFAULT_POLICY, DeviceClass, Tier, limitsFor, type PolicyTable } from '../policy/limits.ts';
import { checkReceipt } from '../protocol/exchange.ts';
import { decodePayment, decodePaymentRequest, encodePaymentRequest } from '../protocol/messages.ts';
import { decodePaymentRecord, decodePaymentRecordFull } from '../protocol/payment_record.ts';
import { parsePaymentContext, payeeIdentityOf } from '../protocol/session.ts';
import { SeError, SW, type SwName } from './status.ts';
import { TEST_RECEIVE_SPEC } from './test_commands.ts';
import { paymentSe, payDirect, type TestSe } from '../../test/support/payments.ts';
import { epochNow, issueCredential, issuerKeyCert, loadVoucher, makeWorld, signedPolicy, signedRevocationList, type World } from '../../test/support/world.ts';
import { signIssuerKeyCert } from './messages.ts';
import { MemoryBackend } from './nvm.ts';
import { Applet } from './applet.ts';
import { SeClient, transmitTo } from './client.ts';
import { authorizeAsHost } from './payer_host.ts';
import type { AuthorizePaymentRequest } from './payment_commands.ts';
import { SPEND_TOKENS_MAX } from './payment_limits.ts';

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code && e.sw === SW[code], `expected ${code}`);
};
const balance = async (se: TestSe) => (await se.client.getInfo()).balanceMinor;
const nvmImage = (se: TestSe) => new Map([...(se.backend as MemoryBackend).cells].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));

test('a payment moves value once between two SEs; receipt and logged record verify', async () => {
  const w = makeWorld('pay-once');
  const payer = await paymentSe(w, { tier: Tier.basic, fundMinor: 10_000n });
  const payee = await paymentSe(w, { tier: Tier.merchant, deviceClass: DeviceClass.pos });
  const r = await payDirect(payer, payee, 1_250n);
  assert.deepEqual([r.authorized.balanceMinor, r.authorized.resent, r.accepted.balanceMinor, r.accepted.resent], [8_750n, false, 1_250n, false]);
  const receipt = checkReceipt(r.receipt, r.payment);
  assert.deepEqual(receipt.payeeAttestationKey, payee.attestationPublicKey);
  const payerInfo = await payer.client.getInfo();
  assert.deepEqual([payerInfo.paymentCounter, payerInfo.spentSinceSyncMinor], [1n, 1_250n]);
  // The payee's sync batch carries a record the ledger re-verifies under the payer's tier limits.
  const batch = await payee.client.exportSyncBatch();
  assert.equal(batch.payments.length, 1);
  const { statement, proof } = decodePaymentRecordFull(batch.payments[0]!);
  const limits = limitsFor(DEFAULT_POLICY, Tier.basic);
  const params = { issuerKey: w.issuerPublicKey, regulatorKey: G1Point.fromBytes(w.regulatorKey), capMinor: limits.capMinor, paymentsPerEpoch: limits.paymentsPerEpoch };
  assert.deepEqual(verifyPayment(params, statement, proof, seededRng('v')), { ok: true });
  assert.deepEqual(verifyPayment({ ...params, capMinor: limits.capMinor + 1n }, statement, proof, seededRng('v')), { ok: false, reason: 'EQUATIONS_FAILED' });
});

test('re-sends are idempotent: AUTHORIZE of a paid request and ACCEPT of an accepted payment change nothing', async () => {
  const w = makeWorld('idempotent');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const request = await payee.client.buildPaymentRequest(700n);
  const first = await payer.client.authorizePayment(request, 700n);
  const again = await payer.client.authorizePayment(request, 700n);
  assert.deepEqual([again.payment, again.resent, again.balanceMinor], [first.payment, true, 4_300n]);
  assert.deepEqual((await payer.client.getLastPayment()).payment, first.payment);
  const accepted = await payee.client.acceptPayment(first.payment);
  const before = nvmImage(payee);
  const resent = await payee.client.acceptPayment(first.payment);
  assert.deepEqual([resent.receipt, resent.resent, resent.balanceMinor, resent.amountMinor], [accepted.receipt, true, 700n, 700n]);
  assert.deepEqual(nvmImage(payee), before, 'an idempotent re-send writes nothing');
  // The same request id with other fields (here another amount) is not a re-send.
  // The host refuses it first (the payee's proof no longer binds it); the SE refuses it on its own.
  const altered = encodePaymentRequest({ ...decodePaymentRequest(request), amountMinor: 701n });
  await rejects(payer.client.authorizePayment(altered, 701n), 'BAD_PAYEE_CREDENTIAL');
  await rejects(authorizeAsHost(payer.client, altered, 701n, w.rng, { checkPayee: false }), 'REQUEST_ALREADY_PAID');
  await rejects(payer.client.authorizePayment(request, 699n), 'CONDITIONS_NOT_SATISFIED');
  // Once its receipt reached the SE the first payment is no longer held whole, but it is never paid twice.
  assert.deepEqual(await payer.client.confirmPayment(accepted.receipt), { dropped: true, unconfirmedCount: 0 });
  await payDirect(payer, payee, 50n);
  await rejects(authorizeAsHost(payer.client, request, 700n, w.rng, { checkPayee: false }), 'REQUEST_ALREADY_PAID');
  assert.equal(await balance(payer), 4_250n);
});

test('PRECOMPUTE_PAYMENT keeps spend tokens in NVM: payments use them in counter order, a power cycle keeps them', async () => {
  const w = makeWorld('precompute');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const first = await payer.client.precomputePayment();
  assert.equal(first.ready, SPEND_TOKENS_MAX);
  assert.ok(first.nextBlinding !== null);
  const image = nvmImage(payer);
  assert.deepEqual((await payer.client.precomputePayment()).nextBlinding, first.nextBlinding, 'a full pool is left as it is');
  assert.deepEqual(nvmImage(payer), image, 'and nothing is written');
  // The first payment uses the token whose r_a the host was told: C_a = a·G + r_a·H.
  const paid = await payDirect(payer, payee, 100n);
  const C_a = decodePaymentProof(decodePayment(paid.payment).proof, new Uint8Array(0)).statement.C_a;
  assert.ok(C_a.equals(commit(100n, scalarFromBytes(first.nextBlinding!))));
  const after = await payer.client.precomputePayment();
  assert.equal(after.ready, SPEND_TOKENS_MAX, 'the pool is refilled for the next counters');
  assert.notDeepEqual(after.nextBlinding, first.nextBlinding, 'a used token is gone');
  // A reopened applet (a power cycle) over the same NVM has the same tokens.
  const reopened = Applet.open({ backend: payer.backend, rng: seededRng('reopened'), clock: w.clock });
  const again = { ...payer, applet: reopened, client: new SeClient(transmitTo(reopened), { rng: w.rng }) };
  assert.deepEqual((await again.client.precomputePayment()).nextBlinding, after.nextBlinding);
  await payDirect(again, payee, 300n);
  assert.equal(await balance(payee), 400n);
});

test('AUTHORIZE_PAYMENT needs a ready token and the C_a of its blinding; a refusal consumes nothing', async () => {
  const w = makeWorld('token-needed');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const request = await payee.client.buildPaymentRequest(400n);
  let part: AuthorizePaymentRequest | undefined;
  await authorizeAsHost({ precomputePayment: () => payer.client.precomputePayment(), authorizePaymentCommand: async (r) => ((part = r), { payment: new Uint8Array(0), balanceMinor: 0n, resent: false }) }, request, 400n, w.rng);
  const before = nvmImage(payer);
  // Another amount under the same commitment, and a commitment to the amount under another blinding.
  await rejects(payer.client.authorizePaymentCommand({ ...part!, amountMinor: 399n }), 'CONDITIONS_NOT_SATISFIED');
  await rejects(payer.client.authorizePaymentCommand({ ...part!, amountCommitment: commit(400n, 5n).toBytes() }), 'WRONG_DATA');
  await rejects(payer.client.authorizePaymentCommand({ ...part!, amountRange: part!.amountRange.subarray(1) }), 'WRONG_DATA');
  await rejects(payer.client.authorizePaymentCommand({ ...part!, payerSessionKey: new Uint8Array(32).fill(0xff) }), 'WRONG_DATA');
  assert.deepEqual(nvmImage(payer), before, 'refusals consume no token and debit nothing');
  const paid = await payer.client.authorizePaymentCommand(part!);
  assert.equal((await payee.client.acceptPayment(paid.payment)).amountMinor, 400n);
});

test('the payer refuses a request whose payee credential proof does not bind it (relay, altered fields)', async () => {
  const w = makeWorld('payee-auth');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const request = decodePaymentRequest(await payee.client.buildPaymentRequest(300n));
  const relay = encodePaymentRequest({ ...request, payeeSessionKey: Uint8Array.from(request.payeeSessionKey, (b, i) => (i === 0 ? b ^ 1 : b)) });
  await rejects(payer.client.authorizePayment(relay, 300n), 'BAD_PAYEE_CREDENTIAL');
  const cheaper = encodePaymentRequest({ ...request, amountMinor: 299n });
  await rejects(payer.client.authorizePayment(cheaper, 299n), 'BAD_PAYEE_CREDENTIAL');
  const junkProof = encodePaymentRequest({ ...request, payeeCredentialProof: new Uint8Array(10) });
  await rejects(payer.client.authorizePayment(junkProof, 300n), 'WRONG_DATA');
  assert.equal(await balance(payer), 5_000n, 'nothing was debited');
});

test('spend limits refuse on AUTHORIZE_PAYMENT: cap, balance, receive-only, offline spend, L exhausted', async () => {
  const iot = limitsFor(DEFAULT_POLICY, Tier.iot);
  const policy: PolicyTable = { ...DEFAULT_POLICY, tiers: { ...DEFAULT_POLICY.tiers, [Tier.iot]: { ...iot, paymentsPerEpoch: 1, offlineSpendBeforeSyncMinor: 3_000n } } };
  const w = makeWorld('spend-limits');
  w.policy = policy;
  const payer = await paymentSe(w, { tier: Tier.iot, deviceClass: DeviceClass.wearable, fundMinor: 5_000n });
  const payee = await paymentSe(w, { tier: Tier.basic });
  const merchant = await paymentSe(w, { tier: Tier.merchant, deviceClass: DeviceClass.pos });
  const ask = (a: bigint) => payee.client.buildPaymentRequest(a);
  await rejects(payer.client.authorizePayment(await ask(iot.capMinor + 1n), iot.capMinor + 1n), 'CAP_EXCEEDED');
  await rejects(merchant.client.authorizePayment(await ask(100n), 100n), 'RECEIVE_ONLY');
  await payDirect(payer, payee, 2_500n);
  await rejects(payer.client.authorizePayment(await ask(2_600n), 2_600n), 'INSUFFICIENT_BALANCE');
  await rejects(payer.client.authorizePayment(await ask(600n), 600n), 'OFFLINE_SPEND_SYNC_REQUIRED');
  await rejects(payer.client.authorizePayment(await ask(500n), 500n), 'EPOCH_PAYMENTS_EXHAUSTED');
  assert.equal(await balance(payer), 2_500n);
});

test('an expired payer credential refuses with CREDENTIAL_EXPIRED; a payee without one cannot ask', async () => {
  const w = makeWorld('expiry');
  const limits = limitsFor(w.policy, Tier.basic);
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const epoch = epochNow(w, Tier.basic);
  await issueCredential(w, payee.client, { epoch: epoch + 1n, tier: Tier.basic, deviceClass: DeviceClass.wallet });
  w.nowMs = (epoch + 1n) * limits.epochMs + limits.graceMs + 1n;
  await rejects(payer.client.authorizePayment(await payee.client.buildPaymentRequest(100n), 100n), 'CREDENTIAL_EXPIRED');
  w.nowMs = (epoch + 2n) * limits.epochMs + limits.graceMs;
  await rejects(payee.client.buildPaymentRequest(100n), 'CREDENTIAL_EXPIRED');
});

test('receive limits refuse on BUILD and on ACCEPT: holding limit, log full, revoked nullifier', async () => {
  const w = makeWorld('receive-limits');
  const holding = limitsFor(w.policy, Tier.iot).holdingLimitMinor;
  const payer = await paymentSe(w, { tier: Tier.full, fundMinor: 20_000n });
  const watch = await paymentSe(w, { tier: Tier.iot, deviceClass: DeviceClass.wearable, fundMinor: holding - 1_000n, receiptLogCapacity: 2 });
  // Holding limit: refused when asked for, and when a load fills the room between request and payment.
  await rejects(watch.client.buildPaymentRequest(1_001n), 'HOLDING_LIMIT');
  const request = await watch.client.buildPaymentRequest(600n);
  await rejects(watch.client.buildPaymentRequest(401n), 'HOLDING_LIMIT'); // 600 already reserved
  const payment = (await payer.client.authorizePayment(request, 600n)).payment;
  await watch.client.applyLoadVoucher(loadVoucher(w, watch.attestationPublicKey, 1n, 500n));
  await rejects(watch.client.acceptPayment(payment), 'HOLDING_LIMIT');
  await watch.client.makeUnloadRecord(500n);
  await watch.client.acceptPayment(payment); // the refused payment is still good once there is room
  // Log full (capacity 2): one entry left, taken by a receipt that arrives between request and payment.
  const next = await watch.client.buildPaymentRequest(100n);
  const late = (await payer.client.authorizePayment(next, 100n)).payment;
  await watch.client.call(TEST_RECEIVE_SPEC, { amountMinor: 1n, nullifier: G1Point.BASE.mul(99n).toBytes(), epoch: 1n, payment: new Uint8Array(8), blinding: new Uint8Array(32) });
  await rejects(watch.client.acceptPayment(late), 'LOG_FULL');
  await rejects(watch.client.buildPaymentRequest(100n), 'LOG_FULL');
  // Revoked: the CB's list names the nullifier of a payment the payee has not accepted yet.
  const pos = await paymentSe(w, { tier: Tier.merchant, deviceClass: DeviceClass.pos });
  const revokedPayment = (await payer.client.authorizePayment(await pos.client.buildPaymentRequest(300n), 300n)).payment;
  const N = decodePaymentProof(decodePayment(revokedPayment).proof, new Uint8Array(0)).statement.N.toBytes();
  await pos.client.installRevocationList(signedRevocationList(w, { version: 1n, epoch: epochNow(w, Tier.full), nullifiers: [N] }));
  await rejects(pos.client.acceptPayment(revokedPayment), 'NULLIFIER_REVOKED');
  assert.equal(await balance(pos), 0n);
});

test('INSTALL_ISSUER_KEYS: peers under another epoch key are refused until its CB certificate is installed', async () => {
  const w = makeWorld('issuer-keys');
  const secondKey = randomScalar(seededRng('second-issuer'));
  const w2: World = { ...w, issuerSecretKey: secondKey, issuerPublicKey: G2Point.BASE.mul(secondKey) }; // same CB, another epoch key
  const payer = await paymentSe(w, { tier: Tier.basic, fundMinor: 5_000n });
  const payee = await paymentSe(w2, { tier: Tier.full });
  const request = await payee.client.buildPaymentRequest(400n);
  await rejects(payer.client.authorizePayment(request, 400n), 'BAD_PAYEE_CREDENTIAL');
  await rejects(payer.client.installIssuerKeys([signIssuerKeyCert(w.fi.secretKey, { epoch: epochNow(w2, Tier.full), publicKey: w2.issuerPublicKey.toBytes() })]), 'BAD_CERTIFICATE');
  assert.deepEqual(await payer.client.installIssuerKeys([issuerKeyCert(w2, epochNow(w2, Tier.full))]), [epochNow(w2, Tier.full)]);
  const { payment } = await payer.client.authorizePayment(request, 400n);
  await rejects(payee.client.acceptPayment(payment), 'BAD_PAYMENT_PROOF');
  await payee.client.installIssuerKeys([issuerKeyCert(w, epochNow(w, Tier.basic))]);
  assert.equal((await payee.client.acceptPayment(payment)).balanceMinor, 400n);
});

test('the payment context names the payee (its attestation key hash) and the policy version it was paid under', async () => {
  const w = makeWorld('context-binds-payee');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, { tier: Tier.merchant, deviceClass: DeviceClass.pos });
  await payDirect(payer, payee, 900n);
  const [record] = (await payee.client.exportSyncBatch()).payments;
  const fields = parsePaymentContext(decodePaymentRecord(record!).context);
  assert.ok(fields, 'the logged context parses');
  assert.deepEqual(fields.payeeIdentity, payeeIdentityOf(payee.attestationPublicKey));
  assert.notDeepEqual(fields.payeeIdentity, payeeIdentityOf(payer.attestationPublicKey));
  assert.equal(fields.policyVersion, w.policy.version);
});

test('a payer refuses a request made under another policy version (POLICY_VERSION_MISMATCH) and changes nothing', async () => {
  const w = makeWorld('policy-mismatch');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const newer: PolicyTable = { ...w.policy, version: w.policy.version + 1n };
  await payee.client.installPolicy(signedPolicy(w, newer));
  const request = await payee.client.buildPaymentRequest(700n);
  assert.equal(decodePaymentRequest(request).policyVersion, newer.version);
  await payer.client.precomputePayment(); // idle work, done before the tap
  const before = nvmImage(payer);
  await rejects(payer.client.authorizePayment(request, 700n), 'POLICY_VERSION_MISMATCH');
  assert.deepEqual(nvmImage(payer), before, 'a refused payment changes no state');
  await payer.client.installPolicy(signedPolicy(w, newer));
  const paid = await payer.client.authorizePayment(request, 700n);
  assert.equal((await payee.client.acceptPayment(paid.payment)).amountMinor, 700n, 'once both hold the same version the payment goes through');
});
