// `tally device receive` in-process against payers in this process, over TCP on 127.0.0.1: a
// re-sent payment that answers an earlier request of the payee's SE is reported as such
// ("credited-earlier-request", with the request it paid), is not counted as the current sale, and
// the current request stays open for the next payer; if none pays it, the command fails naming
// what it did credit. The payee SE lives in a device directory, as the CLI opens it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRng } from '../crypto/rng.ts';
import { Device, PROFILES, type DeviceProfile } from '../device/index.ts';
import { PayeeReady, PayerLinkLost, memoryLinkPair, resumePayer, nfcTransport, tcpConnect } from '../protocol/index.ts';
import { fundDevice, provisionDevice } from '../../test/support/provision.ts';
import { makeWorld, type World } from '../../test/support/world.ts';
import { parseArgs } from './args.ts';
import { receiveCommand } from './cmd_device_pay.ts';
import { DEVICE_FILE_KIND, seDir, writeDeviceFile } from './device_host.ts';

async function device(w: World, profile: DeviceProfile, name: string, fundMinor = 0n, dir?: string): Promise<Device> {
  const d = new Device({ profile, name, rng: seededRng(`cli/${name}`), clock: w.clock, nvm: dir ? { kind: 'file', dir: seDir(dir) } : { kind: 'memory' } });
  await provisionDevice(w, d);
  if (fundMinor > 0n) await fundDevice(w, d, fundMinor);
  return d;
}

/** Runs `device receive` in this process; `lines` fills as it prints, `port` resolves with its port. */
function startReceive(dir: string, amount: string, waitSeconds: number) {
  const lines: Array<Record<string, unknown>> = [];
  let gotPort: (port: number) => void = () => {};
  const port = new Promise<number>((r) => (gotPort = r));
  const argv = ['--dir', dir, '--amount', amount, '--port', '0', '--wait', String(waitSeconds)];
  const io = {
    out: (l: string) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      lines.push(o);
      if (o['event'] === 'listening') gotPort(o['port'] as number);
    },
    err: () => {},
  };
  const done = receiveCommand.run!(parseArgs(argv, receiveCommand.options), io);
  return { lines, port, done };
}

test('device receive reports a re-sent payment for an earlier request, keeps the current request open, and exits 0 only when it is paid', { timeout: 120_000 }, async () => {
  const w = makeWorld('cli-earlier-request');
  w.nowMs = BigInt(Date.now()); // the CLI's SE runs on the system clock
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-cli-receive-'));
  try {
    const wallet = await device(w, PROFILES.wallet, 'wallet', 50_000n);
    const posSe = await device(w, PROFILES.pos, 'pos', 0n, dir);
    writeDeviceFile(dir, {
      kind: DEVICE_FILE_KIND, profile: 'pos', deviceId: 'pos-test', fiId: w.fiId, fiUrl: 'http://127.0.0.1:9', customer: 'Shop',
      customerId: 'c', accountId: 'a', tier: PROFILES.pos.tier,
    });
    // A sale of 3.00 whose payment never reached the POS SE: the link dropped after the debit.
    const [a, b] = memoryLinkPair();
    const payeeSide = nfcTransport(b);
    const paying = wallet.pay(nfcTransport(a));
    const ready = new PayeeReady({ buildRequest: (x) => posSe.se.buildPaymentRequest(x), accept: (p) => posSe.se.acceptPayment(p) }, payeeSide);
    await ready.sendRequest(300n);
    await payeeSide.receive();
    payeeSide.close();
    await assert.rejects(paying, (e: unknown) => e instanceof PayerLinkLost);
    assert.equal(await wallet.balanceMinor(), 49_700n);

    // The POS now asks for 0.50; the wallet re-sends its stored 3.00 payment first.
    const sale = startReceive(dir, '0.50', 60);
    const port = await sale.port;
    const resent = await wallet.resendLastPayment(await tcpConnect(port));
    assert.equal(resent.balanceMinor, 49_700n, 'a re-send debits nothing');
    // Not yet paid: the command is still waiting (the next line comes only from the next payer).
    const paid = await wallet.pay(await tcpConnect(port), { maxAmountMinor: 50n });
    assert.equal(await sale.done, 0);
    assert.deepEqual(sale.lines.map((l) => l['event']), ['listening', 'credited-earlier-request', 'received']);
    const [, earlier, received] = sale.lines as [unknown, Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual([earlier['amountMinor'], earlier['resent'], earlier['openAmountMinor']], ['300', false, '50']);
    assert.notEqual(earlier['requestId'], earlier['openRequestId']);
    assert.deepEqual([received['amountMinor'], received['requestId'], received['balanceMinor']], ['50', earlier['openRequestId'], '350']);
    // Each credited payment is named by its nullifier (a compressed G1 point), distinct per payment.
    for (const l of [earlier, received]) assert.match(String(l['nullifier']), /^[0-9a-f]{96}$/);
    assert.notEqual(earlier['nullifier'], received['nullifier']);
    assert.equal(paid.amountMinor, 50n, 'the second payer paid the request that stayed open');

    // A new sale of 0.50, but only a repeat of the wallet's last payment (the earlier 0.50, receipted,
    // so its SE no longer keeps it; a host that kept the bytes sends them) arrives: nothing new is
    // credited, the command fails and says what it saw.
    const idle = startReceive(dir, '0.50', 3);
    const again = await resumePayer(paid.payment).resendOver(await tcpConnect(await idle.port));
    assert.equal(again.request, null);
    assert.equal(await wallet.balanceMinor(), 49_650n);
    await assert.rejects(idle.done, (e: unknown) => e instanceof Error && e.name === 'CliError' && /current request for 0\.50 was not paid; credited only 0\.50 \(already credited before\)/.test(e.message));
    assert.deepEqual(idle.lines.map((l) => [l['event'], l['resent'], l['balanceMinor']]), [['listening', undefined, undefined], ['credited-earlier-request', true, '350']]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
