// The payer SE keeps every payment it debited until receipted (issue 9): an earlier unconfirmed
// payment survives a later one, the list has its own bound and status word, CONFIRM_PAYMENT takes
// only a receipt signed by the payee the payment was made to, and a bad receipt changes nothing;
// the reclaim claims it signs at sync open C_a, and only the FI's signed outcomes drop payments.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { decodeReceipt, encodeReceipt, paymentHash } from '../protocol/messages.ts';
import { payeeIdentityOf } from '../protocol/session.ts';
import type { MemoryBackend } from './nvm.ts';
import { signReceipt } from './payment_peer.ts';
import { UNCONFIRMED_PAYMENTS_MAX } from './payment_limits.ts';
import { SeError, SW, type SwName } from './status.ts';
import { paymentSe, payDirect, type TestSe } from '../../test/support/payments.ts';
import { makeWorld } from '../../test/support/world.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { G1Point, scalarFromBytes } from '../crypto/group.ts';
import { commit } from '../crypto/pedersen.ts';
import { decodePaymentRecordFull } from '../protocol/payment_record.ts';
import { openReclaimClaim, signPaymentOutcomes, signReclaimRefusal } from './reclaim_messages.ts';
import { openUnloadRecord } from './messages.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code && e.sw === SW[code], `expected ${code}`);
};
const nvmImage = (se: TestSe) => new Map([...(se.backend as MemoryBackend).cells].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
const balance = async (se: TestSe) => (await se.client.getInfo()).balanceMinor;

test('an earlier unconfirmed payment is still kept, listed and re-sent after a later one is made', async () => {
  const w = makeWorld('unconfirmed-two');
  const payer = await paymentSe(w, { fundMinor: 10_000n });
  const payee = await paymentSe(w, {});
  const r1 = await payee.client.buildPaymentRequest(300n);
  const p1 = await payer.client.authorizePayment(r1, 300n);
  w.nowMs += 1_000n;
  const r2 = await payee.client.buildPaymentRequest(200n);
  const p2 = await payer.client.authorizePayment(r2, 200n);
  const kept = await payer.client.getUnconfirmedPayments();
  assert.deepEqual(kept.map((k) => [k.payment, k.amountMinor, k.paymentHash]), [[p1.payment, 300n, paymentHash(p1.payment)], [p2.payment, 200n, paymentHash(p2.payment)]]);
  assert.deepEqual(kept.map((k) => k.paidAtMs), [w.nowMs - 1_000n, w.nowMs]);
  assert.deepEqual(kept[0]!.payeeIdentity, payeeIdentityOf(payee.attestationPublicKey));
  assert.deepEqual((await payer.client.getLastPayment()).payment, p2.payment);
  // The first request asked again: the kept payment comes back, nothing is debited.
  const again = await payer.client.authorizePayment(r1, 300n);
  assert.deepEqual([again.payment, again.resent, again.balanceMinor], [p1.payment, true, 9_500n]);
  // Delivered late, it is credited once, and its receipt drops exactly that payment.
  const accepted = await payee.client.acceptPayment(p1.payment);
  assert.deepEqual(await payer.client.confirmPayment(accepted.receipt), { dropped: true, unconfirmedCount: 1 });
  assert.deepEqual((await payer.client.getUnconfirmedPayments()).map((k) => k.payment), [p2.payment]);
  // A repeated receipt is a harmless no-op; the paid request is still never paid again.
  const before = nvmImage(payer);
  assert.deepEqual(await payer.client.confirmPayment(accepted.receipt), { dropped: false, unconfirmedCount: 1 });
  assert.deepEqual(nvmImage(payer), before);
  await rejects(payer.client.authorizePayment(r1, 300n), 'REQUEST_ALREADY_PAID');
});

test('AUTHORIZE_PAYMENT refuses a new payment while every unconfirmed slot is taken; a receipt frees one', async () => {
  const w = makeWorld('unconfirmed-full');
  const payer = await paymentSe(w, { fundMinor: 50_000n });
  const payee = await paymentSe(w, {});
  const made: Array<{ request: Uint8Array; payment: Uint8Array }> = [];
  const receipts: Uint8Array[] = [];
  for (let i = 0; i < UNCONFIRMED_PAYMENTS_MAX; i++) {
    const request = await payee.client.buildPaymentRequest(100n + BigInt(i));
    made.push({ request, payment: (await payer.client.authorizePayment(request, 100n + BigInt(i))).payment });
    if (i % 4 === 3) {
      // The payee holds at most a few unpaid requests: take the oldest ones' payments now (no receipt to the payer).
      for (const m of made.slice(i - 3, i + 1)) receipts.push((await payee.client.acceptPayment(m.payment)).receipt);
    }
  }
  await payer.client.precomputePayment(); // idle work, before the tap
  const before = nvmImage(payer);
  const balanceBefore = await balance(payer);
  const next = await payee.client.buildPaymentRequest(50n);
  await rejects(payer.client.authorizePayment(next, 50n), 'UNCONFIRMED_PAYMENTS_FULL');
  assert.deepEqual(nvmImage(payer), before, 'a refused payment changes nothing');
  assert.equal(await balance(payer), balanceBefore);
  // The payee's receipt for the oldest one, arriving late, frees its slot.
  assert.deepEqual(await payer.client.confirmPayment(receipts[0]!), { dropped: true, unconfirmedCount: UNCONFIRMED_PAYMENTS_MAX - 1 });
  const paid = await payer.client.authorizePayment(next, 50n);
  assert.equal(paid.balanceMinor, balanceBefore - 50n);
  assert.equal((await payer.client.getUnconfirmedPayments()).length, UNCONFIRMED_PAYMENTS_MAX);
});

test('CONFIRM_PAYMENT refuses a receipt with a bad signature, by another key, or that does not decode, changing nothing', async () => {
  const w = makeWorld('unconfirmed-bad-receipt');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const { receipt } = await payDirect(payer, payee, 400n);
  const good = decodeReceipt(receipt);
  const before = nvmImage(payer);
  // Each byte of the signature flipped in turn (every one must break it).
  for (const i of [0, 31, 32, 63]) {
    const sig = good.payeeSignature.slice();
    sig[i]! ^= 0x01;
    await rejects(payer.client.confirmPayment(encodeReceipt({ ...good, payeeSignature: sig })), 'BAD_RECEIPT');
  }
  // A valid signature over the same payment hash by a key that is not the payee's.
  const other = p256.utils.randomSecretKey();
  const forged = encodeReceipt({ ...good, payeeSignature: signReceipt(other, good.paymentHash), payeeAttestationKey: p256.getPublicKey(other, true) });
  await rejects(payer.client.confirmPayment(forged), 'BAD_RECEIPT');
  await rejects(payer.client.confirmPayment(receipt.slice(0, receipt.length - 5)), 'WRONG_DATA');
  assert.deepEqual(nvmImage(payer), before, 'no refused receipt changed the SE');
  assert.equal((await payer.client.getUnconfirmedPayments()).length, 1);
  assert.deepEqual(await payer.client.confirmPayment(receipt), { dropped: true, unconfirmedCount: 0 });
});

test('EXPORT_RECLAIM_CLAIMS signs one claim per kept payment; APPLY_PAYMENT_OUTCOMES drops only under the FI key and for this device', async () => {
  const w = makeWorld('unconfirmed-claims');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const a = await payer.client.authorizePayment(await payee.client.buildPaymentRequest(250n), 250n);
  await payer.client.authorizePayment(await payee.client.buildPaymentRequest(150n), 150n);
  const claims = await payer.client.exportReclaimClaims();
  assert.equal(claims.length, 2);
  const opened = openReclaimClaim(claims[0]!.claim, payer.attestationPublicKey);
  assert.ok(opened.ok);
  const c = opened.value;
  assert.deepEqual([c.amountMinor, hex(c.paymentHash), hex(c.recordHash)], [250n, hex(paymentHash(a.payment)), hex(sha256(claims[0]!.record))]);
  const { statement } = decodePaymentRecordFull(claims[0]!.record);
  assert.ok(commit(c.amountMinor, scalarFromBytes(c.blinding)).equals(statement.C_a), 'C_a opens to the claimed amount');
  assert.deepEqual(c.nullifier, statement.N.toBytes());
  assert.equal(openReclaimClaim(claims[0]!.claim, payee.attestationPublicKey).ok, false, 'signed by the payer SE only');

  const before = nvmImage(payer);
  const done = [c.paymentHash];
  const forged = signPaymentOutcomes(p256.utils.randomSecretKey(), { devicePublicKey: payer.attestationPublicKey, done });
  await rejects(payer.client.applyPaymentOutcomes(forged), 'BAD_ACK_SIGNATURE');
  const otherDevice = signPaymentOutcomes(w.fi.secretKey, { devicePublicKey: payee.attestationPublicKey, done });
  await rejects(payer.client.applyPaymentOutcomes(otherDevice), 'WRONG_DATA');
  assert.deepEqual(nvmImage(payer), before, 'refused outcomes change nothing');
  const ok = signPaymentOutcomes(w.fi.secretKey, { devicePublicKey: payer.attestationPublicKey, done });
  assert.deepEqual(await payer.client.applyPaymentOutcomes(ok), { dropped: 1, unconfirmedCount: 1 });
  assert.deepEqual(await payer.client.applyPaymentOutcomes(ok), { dropped: 0, unconfirmedCount: 1 });
  assert.deepEqual((await payer.client.getUnconfirmedPayments()).map((u) => u.amountMinor), [150n]);
});

test('APPLY_RECLAIM_REFUSAL reverses what the balance covers by an unload record, once, and only under the CB key for this device', async () => {
  const w = makeWorld('reclaim-refusal');
  const payee = await paymentSe(w, { fundMinor: 300n });
  const other = await paymentSe(w, {});
  const deviceId = (await payee.client.getInfo()).deviceId!;
  const refusal = { deviceId, epoch: 9n, nullifier: G1Point.BASE.mul(5n).toBytes(), amountMinor: 500n };
  const before = nvmImage(payee);
  await rejects(payee.client.applyReclaimRefusal(signReclaimRefusal(w.fi.secretKey, refusal)), 'BAD_REVOCATION_SIGNATURE');
  await rejects(payee.client.applyReclaimRefusal(signReclaimRefusal(w.cb.secretKey, { ...refusal, deviceId: (await other.client.getInfo()).deviceId! })), 'WRONG_DATA');
  assert.deepEqual(nvmImage(payee), before, 'a refused refusal changes nothing');
  // 500 reclaimed, 300 held: 300 go back by an unload record, the FI charges the owner's account the rest.
  const signed = signReclaimRefusal(w.cb.secretKey, refusal);
  const r = await payee.client.applyReclaimRefusal(signed);
  assert.deepEqual([r.applied, r.reversedMinor, r.balanceMinor], [true, 300n, 0n]);
  const unload = openUnloadRecord(r.unloadRecord!, payee.attestationPublicKey);
  assert.ok(unload.ok);
  assert.deepEqual([unload.value.amountMinor, unload.value.unloadCounter], [300n, 0n]);
  assert.deepEqual(await payee.client.getLastUnloadRecord(), r.unloadRecord);
  const info = await payee.client.getInfo();
  assert.deepEqual([info.unloadCounter, info.balanceMinor], [1n, 0n]);
  const again = await payee.client.applyReclaimRefusal(signed);
  assert.deepEqual([again.applied, again.reversedMinor, again.unloadRecord], [false, 0n, null]);
});
