// Offline payment benchmarks (DESIGN §8): one whole payment between two devices — the payee SE
// builds the request, the payer SE authorizes, the payee SE accepts and answers with a receipt —
// through both SEs' APDU interfaces and the NFC framing over an in-memory link; with and without
// a precomputation done beforehand (PRECOMPUTE_PAYMENT while idle). Then the radio time of the
// same three messages from the link model (NFC ISO-DEP at 424 and 106 kbit/s; BLE LE 1M PHY at
// MTU 247 and 23; bit rates and overheads documented in src/protocol/link_model.ts), their total
// size, and the device cost model's SE time for one payment on representative hardware classes.

import { timeIt, type Benchmark, type BenchResult } from './harness.ts';
import { seededRng } from '../src/crypto/rng.ts';
import { Device } from '../src/device/device.ts';
import { PROFILES } from '../src/device/profiles.ts';
import { fundDevice, provisionDevice } from '../src/device/provision.ts';
import { paymentCost } from '../src/device/cost_model.ts';
import { airtime, bleProfile, memoryLinkPair, nfcProfile, nfcTransport } from '../src/protocol/index.ts';
import { makeWorld } from '../src/se/test_world.ts';

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
        await timeIt('offline.payment.e2e', () => payOnce(wallet, pos), { n: 10, warmup: 1 }),
        await timeIt('offline.payment.e2e.precomputed', () => payOnce(wallet, pos), { n: 10, warmup: 1, setup: () => wallet.precompute() }),
        { name: 'offline.payment.nfc.airtime_ms', value: round(airtime(nfcProfile(), sizes).airtimeMs), unit: 'ms (NFC 424 kbit/s)' },
        { name: 'offline.payment.nfc106.airtime_ms', value: round(airtime(nfcProfile(106_000), sizes).airtimeMs), unit: 'ms (NFC 106 kbit/s)' },
        { name: 'offline.payment.ble.airtime_ms', value: round(airtime(bleProfile(), sizes).airtimeMs), unit: 'ms (BLE 1M PHY, MTU 247)' },
        { name: 'offline.payment.ble23.airtime_ms', value: round(airtime(bleProfile(23), sizes).airtimeMs), unit: 'ms (BLE 1M PHY, MTU 23)' },
        { name: 'offline.payment.message_bytes', value: sizes.reduce((x, y) => x + y, 0), unit: `bytes (request ${sizes[0]} + payment ${sizes[1]} + receipt ${sizes[2]})` },
      ];
      for (const hw of ['se-embedded', 'se-smartcard', 'mcu-cortex-m33'] as const) {
        results.push({ name: `offline.payment.model.${hw}_ms`, value: round(paymentCost(hw, hw, { precomputed: true }).totalMs), unit: 'ms (cost model estimate, SE work only)' });
      }
      return results;
    },
  },
];

const round = (x: number) => Math.round(x * 100) / 100;
