// The SE hands provePayment a credential made by its own blind issuance, and the proof verifies:
// the seam between the SE and the payment proof, tested before the payment commands exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provePayment, verifyPayment } from '../crypto/payment.ts';
import { seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { SeClient, transmitTo } from './client.ts';
import { MemoryBackend, Nvm } from './nvm.ts';
import { SeState } from './state.ts';
import { SeRefusal, SW } from './status.ts';
import { paymentInputs } from './payment_inputs.ts';
import { epochNow, issueCredential, loadVoucher, makeWorld, provisionSe } from '../../test/support/world.ts';

test('paymentInputs() gives provePayment a credential from blind issuance that verifies', async () => {
  const w = makeWorld('payment-inputs');
  const backend = new MemoryBackend();
  const client = new SeClient(transmitTo(Applet.open({ backend, rng: seededRng('pi'), clock: w.clock })));
  const keys = await provisionSe(w, client, { deviceClass: DeviceClass.wearable, tier: Tier.basic });
  await client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, 10_000n));
  const epoch = epochNow(w, Tier.basic);
  await issueCredential(w, client, { epoch, tier: Tier.basic, deviceClass: DeviceClass.wearable });
  const tx = new SeState(Nvm.open(backend)).begin();
  assert.throws(() => paymentInputs(tx, 20_001n, w.nowMs), (e: unknown) => e instanceof SeRefusal && e.sw === SW.CAP_EXCEEDED);
  const inputs = paymentInputs(tx, 1_000n, w.nowMs);
  assert.deepEqual([inputs.epoch, inputs.tier, inputs.deviceClass, inputs.counter], [epoch, Tier.basic, DeviceClass.wearable, 0]);
  const rng = seededRng('prove');
  const proved = provePayment({ ...inputs, amountMinor: 1_000n, context: new Uint8Array(32).fill(9), rng });
  assert.deepEqual(verifyPayment(inputs.params, proved.statement, proved.proof, rng), { ok: true });
});
