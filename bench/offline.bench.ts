// Offline payment benchmarks (DESIGN §8): one whole payment between two devices — the payee SE
// builds the request, the payer SE authorizes, the payee SE accepts and answers with a receipt —
// through both SEs' APDU interfaces and the NFC framing over an in-memory link; with and without
// a precomputation done beforehand (PRECOMPUTE_PAYMENT while idle). Then the radio time of the
// same three messages from the link model (NFC ISO-DEP at 424 and 106 kbit/s; BLE LE 1M PHY at
// MTU 247 and 23; bit rates and overheads documented in src/protocol/link_model.ts), their total
// size, and the device cost model (src/device/cost_model.ts) for every hardware class: the payer
// SE's tap-time work of the restructured payment (issue 9), its idle work per spend token, the
// tap-time energy, the payee SE's work and the payer host's; today's whole-payment SE time stays
// under `offline.payment.model.today.<class>_ms`. Last, the model's `host` prices against this
// machine: per-operation timings and today's three commands measured through the APDU interface
// next to the model's prediction (a benchmark, so no wall-clock assertion lives in `npm test`).

import { timeIt, type Benchmark, type BenchResult } from './harness.ts';
import { seededRng } from '../src/crypto/rng.ts';
import { Device } from '../src/device/device.ts';
import { PROFILES } from '../src/device/profiles.ts';
import { fundDevice, provisionDevice } from '../test/support/provision.ts';
import { commandOps, estimate, paymentCost, restructuredPaymentCost } from '../src/device/cost_model.ts';
import type { HardwareClass } from '../src/device/profiles.ts';
import { G1Point, G2Point, msmVartime, pairingProductIsOne, randomScalar } from '../src/crypto/index.ts';
import { paymentSe } from '../test/support/payments.ts';
import { airtime, bleProfile, memoryLinkPair, nfcProfile, nfcTransport } from '../src/protocol/index.ts';
import { makeWorld } from '../test/support/world.ts';

const AMOUNT = 100n;

async function pair() {
  const w = makeWorld('offline-bench');
  const wallet = new Device({ profile: PROFILES.wallet, rng: seededRng('bench/wallet'), clock: w.clock });
  const pos = new Device({ profile: PROFILES.pos, rng: seededRng('bench/pos'), clock: w.clock });
  await provisionDevice(w, wallet);
  await provisionDevice(w, pos);
  await fundDevice(w, wallet, 100_000n);
  return { wallet, pos };
}

/** One payment over a fresh memory link with NFC framing; returns the three message sizes. */
async function payOnce(wallet: Device, pos: Device): Promise<number[]> {
  const [a, b] = memoryLinkPair();
  const [paid, got] = await Promise.all([wallet.pay(nfcTransport(a)), pos.receive(nfcTransport(b), AMOUNT)]);
  return [paid.payment.length, got.receipt.length];
}

export const benchmarks: Benchmark[] = [
  {
    group: 'offline',
    async run() {
      const { wallet, pos } = await pair();
      const request = await pos.se.buildPaymentRequest(AMOUNT); // a request's size, for the message total
      const [paymentBytes, receiptBytes] = await payOnce(wallet, pos);
      const sizes = [request.length, paymentBytes!, receiptBytes!];
      const results: BenchResult[] = [
        // The device's idle step between payments (spend tokens, host range nonces) runs untimed:
        // that is how a device pays (DESIGN §3.2 "What runs when"). `.no_idle_step` skips it (the pool drains, the host proves from scratch).
        await timeIt('offline.payment.e2e', () => payOnce(wallet, pos), { n: 10, warmup: 1, setup: () => wallet.precompute() }),
        await timeIt('offline.payment.e2e.no_idle_step', () => payOnce(wallet, pos), { n: 10, warmup: 1 }),
        { name: 'offline.payment.nfc.airtime_ms', value: round(airtime(nfcProfile(), sizes).airtimeMs), unit: 'ms (NFC 424 kbit/s)' },
        { name: 'offline.payment.nfc106.airtime_ms', value: round(airtime(nfcProfile(106_000), sizes).airtimeMs), unit: 'ms (NFC 106 kbit/s)' },
        { name: 'offline.payment.ble.airtime_ms', value: round(airtime(bleProfile(), sizes).airtimeMs), unit: 'ms (BLE 1M PHY, MTU 247)' },
        { name: 'offline.payment.ble23.airtime_ms', value: round(airtime(bleProfile(23), sizes).airtimeMs), unit: 'ms (BLE 1M PHY, MTU 23)' },
        { name: 'offline.payment.message_bytes', value: sizes.reduce((x, y) => x + y, 0), unit: `bytes (request ${sizes[0]} + payment ${sizes[1]} + receipt ${sizes[2]})` },
      ];
      results.push(...modelResults());
      return results;
    },
  },
  { group: 'offline', run: hostCalibration },
];

