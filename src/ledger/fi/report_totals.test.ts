// The FI's running-totals check at sync on both engines, for the cases the attack suite does not
// walk: an honest device whose first of two unload records never arrived is accepted (unloaded is
// then checked as "at least one minor unit per missing record") and checked exactly once the record
// arrives; a report that prices the missing record at nothing, or claims receipts pending behind a
// short batch, is refused; the flow comparison and the exposure are exact on small numbers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, Tier } from '../../policy/limits.ts';
import { balanceReportBody, decodeBalanceReport } from '../../se/messages.ts';
import { peekEnvelopeBody, signEnvelope } from '../../se/signed.ts';
import { SECTIONS } from '../../se/state.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { LedgerError } from '../errors.ts';
import { brokenSeExposure } from '../exposure.ts';
import { compareFlows } from '../flows.ts';

const code = (c: string) => (e: unknown) => e instanceof LedgerError && e.code === c;
const seKey = (d: TestDevice) => SECTIONS.identity.decode(d.backend.read('identity')!).attestationSecretKey;

for (const engine of ENGINES) {
  describe(`running totals at sync on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `totals-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
    });
    after(async () => net.cleanup());

    test('an unload record that has not arrived is a lower bound until it does; pricing it at nothing is refused', async () => {
      const d = await newDevice(net, net.fiA, 'unloader', { depositMinor: 20_000n });
      await load(d, 9_000n, 'unloader-load');
      const lost = await d.client.makeUnloadRecord(2_000n);
      await d.client.makeUnloadRecord(1_000n);
      const batch = await d.client.exportSyncBatch();
      const body = decodeBalanceReport(peekEnvelopeBody(batch.report, 4096, 'report'));
      assert.deepEqual([body.unloadCounter, body.unloadedTotalMinor, body.balanceMinor], [2n, 3_000n, 6_000n]);
      const forged = (change: Record<string, bigint>) => signEnvelope(seKey(d), balanceReportBody({ ...body, ...change }));
      const last = (await d.client.getLastUnloadRecord())!;
      await assert.rejects(net.fiA.sync({ report: forged({ unloadedTotalMinor: 1_000n, balanceMinor: 8_000n }), payments: [], unloadRecords: [last] }), code('UNLOADED_MISMATCH'));
      await assert.rejects(net.fiA.sync({ report: forged({ receivedPendingMinor: 500n, balanceMinor: 6_500n }), payments: [] }), code('RECEIVED_MISMATCH'));
      const ok = await net.fiA.sync({ report: batch.report, payments: [], unloadRecords: [last] });
      await d.client.applySyncAck(ok.ack);
      assert.equal(ok.renewal.offered, true, 'the honest report is consistent');
      // The lost record turns up: from now on unloaded must equal the records applied exactly.
      await net.fiA.applyUnloadRecord(lost.record);
      const again = await syncDevice(d.client, net.fiA, { keyPrefix: 'unloader-again' });
      assert.equal(again.rounds.at(-1)!.renewal.offered, true);
    });
  });
}

test('compareFlows: no alarm within the in-flight bound, the exact excess beyond it and beyond booked double spends', () => {
  const flows = [
    { fiId: 'a', spentMinor: 1_000n, receivedMinor: 1_500n, inFlightBoundMinor: 300n },
    { fiId: 'b', spentMinor: 700n, receivedMinor: 400n, inFlightBoundMinor: 100n },
  ];
  assert.equal(compareFlows(flows, 0n, false), null, 'received 1 900 ≤ spent 1 700 + bound 400');
  assert.equal(compareFlows(flows, 200n, true), null, 'quiescent: the 200 excess is a booked double spend');
  const alarm = compareFlows(flows, 50n, true);
  assert.ok(alarm);
  assert.deepEqual([alarm.excessMinor, alarm.inFlightBoundMinor, alarm.code], [150n, 0n, 'SPENT_RECEIVED_DISCREPANCY']);
});

test('brokenSeExposure: 2 × L × cap(t) per device, summed per tier', () => {
  const e = brokenSeExposure(DEFAULT_POLICY, new Map([[Tier.iot, 3n], [Tier.full, 2n], [Tier.merchant, 5n]]));
  const byTier = new Map(e.tiers.map((t) => [t.tier, t]));
  assert.equal(byTier.get(Tier.iot)!.totalMinor, 3n * 2n * 32n * 5_000n);
  assert.equal(byTier.get(Tier.full)!.totalMinor, 2n * 2n * 64n * 50_000n);
  assert.equal(byTier.get(Tier.merchant)!.totalMinor, 0n);
  assert.equal(e.totalMinor, 3n * 2n * 32n * 5_000n + 2n * 2n * 64n * 50_000n);
  assert.equal(e.perEpochIfSyncingMinor, 3n * 32n * 5_000n + 2n * 64n * 50_000n);
});
