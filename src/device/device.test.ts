// Devices paying each other over every transport: NFC and BLE framings over an in-memory link,
// and TCP on 127.0.0.1 between two processes. A wallet funds its watch, the watch pays a POS, and
// value is conserved across the SEs; a link lost after the debit is finished by a re-send that the
// payee credits exactly once, even after the payer's host lost all its state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../crypto/rng.ts';
import { ExchangeError, PayeeReady, TransportError, PayerLinkLost, memoryLinkPair, nfcTransport, tcpConnect, type MessageTransport } from '../protocol/index.ts';
import { makeWorld, type World } from '../../test/support/world.ts';
import { Device } from './device.ts';
import { PROFILES, receiptLogCapacityOf, type DeviceProfile } from './profiles.ts';
import { fundDevice, provisionDevice } from '../../test/support/provision.ts';

async function device(w: World, profile: DeviceProfile, name: string, fundMinor = 0n, dir?: string): Promise<Device> {
  const d = new Device({ profile, name, rng: seededRng(`dev/${name}`), clock: w.clock, nvm: dir ? { kind: 'file', dir } : { kind: 'memory' } });
  const p = await provisionDevice(w, d);
  assert.equal(p.receiptLogCapacity, receiptLogCapacityOf(profile));
  if (fundMinor > 0n) await fundDevice(w, d, fundMinor);
  return d;
}

/** One payment over a fresh memory link, framed for `radio` on both ends. */
async function payOver(radio: 'nfc' | 'ble', payer: Device, payee: Device, amountMinor: bigint) {
  const [a, b] = memoryLinkPair();
  const mtuA = payer.profile.bleMtu;
  const mtuB = payee.profile.bleMtu;
  const [paid, got] = await Promise.all([
    payer.pay(payer.transport(a, radio, mtuB)),
    payee.receive(payee.transport(b, radio, mtuA), amountMinor),
  ]);
  return { paid, got };
}

const total = async (...ds: Device[]) => (await Promise.all(ds.map((d) => d.balanceMinor()))).reduce((x, y) => x + y, 0n);

test('wallet funds its watch over NFC, the watch pays a vending machine over BLE at MTU 23 and returns the rest; value is conserved', async () => {
  const w = makeWorld('device-radios');
  const wallet = await device(w, PROFILES.wallet, 'wallet', 200_000n);
  const watch = await device(w, PROFILES.watch, 'watch');
  const vending = await device(w, PROFILES.vending, 'vending');
  const before = await total(wallet, watch, vending);
  const delegation = await payOver('nfc', wallet, watch, 20_000n);
  assert.deepEqual([delegation.paid.balanceMinor, delegation.got.balanceMinor], [180_000n, 20_000n]);
  const snack = await payOver('ble', watch, vending, 350n); // watch offers 185, vending 23: MTU 23
  assert.deepEqual([snack.paid.balanceMinor, snack.got.balanceMinor, snack.got.resent], [19_650n, 350n, false]);
  const back = await payOver('ble', watch, wallet, 5_000n); // the watch returns value the same way
  assert.deepEqual([back.paid.balanceMinor, back.got.balanceMinor], [14_650n, 185_000n]);
  assert.equal(await total(wallet, watch, vending), before);
  assert.throws(() => new Device({ profile: PROFILES.ring }).transport(memoryLinkPair()[0], 'ble'), RangeError); // a ring has NFC only
});