const CLASSES: HardwareClass[] = ['se-embedded', 'se-smartcard', 'mcu-cortex-m33', 'mcu-cortex-m4'];

/** The cost model per class: restructured payment (payer SE tap, idle, energy, payee) and today's. */
function modelResults(): BenchResult[] {
  const out: BenchResult[] = [];
  for (const hw of CLASSES) {
    const r = restructuredPaymentCost(hw, hw);
    out.push(
      { name: `offline.payment.model.${hw}_ms`, value: round(r.tap.timeMs), unit: 'ms (cost model: payer SE work at tap, after idle precomputation)' },
      { name: `offline.payment.precompute.${hw}_ms`, value: round(r.precompute.timeMs), unit: 'ms (cost model: payer SE idle work per spend token)' },
      { name: `offline.payment.energy.${hw}_mj`, value: round(r.tap.energyMj), unit: 'mJ (cost model: payer SE energy at tap)' },
      { name: `offline.payment.model.payee.${hw}_ms`, value: round(r.payeeMs), unit: 'ms (cost model: payee SE build + accept)' },
      { name: `offline.payment.model.today.${hw}_ms`, value: round(paymentCost(hw, hw, { precomputed: true }).totalMs), unit: 'ms (cost model: today\'s payment, all SE work)' },
    );
  }
  const host = restructuredPaymentCost('host', 'host');
  out.push({ name: 'offline.payment.model.payer-host_ms', value: round(host.hostTap.timeMs), unit: 'ms (cost model: payer host at tap — range proof 2×16, session, payee check — priced on this machine)' });
  return out;
}

/** Median of `n` timed runs of `f`, ms. */
function medianMs(n: number, f: () => unknown): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    xs.push(performance.now() - t0);
  }
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/** This machine's per-operation costs, and today's commands measured against the model's host prices. */
async function hostCalibration(): Promise<BenchResult[]> {
  const P = G1Point.BASE.mul(12345n);
  const Q = G2Point.BASE.mul(678n);
  const scalars = Array.from({ length: 64 }, (_, i) => randomScalar(seededRng(`cal/${i}`)));
  const points = scalars.map((s) => P.mul(s));
  const bytes = P.toBytes();
  const perOp: Array<[string, number]> = [
    ['g1Mul', medianMs(41, () => P.mul(scalars[7]!))],
    ['g1MsmPoint', medianMs(11, () => msmVartime(points, scalars)) / points.length],
    ['g1Add', medianMs(41, () => { for (let i = 0; i < 100; i++) P.add(P); }) / 100],
    ['pointDecode', medianMs(41, () => G1Point.fromBytes(bytes))],
    ['pairing2', medianMs(11, () => pairingProductIsOne([[P, Q], [P.neg(), Q]]))],
  ];
  const out: BenchResult[] = perOp.map(([op, ms]) => ({ name: `offline.cost_model.host.${op}_ms`, value: Math.round(ms * 10_000) / 10_000, unit: 'ms (this machine)' }));
  const w = makeWorld('cost-calibration');
  const payer = await paymentSe(w, { fundMinor: 10_000n });
  const payee = await paymentSe(w, {});
  const measured = { BUILD_PAYMENT_REQUEST: [] as number[], AUTHORIZE_PAYMENT: [] as number[], ACCEPT_PAYMENT: [] as number[] };
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const request = await payee.client.buildPaymentRequest(AMOUNT);
    const t1 = performance.now();
    const { payment } = await payer.client.authorizePayment(request, AMOUNT);
    const t2 = performance.now();
    await payee.client.acceptPayment(payment);
    const t3 = performance.now();
    if (i === 0) continue; // warm-up: generator caches
    measured.BUILD_PAYMENT_REQUEST.push(t1 - t0);
    measured.AUTHORIZE_PAYMENT.push(t2 - t1);
    measured.ACCEPT_PAYMENT.push(t3 - t2);
  }
  for (const [command, xs] of Object.entries(measured) as Array<[keyof typeof measured, number[]]>) {
    const m = xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const model = estimate(commandOps(command), 'host').timeMs;
    out.push(
      { name: `offline.cost_model.host.${command}.measured_ms`, value: round(m), unit: 'ms (through the APDU interface, median of 5)' },
      { name: `offline.cost_model.host.${command}.model_ms`, value: round(model), unit: 'ms (cost model, host prices)' },
      { name: `offline.cost_model.host.${command}.ratio`, value: round(m / model), unit: 'measured / model (1 = calibrated)' },
    );
  }
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;
