// The device cost model: every estimate is finite and positive, energy is time × power, the
// commands rank as the protocol says (AUTHORIZE carries the range proof), precomputation and a
// smaller nullifier set help, and the counts — priced with this machine's engine costs — land
// within a wide band of what the real commands take here (a guard against counts off by 10×).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeWorld } from '../se/test_world.ts';
import { paymentSe } from '../se/test_payments.ts';
import { HARDWARE, commandOps, estimate, paymentCost, type CostedHardware, type PaymentCommand } from './cost_model.ts';
import { PROFILES } from './profiles.ts';

const COMMANDS: PaymentCommand[] = ['BUILD_PAYMENT_REQUEST', 'AUTHORIZE_PAYMENT', 'ACCEPT_PAYMENT', 'PRECOMPUTE_PAYMENT'];

test('estimates are positive, energy is time × power, and the commands rank as the protocol says', () => {
  for (const hw of Object.keys(HARDWARE) as CostedHardware[]) {
    for (const c of COMMANDS) {
      const e = estimate(commandOps(c), hw);
      assert.ok(Number.isFinite(e.timeMs) && e.timeMs > 0, `${c} on ${hw}`);
      assert.ok(Math.abs(e.energyMj - (e.timeMs * HARDWARE[hw].activeMw) / 1000) < 1e-9);
      assert.ok(Math.abs(Object.values(e.breakdown).reduce((a, b) => a + b, 0) - e.timeMs) < 1e-6);
    }
    const cost = paymentCost(hw, hw);
    assert.ok(cost.authorize.timeMs > cost.accept.timeMs && cost.accept.timeMs > cost.build.timeMs, hw);
    assert.ok(paymentCost(hw, hw, { precomputed: true }).authorize.timeMs < cost.authorize.timeMs);
    const busy = estimate(commandOps('ACCEPT_PAYMENT', { seenNullifiers: 1024 }), hw).timeMs;
    assert.ok(busy >= estimate(commandOps('ACCEPT_PAYMENT', { seenNullifiers: 0 }), hw).timeMs);
  }
  assert.ok(paymentCost('se-smartcard', 'se-smartcard').totalMs > paymentCost('se-embedded', 'se-embedded').totalMs);
  for (const p of Object.values(PROFILES)) assert.ok(p.hardware in HARDWARE);
});

test('priced with this machine\'s engine costs, the counts land near the measured command times', async () => {
  const w = makeWorld('cost-calibration');
  const payer = await paymentSe(w, { fundMinor: 10_000n });
  const payee = await paymentSe(w, {});
  const measured = { build: Infinity, authorize: Infinity, accept: Infinity };
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const request = await payee.client.buildPaymentRequest(100n);
    const t1 = performance.now();
    const { payment } = await payer.client.authorizePayment(request, 100n);
    const t2 = performance.now();
    await payee.client.acceptPayment(payment);
    const t3 = performance.now();
    if (i === 0) continue; // warm-up: generator caches
    measured.build = Math.min(measured.build, t1 - t0);
    measured.authorize = Math.min(measured.authorize, t2 - t1);
    measured.accept = Math.min(measured.accept, t3 - t2);
  }
  const model = paymentCost('host', 'host');
  for (const [name, m, p] of [['AUTHORIZE', measured.authorize, model.authorize.timeMs], ['ACCEPT', measured.accept, model.accept.timeMs]] as const) {
    assert.ok(m >= p / 4 && m <= p * 8, `${name}: measured ${m.toFixed(1)} ms, model ${p.toFixed(1)} ms`);
  }
});