test('TCP between two processes: a POS in a child process is paid by a wallet in this one', async () => {
  const seed = 'device-tcp';
  const w = makeWorld(seed);
  const script = fileURLToPath(new URL('../../test/support/tcp_peer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, 'payee', '--profile', 'pos', '--amount', '4200', '--seed', seed], {
    cwd: path.resolve(path.dirname(script), '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, string | number | boolean>> = [];
  const next = (event: string) =>
    new Promise<Record<string, string | number | boolean>>((resolve, reject) => {
      const look = () => {
        const hit = lines.find((l) => l.event === event);
        if (hit) resolve(hit);
      };
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        look();
      });
      child.once('exit', (code) => (look(), reject(new Error(`payee process exited with ${code} before "${event}"`))));
      look();
    });
  try {
    const listening = next('listening');
    const wallet = await device(w, PROFILES.wallet, 'wallet-tcp', 30_000n);
    const { port } = await listening;
    const done = next('done');
    const transport = await tcpConnect(Number(port));
    const paid = await wallet.pay(transport);
    transport.close();
    const payee = await done;
    assert.equal(paid.amountMinor, 4_200n);
    assert.equal(paid.balanceMinor, 25_800n);
    assert.deepEqual([payee.amountMinor, payee.balanceMinor, payee.resent], ['4200', '4200', false]);
    assert.equal(30_000n - paid.balanceMinor, BigInt(payee.balanceMinor as string), 'value conserved across the two processes');
  } finally {
    child.kill();
  }
});

test('a link lost after the debit: the re-sent payment is credited once, and a repeat gets the same receipt', async () => {
  const w = makeWorld('device-resend');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-device-'));
  try {
    const wallet = await device(w, PROFILES.wallet, 'wallet-r', 50_000n, dir);
    const pos = await device(w, PROFILES.pos, 'pos-r');
    // The payee's link dies right after the payment leaves the payer: it never sees it.
    const [a, b] = memoryLinkPair();
    const payeeSide = nfcTransport(b);
    const payer = wallet.pay(nfcTransport(a));
    const payee = (async () => {
      const waiting = await new PayeeReady({ buildRequest: (x) => pos.se.buildPaymentRequest(x), accept: (p) => pos.se.acceptPayment(p) }, payeeSide).sendRequest(2_500n);
      await payeeSide.receive(); // the payment arrives ...
      payeeSide.close(); // ... and the link drops before the SE sees it
      return waiting;
    })();
    const lost = await payer.then(() => assert.fail('expected the link to fail'), (e: unknown) => e);
    assert.ok(lost instanceof PayerLinkLost && lost.code === 'LINK_LOST');
    const waiting = await payee;
    assert.equal(await wallet.balanceMinor(), 47_500n);
    assert.equal(await pos.balanceMinor(), 0n);
    // The state a payee already used refuses a second use.
    await assert.rejects(waiting.receivePayment(), (e: unknown) => e instanceof TransportError && e.code === 'CLOSED');
    await assert.rejects(waiting.receivePayment(), (e: unknown) => e instanceof ExchangeError && e.code === 'STATE_USED');
    // New link: the payer answers the payee's new request with the stored payment.
    const resend = async (send: (t: MessageTransport) => Promise<unknown>) => {
      const [c, d] = memoryLinkPair();
      const [out, got] = await Promise.all([send(nfcTransport(c)), pos.receive(nfcTransport(d), 2_500n)]);
      return { out, got };
    };
    // The payer's host crashes and forgets everything; its SE (file NVM) still keeps the payment.
    const restarted = new Device({ profile: PROFILES.wallet, rng: seededRng('restarted'), clock: w.clock, nvm: { kind: 'file', dir } });
    assert.equal((await restarted.se.getUnconfirmedPayments()).length, 1);
    const first = await resend((t) => restarted.resend(t));
    assert.deepEqual([first.got.amountMinor, first.got.resent, first.got.balanceMinor], [2_500n, false, 2_500n]);
    assert.equal(first.got.forCurrentRequest, false, 'the credit answered the request of the lost link, not the one just sent');
    // The receipt reached the SE: the payment is no longer kept.
    assert.deepEqual(await restarted.se.getUnconfirmedPayments(), []);
    // A stale host object re-sending the same payment gets the same receipt; nothing more is credited.
    const second = await resend((t) => lost.resume.resendOver(t));
    assert.deepEqual([second.got.resent, second.got.balanceMinor], [true, 2_500n]);
    assert.deepEqual(second.got.receipt, first.got.receipt);
    assert.equal(await restarted.balanceMinor(), 47_500n);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
