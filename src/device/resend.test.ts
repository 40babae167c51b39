// A payment flow that never strands money (issue 9): a payee process killed after the payer's
// debit, restarted from its NVM, takes the re-sent payment over a new link — TCP, then BLE — and
// credits it exactly once; the payer's SE keeps the payment until the receipt comes back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRng } from '../crypto/rng.ts';
import { PayeeReady, PayerLinkLost, decodePaymentRequest, encodeReceipt, memoryLinkPair, tcpConnect, tcpListen } from '../protocol/index.ts';
import { makeWorld, type World } from '../../test/support/world.ts';
import { Device } from './device.ts';
import { PROFILES, type DeviceProfile } from './profiles.ts';
import { fundDevice, provisionDevice } from '../../test/support/provision.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function device(w: World, profile: DeviceProfile, name: string, dir: string, fundMinor = 0n): Promise<Device> {
  const d = new Device({ profile, name, rng: seededRng(`dev/${name}`), clock: w.clock, nvm: { kind: 'file', dir } });
  await provisionDevice(w, d);
  if (fundMinor > 0n) await fundDevice(w, d, fundMinor);
  return d;
}

test('a payee killed after the payer\'s debit: the payer re-sends over a new link (TCP, then BLE) and the payee credits once', async () => {
  const w = makeWorld('resend-killed-payee');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-resend-'));
  try {
    const wallet = await device(w, PROFILES.wallet, 'wallet-k', path.join(root, 'wallet'), 40_000n);
    const posDir = path.join(root, 'pos');
    const pos = await device(w, PROFILES.pos, 'pos-k', posDir);
    // First link: the payee asks, the payer pays, the payee process dies before its SE sees the payment.
    const [a, b] = memoryLinkPair();
    const payeeSide = wallet.transport(b, 'nfc');
    const paying = wallet.pay(wallet.transport(a, 'nfc'));
    const ready = new PayeeReady({ buildRequest: (x) => pos.se.buildPaymentRequest(x), accept: (p) => pos.se.acceptPayment(p) }, payeeSide);
    const asked = await ready.sendRequest(1_800n);
    await payeeSide.receive();
    payeeSide.close();
    const lost = await paying.then(() => assert.fail('expected LINK_LOST'), (e: unknown) => e);
    assert.ok(lost instanceof PayerLinkLost);
    assert.equal(await wallet.balanceMinor(), 38_200n);
    const kept = await wallet.se.getUnconfirmedPayments();
    assert.deepEqual(kept.map((k) => [k.amountMinor, hex(k.requestId)]), [[1_800n, hex(decodePaymentRequest(asked.request).requestId)]]);

    // The payee restarts from its NVM (a new process: a new Device on the same files) and listens on TCP.
    const restarted = new Device({ profile: PROFILES.pos, rng: seededRng('pos-restarted'), clock: w.clock, nvm: { kind: 'file', dir: posDir } });
    const listener = await tcpListen(0);
    let firstReceipt = '';
    try {
      const [out, got] = await Promise.all([
        (async () => wallet.resend(await tcpConnect(listener.port), { requestId: kept[0]!.requestId }))(),
        (async () => {
          const t = await listener.accept(10_000);
          try {
            return await restarted.receive(t, 1_800n);
          } finally {
            t.close();
          }
        })(),
      ]);
      assert.deepEqual([got.amountMinor, got.resent, got.balanceMinor], [1_800n, false, 1_800n]);
      assert.deepEqual([out.amountMinor, hex(out.receipt)], [1_800n, hex(got.receipt)]);
      firstReceipt = hex(got.receipt);
    } finally {
      await listener.close();
    }
    // The receipt went back to the payer's SE: nothing is kept, nothing more to re-send.
    assert.deepEqual(await wallet.se.getUnconfirmedPayments(), []);
    await assert.rejects(wallet.resend(wallet.transport(memoryLinkPair()[0], 'ble')), RangeError);
    // The stale host object re-sends over BLE: the same receipt, nothing credited twice.
    const [c, d] = memoryLinkPair();
    const [again, gotAgain] = await Promise.all([
      lost.resume.resendOver(wallet.transport(c, 'ble', restarted.profile.bleMtu)),
      restarted.receive(restarted.transport(d, 'ble', wallet.profile.bleMtu), 1_800n),
    ]);
    assert.deepEqual([gotAgain.resent, gotAgain.balanceMinor], [true, 1_800n]);
    assert.equal(hex(encodeReceipt(again.receipt)), firstReceipt);
    assert.equal((await wallet.balanceMinor()) + (await restarted.balanceMinor()), 40_000n);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
