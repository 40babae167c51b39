// Link model: frame counts match the real framings, airtime grows with size and with loss, a
// seed replays the same losses, a link that loses everything reports failure, and the defaults
// give plausible numbers for a payment (printed for the report, bounded loosely here).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRng } from '../crypto/rng.ts';
import { bleWrites } from './framing_ble.ts';
import { nfcFrames } from './framing_nfc.ts';
import * as L from './limits.ts';
import { airtime, bleProfile, nfcProfile } from './link_model.ts';

const PAYMENT = [L.PAYMENT_REQUEST_BYTES_MAX, L.PAYMENT_BYTES_MAX, L.RECEIPT_BYTES_MAX];

test('airtime() counts exactly the frames the NFC and BLE framings produce', () => {
  for (const n of [0, 1, 255, 256, 2681, L.MESSAGE_BYTES_MAX]) {
    assert.equal(airtime(nfcProfile(), [n]).frames, nfcFrames(new Uint8Array(n), 0).length);
    for (const mtu of [23, 185, 247]) assert.equal(airtime(bleProfile(mtu), [n]).frames, bleWrites(new Uint8Array(n), mtu).length);
  }
});

test('airtime() grows with message size on every profile', () => {
  for (const profile of [nfcProfile(), nfcProfile(106_000), bleProfile(23), bleProfile(247)]) {
    fc.assert(
      fc.property(fc.nat({ max: L.MESSAGE_BYTES_MAX - 1 }), fc.integer({ min: 1, max: 500 }), (n, d) => {
        const m = Math.min(L.MESSAGE_BYTES_MAX, n + d);
        assert.ok(airtime(profile, [m]).airtimeMs > airtime(profile, [n]).airtimeMs, `${profile.name}: ${m} vs ${n}`);
      }),
      { numRuns: 100 },
    );
  }
});

test('airtime() grows with the loss rate and replays the same losses from the same seed', () => {
  const ms = [0, 0.01, 0.05, 0.2].map((loss) => airtime(nfcProfile(424_000, loss), PAYMENT, seededRng('loss')));
  for (let i = 1; i < ms.length; i++) assert.ok(ms[i]!.airtimeMs >= ms[i - 1]!.airtimeMs, `loss step ${i}`);
  assert.ok(ms[3]!.retransmissions > 0 && ms[3]!.airtimeMs > ms[0]!.airtimeMs);
  // Averaged over seeds, more loss always costs more.
  const mean = (loss: number): number => {
    let total = 0;
    for (let s = 0; s < 50; s++) total += airtime(bleProfile(247, loss), PAYMENT, seededRng(s)).airtimeMs;
    return total / 50;
  };
  assert.ok(mean(0.3) > mean(0.1) && mean(0.1) > mean(0));
  const a = airtime(bleProfile(23, 0.1), PAYMENT, seededRng(7));
  const b = airtime(bleProfile(23, 0.1), PAYMENT, seededRng(7));
  assert.deepEqual(a, b);
});

test('airtime() reports a link that loses every frame as not delivered after the retries', () => {
  const r = airtime(nfcProfile(424_000, 1), PAYMENT, seededRng(1));
  assert.equal(r.delivered, false);
  assert.equal(r.retransmissions, L.LINK_RETRANSMISSIONS_MAX);
  assert.equal(r.perMessageMs.length, 1);
  assert.throws(() => airtime(nfcProfile(424_000, 0.1), PAYMENT), /needs an Rng/);
  assert.throws(() => airtime(nfcProfile(), [L.MESSAGE_BYTES_MAX + 1]), /outside/);
});

test('default profiles give a payment airtime inside the 500 ms tap budget (NFC 424k, BLE 247)', () => {
  const nfc = airtime(nfcProfile(), PAYMENT);
  const nfc106 = airtime(nfcProfile(106_000), PAYMENT);
  const ble = airtime(bleProfile(247), PAYMENT);
  const ble23 = airtime(bleProfile(23), PAYMENT);
  console.log(
    `largest payment (${PAYMENT.join('+')} bytes): NFC 424k ${nfc.airtimeMs.toFixed(1)} ms / ${nfc.frames} frames, ` +
      `NFC 106k ${nfc106.airtimeMs.toFixed(1)} ms, BLE 247 ${ble.airtimeMs.toFixed(1)} ms / ${ble.frames} frames, BLE 23 ${ble23.airtimeMs.toFixed(1)} ms / ${ble23.frames} frames`,
  );
  // 3.9 KB × 9 bits at 424 kbit/s ≈ 84 ms of bits plus per-frame latency.
  assert.ok(nfc.airtimeMs > 80 && nfc.airtimeMs < 150, `NFC 424k ${nfc.airtimeMs}`);
  assert.ok(nfc106.airtimeMs > 3 * nfc.airtimeMs);
  assert.ok(ble.airtimeMs < nfc.airtimeMs && ble.airtimeMs > 45);
  assert.ok(ble23.airtimeMs > ble.airtimeMs);
});
