// A revocation list that names an SE's own attestation key (its customer was frozen, docs/compliance.md):
// that SE refuses to pay with its own status word and writes nothing, but still receives, syncs and
// defunds, so no value is stranded in it; a later list without its key lifts the refusal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { seededRng } from '../crypto/rng.ts';
import { Tier } from '../policy/limits.ts';
import { SeError, SW, type SwName } from './status.ts';
import { MemoryBackend } from './nvm.ts';
import { paymentSe, payDirect, type TestSe } from '../../test/support/payments.ts';
import { epochNow, loadVoucher, makeWorld, signedRevocationList, syncAck, type World } from '../../test/support/world.ts';

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code && e.sw === SW[code], `expected ${code}`);
};
const nvmImage = (se: TestSe) => new Map([...(se.backend as MemoryBackend).cells].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
const listFor = (w: World, version: bigint, devices: Uint8Array[]) =>
  signedRevocationList(w, { version, epoch: epochNow(w, Tier.basic), nullifiers: [], devices });

test('DEVICE_REVOKED is pinned at 0x69A8', () => {
  assert.equal(SW.DEVICE_REVOKED, 0x69a8);
});

test('an SE on the revocation list refuses PAY with DEVICE_REVOKED and writes nothing, yet receives, syncs and defunds', async () => {
  const w = makeWorld('device-revoked');
  const frozen = await paymentSe(w, { tier: Tier.basic, fundMinor: 5_000n });
  const peer = await paymentSe(w, { tier: Tier.basic, fundMinor: 5_000n });
  const stranger = p256.getPublicKey(p256.keygen(seededRng('other-device')(48)).secretKey, true);

  // A list naming another device changes nothing for this one.
  await frozen.client.installRevocationList(listFor(w, 1n, [stranger]));
  assert.equal((await frozen.client.getInfo()).deviceRevoked, false);

  await frozen.client.installRevocationList(listFor(w, 2n, [stranger, frozen.attestationPublicKey]));
  const info = await frozen.client.getInfo();
  assert.deepEqual([info.deviceRevoked, info.revocationVersion], [true, 2n]);

  const request = await peer.client.buildPaymentRequest(400n);
  const before = nvmImage(frozen);
  await rejects(frozen.client.authorizePayment(request, 400n), 'DEVICE_REVOKED');
  assert.deepEqual(nvmImage(frozen), before, 'a refused PAY leaves the NVM as it was');
  assert.equal((await frozen.client.getInfo()).balanceMinor, 5_000n);

  // It still receives ...
  const received = await payDirect(peer, frozen, 300n);
  assert.equal(received.accepted.balanceMinor, 5_300n);
  // ... syncs (the batch carries the receipt, the FI's ack clears it) ...
  const batch = await frozen.client.exportSyncBatch();
  assert.equal(batch.payments.length, 1);
  await frozen.client.applySyncAck(syncAck(w, frozen.attestationPublicKey, batch.batchId));
  assert.equal((await frozen.client.getInfo()).receiptCount, 0);
  // ... and defunds its whole balance to the FI account.
  const unload = await frozen.client.makeUnloadRecord(5_300n);
  assert.equal(unload.balanceMinor, 0n);

  // Unfreeze: the next list no longer names it, and it pays again (after a reload).
  await frozen.client.installRevocationList(listFor(w, 3n, [stranger]));
  assert.equal((await frozen.client.getInfo()).deviceRevoked, false);
  await frozen.client.applyLoadVoucher(loadVoucher(w, frozen.attestationPublicKey, 1n, 500n));
  assert.equal((await payDirect(frozen, peer, 100n)).authorized.balanceMinor, 400n);
});

test('a stale list cannot lift a device revocation: the SE keeps the newer list that names it', async () => {
  const w = makeWorld('device-revoked-stale');
  const se = await paymentSe(w, { tier: Tier.basic, fundMinor: 1_000n });
  const peer = await paymentSe(w, { tier: Tier.basic });
  await se.client.installRevocationList(listFor(w, 5n, [se.attestationPublicKey]));
  await rejects(se.client.installRevocationList(listFor(w, 4n, [])), 'STALE_REVOCATION_LIST');
  assert.equal((await se.client.getInfo()).deviceRevoked, true);
  await rejects(se.client.authorizePayment(await peer.client.buildPaymentRequest(10n), 10n), 'DEVICE_REVOKED');
});
