// A device survives a process restart: its NVM is a directory of files, so a second Node process
// that opens the same directory sees the same device (keys, balance, counters) and keeps
// refusing a replayed voucher; a third open in this process sees what the second one did.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { SeClient, transmitTo } from './client.ts';
import { FileBackend } from './nvm.ts';
import { epochNow, issueCredential, loadVoucher, makeWorld, provisionSe } from '../../test/support/world.ts';

const INDEX = fileURLToPath(new URL('./index.ts', import.meta.url));

/** Runs in a fresh Node process: open the SE over `dir`, apply one voucher, replay another. */
const CHILD = `
import { Applet, SeClient, FileBackend, SeError, transmitTo } from ${JSON.stringify(INDEX)};
import { seededRng } from ${JSON.stringify(INDEX.replace(/se[/\\\\]index\.ts$/, 'crypto/rng.ts'))};
const [dir, fresh, replay, now] = process.argv.slice(-4);
const applet = Applet.open({ backend: new FileBackend(dir), rng: seededRng('child'), clock: () => BigInt(now) });
const client = new SeClient(transmitTo(applet));
const before = await client.getInfo();
const after = await client.applyLoadVoucher(Buffer.from(fresh, 'hex'));
let replayCode = 'accepted';
try { await client.applyLoadVoucher(Buffer.from(replay, 'hex')); } catch (e) { replayCode = e instanceof SeError ? e.code : String(e); }
console.log(JSON.stringify({ deviceId: Buffer.from(before.deviceId).toString('hex'), balanceBefore: String(before.balanceMinor),
  balanceAfter: String(after.balanceMinor), credentialEpochs: before.credentialEpochs.map(String), replayCode }));
`;

test('a device reopened by another process keeps its identity, balance, credential and counters', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-persist-'));
  try {
    const w = makeWorld('persistence');
    const open = () => Applet.open({ backend: new FileBackend(dir), rng: seededRng('parent'), clock: w.clock });
    const first = new SeClient(transmitTo(open()));
    const keys = await provisionSe(w, first, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
    const v0 = loadVoucher(w, keys.attestationPublicKey, 0n, 7_000n);
    await first.applyLoadVoucher(v0);
    const epoch = epochNow(w, Tier.basic);
    await issueCredential(w, first, { epoch, tier: Tier.basic, deviceClass: DeviceClass.wallet });
    const v1 = loadVoucher(w, keys.attestationPublicKey, 1n, 3_000n);
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, '--', dir, Buffer.from(v1).toString('hex'), Buffer.from(v0).toString('hex'), String(w.nowMs)],
      { cwd: path.dirname(path.dirname(path.dirname(INDEX))), encoding: 'utf8' },
    );
    const child = JSON.parse(out.trim().split('\n').at(-1)!);
    assert.deepEqual(child, {
      deviceId: Buffer.from(keys.deviceId).toString('hex'),
      balanceBefore: '7000',
      balanceAfter: '10000',
      credentialEpochs: [String(epoch)],
      replayCode: 'VOUCHER_REPLAY',
    });
    const third = new SeClient(transmitTo(open()));
    const info = await third.getInfo();
    assert.equal(info.balanceMinor, 10_000n);
    assert.equal(info.loadCounter, 2n);
    assert.deepEqual(info.credentialEpochs, [epoch]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
