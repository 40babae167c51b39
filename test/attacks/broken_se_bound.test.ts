// Attack (issue 8, finding 7): the bound on a fully broken SE. A broken SE that never reuses a
// counter is never identified, so the README's "L × cap(t) per epoch before it is cut off" only
// holds if (1) it cannot renew without a sync whose SE-signed running totals are consistent with
// what its FI knows, (2) totals that do not add up are refused with a typed error, and (3) value it
// spends and hides from its totals shows up as a discrepancy between aggregate spent and received.
// The broken SE is simulated as the attacker would run it: its NVM is edited (balance minted,
// totals rewritten) and the applet reopened, or its extracted attestation key signs a report.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { limitsFor, Tier } from '../../src/policy/limits.ts';
import { balanceReportBody, decodeBalanceReport } from '../../src/se/messages.ts';
import { peekEnvelopeBody, signEnvelope } from '../../src/se/signed.ts';
import { SECTIONS } from '../../src/se/state.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { auditNetwork, formatNetworkAudit } from '../../src/ledger/network_audit.ts';
import { runCli } from '../../src/cli/main.ts';
import { ENGINES, type FreshDb } from '../ledger/engines.ts';
import { fundFi, issueCredential, load, newDevice, openOfflineNet, openSe, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const EPOCHS = 3;
const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;

/** Rewrites the SE's wallet cell as a chip-level attacker would, and reopens the applet over it. */
function tamperWallet(net: OfflineNet, d: TestDevice, change: (w: Record<string, bigint>) => void): TestDevice {
  const wallet = SECTIONS.wallet.decode(d.backend.read('wallet')!) as unknown as Record<string, bigint>;
  change(wallet);
  d.backend.write('wallet', SECTIONS.wallet.encode(wallet as never));
  return { ...d, ...openSe(net, `${d.name}-tampered-${d.backend.cells.size}-${wallet['balanceMinor']}`, d.backend) };
}
const bump = (w: Record<string, bigint>, key: string, by: bigint) => {
  if (key in w) w[key] = w[key]! + by;
};

const dbArg = (d: FreshDb): string => (d.spec.engine === 'sqlite' ? `sqlite:${d.spec.filename}` : d.spec.connectionString);

const seKey = (d: TestDevice) => SECTIONS.identity.decode(d.backend.read('identity')!).attestationSecretKey;

for (const engine of ENGINES) {
  describe(`the broken-SE bound on ${engine}`, () => {
    let net: OfflineNet;
    let epochMs: bigint;
    before(async () => {
      net = await openOfflineNet(engine, `bound-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      epochMs = limitsFor(net.world.policy, Tier.basic).epochMs;
    });
    after(async () => net.cleanup());

    test('broken SE that never syncs keeps renewing', async () => {
      const broken = await newDevice(net, net.fiA, 'silent', { depositMinor: 10_000n });
      const honest = await newDevice(net, net.fiA, 'syncing', { depositMinor: 10_000n });
      await load(broken, 5_000n, 'silent-load');
      const first = (await broken.client.getInfo()).credentialEpochs;
      assert.equal(first.length, 1, 'the first credential after enrolment is granted without a sync');
      for (let e = 1; e <= EPOCHS; e++) {
        net.world.nowMs += epochMs;
        await assert.rejects(issueCredential(broken, `silent/renew-${e}`), code('SYNC_REQUIRED'), `epoch +${e}: no renewal without a sync`);
        await assert.rejects(net.fiA.startIssuance({ deviceId: broken.deviceId }), code('SYNC_REQUIRED'));
        const synced = await syncDevice(honest.client, net.fiA, { keyPrefix: `syncing-${e}` });
        assert.equal(synced.rounds.at(-1)!.renewal.offered, true, 'a device that syncs renews every epoch');
        assert.notEqual(synced.renewedEpoch, null);
      }
      assert.deepEqual((await broken.client.getInfo()).credentialEpochs, first, 'still only the enrolment credential');
      // One consistent sync re-opens renewal, for one credential at a time.
      const back = await syncDevice(broken.client, net.fiA, { keyPrefix: 'silent-back' });
      assert.notEqual(back.renewedEpoch, null);
      await assert.rejects(net.fiA.startIssuance({ deviceId: broken.deviceId, epoch: back.renewedEpoch! + 1n }), code('SYNC_REQUIRED'));
    });

    test('SE reports running totals that do not add up', async () => {
      let liar = await newDevice(net, net.fiA, 'liar', { depositMinor: 20_000n });
      await load(liar, 8_000n, 'liar-load');
      const ok = await syncDevice(liar.client, net.fiA, { keyPrefix: 'liar-0' });
      assert.notEqual(ok.renewedEpoch, null, 'a consistent sync renews');
      const accepted = await net.fiA.device(liar.deviceId);

      net.world.nowMs += epochMs;
      // Minted balance, with the loaded total raised to match: the FI issued no such voucher.
      liar = tamperWallet(net, liar, (w) => {
        w['balanceMinor'] = w['balanceMinor']! + 3_000n;
        bump(w, 'loadedTotalMinor', 3_000n);
      });
      await assert.rejects(syncDevice(liar.client, net.fiA, { keyPrefix: 'liar-1' }), code('LOADED_MISMATCH'));
      assert.deepEqual(await net.fiA.device(liar.deviceId), accepted, 'a refused report changes nothing');
      await assert.rejects(net.fiA.startIssuance({ deviceId: liar.deviceId, epoch: net.world.nowMs / epochMs + 1n }), code('SYNC_REQUIRED'));

      // The extracted key signs whatever the attacker likes: each inconsistency has its own code.
      const batch = await liar.client.exportSyncBatch();
      const body = decodeBalanceReport(peekEnvelopeBody(batch.report, 4096, 'report')) as unknown as Record<string, unknown>;
      const lie = (change: Record<string, unknown>) =>
        net.fiA.sync({ report: signEnvelope(seKey(liar), balanceReportBody({ ...body, ...change } as never)), payments: batch.payments });
      const honestTotals = { balanceMinor: 8_000n, loadedTotalMinor: 8_000n };
      await assert.rejects(lie({ ...honestTotals, balanceMinor: 7_000n }), code('BALANCE_IDENTITY'));
      await assert.rejects(lie({ balanceMinor: 7_000n, loadedTotalMinor: 7_000n }), code('TOTALS_DECREASED'));
      await assert.rejects(lie({ ...honestTotals, balanceMinor: 9_000n, receivedTotalMinor: 1_000n }), code('RECEIVED_MISMATCH'));
      await assert.rejects(lie({ ...honestTotals, balanceMinor: 7_000n, unloadedTotalMinor: 1_000n }), code('UNLOADED_MISMATCH'));
      for (let e = 2; e <= EPOCHS; e++) {
        net.world.nowMs += epochMs;
        await assert.rejects(net.fiA.startIssuance({ deviceId: liar.deviceId }), code('SYNC_REQUIRED'), `epoch +${e}: still no renewal`);
      }
      assert.deepEqual(await net.fiA.device(liar.deviceId), accepted);
    });

    test('broken SE spends value it hides from its totals: the CB raises a discrepancy alarm', async () => {
      let hider = await newDevice(net, net.fiA, 'hider', { depositMinor: 20_000n });
      const payee = await newDevice(net, net.fiA, 'hider-payee');
      await load(hider, 5_000n, 'hider-load');
      await syncDevice(hider.client, net.fiA, { keyPrefix: 'hider-0' });
      hider = tamperWallet(net, hider, (w) => {
        w['balanceMinor'] = w['balanceMinor']! + 4_000n;
        bump(w, 'loadedTotalMinor', 4_000n);
      });
      await pay(hider, payee, 4_000n);
      hider = tamperWallet(net, hider, (w) => {
        bump(w, 'loadedTotalMinor', -4_000n);
        bump(w, 'spentTotalMinor', -4_000n);
      });
      for (const d of [hider, payee]) await syncDevice(d.client, net.fiA, { keyPrefix: `${d.name}-1` });
      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      const alarms = (audit as unknown as { alarms?: Array<{ code: string; excessMinor: bigint }> }).alarms ?? [];
      assert.equal(alarms.length, 1, `one discrepancy alarm:\n${formatNetworkAudit(audit)}`);
      assert.equal(alarms[0]!.code, 'SPENT_RECEIVED_DISCREPANCY');
      assert.equal(alarms[0]!.excessMinor, 4_000n, 'the alarm names the amount');
      assert.match(formatNetworkAudit(audit), /received exceeds spent by 4000/);
      const rows = await net.cb.db.query('SELECT excess_minor FROM discrepancy_alarms');
      assert.equal(rows.length, 1);
      assert.equal(BigInt(rows[0]!['excess_minor'] as bigint), 4_000n);
    });

    test('tally exposure prints the bound for the live devices: 2 × L × cap(t) each', async () => {
      const devices = BigInt((await net.fiA.devices()).filter((d) => d.tier === Tier.basic).length);
      const perDevice = 2n * 64n * 20_000n;
      const e = await net.fiA.exposure();
      const tier1 = e.tiers.find((t) => t.tier === Tier.basic)!;
      assert.deepEqual([tier1.devices, tier1.perCredentialMinor, tier1.perDeviceMinor, tier1.totalMinor], [devices, 64n * 20_000n, perDevice, devices * perDevice]);
      const out: string[] = [];
      const exit = await runCli(['exposure', '--db', dbArg(net.dbs[1]!), '--db', dbArg(net.dbs[2]!), '--cb-db', dbArg(net.dbs[0]!), '--json'], { out: (l) => out.push(l), err: (l) => out.push(l) });
      assert.equal(exit, 0);
      const json = JSON.parse(out.join('\n')) as { exposure: { totalMinor: string; credentialsWithoutSyncMax: string } };
      assert.equal(json.exposure.totalMinor, String(devices * perDevice));
      assert.equal(json.exposure.credentialsWithoutSyncMax, '2');
      const text: string[] = [];
      await runCli(['exposure', '--db', dbArg(net.dbs[1]!), '--cb-db', dbArg(net.dbs[0]!)], { out: (l) => text.push(l), err: (l) => text.push(l) });
      assert.match(text.join('\n'), new RegExp(`tier 1: ${devices} device\\(s\\) × 2 × L 64 × cap 20000 = ${devices * perDevice}`));
    });
  });
}
