// Attack (issue 8, finding 4, last paragraph): a curious FI holding a payee's sync batch of ONE
// receipt tries to learn that payment's amount blinding r_a, which would let it (or the CB, which
// keeps every record) open that payment's C_a and prove the amount of one named payment to anyone.
// The promise (DESIGN §3.2, §3.3): the ledger learns Σa per batch and never a single receipt's
// blinding — the report carries a zero-knowledge proof that Σ C_a − Σa·G is a multiple of H, not
// Σ r_a. The attacker scans every 32-byte window of the signed report for a scalar that opens the
// payment's C_a, over one-receipt batches in three epochs, and a broken payee SE's report whose
// opening proof was forged (or moved to another amount) must be refused.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, R_ORDER, bytesToBigintBE, commit } from '../../src/crypto/index.ts';
import { limitsFor, Tier } from '../../src/policy/limits.ts';
import { balanceReportBody, decodeBalanceReport } from '../../src/se/messages.ts';
import { peekEnvelopeBody, signEnvelope } from '../../src/se/signed.ts';
import { SECTIONS } from '../../src/se/state.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { viewRecord } from '../../src/ledger/fi/payment_records.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

const EPOCHS = 3;

/** Every scalar a 32-byte window of `bytes` encodes that opens `C_a` to `amountMinor`. */
function openingsIn(bytes: Uint8Array, C_a: G1Point, amountMinor: bigint): bigint[] {
  const found: bigint[] = [];
  for (let i = 0; i + 32 <= bytes.length; i++) {
    const s = bytesToBigintBE(bytes.subarray(i, i + 32));
    if (s < R_ORDER && commit(amountMinor, s).equals(C_a)) found.push(s);
  }
  return found;
}

const seKey = (d: TestDevice) => SECTIONS.identity.decode(d.backend.read('identity')!).attestationSecretKey;

for (const engine of ENGINES) {
  describe(`a curious FI and one-receipt batches on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `blind-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
    });
    after(async () => net.cleanup());

    test('FI reads a single payment\'s blinding from a one-receipt batch', async () => {
      const payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 60_000n });
      const payee = await newDevice(net, net.fiA, 'payee');
      const epochMs = limitsFor(net.world.policy, Tier.basic).epochMs;
      for (let e = 0; e < EPOCHS; e++) {
        await load(payer, 3_000n, `load-${e}`);
        const amountMinor = 1_000n + BigInt(e) * 7n;
        await pay(payer, payee, amountMinor);
        const batch = await payee.client.exportSyncBatch();
        assert.equal(batch.payments.length, 1, 'a batch of exactly one receipt');
        const view = viewRecord(batch.payments[0]!);
        assert.ok(view.ok);
        const C_a = G1Point.fromBytes(view.view.C_a);
        const body = decodeBalanceReport(peekEnvelopeBody(batch.report, 4096, 'report'));
        assert.equal(body.receivedMinor, amountMinor, 'the FI learns Σa of the batch (DESIGN §3.3)');
        assert.deepEqual(openingsIn(batch.report, C_a, amountMinor), [], `epoch ${e}: the report holds no opening of the payment's C_a`);

        // A broken payee SE cannot move the proof to another amount or forge one.
        const moved = signEnvelope(seKey(payee), balanceReportBody({ ...body, receivedMinor: amountMinor + 1n }));
        await assert.rejects(net.fiA.sync({ report: moved, payments: batch.payments }), (x: unknown) => x instanceof LedgerError && x.code === 'OPENING_INVALID');
        const raw = peekEnvelopeBody(batch.report, 4096, 'report') as Record<string, unknown>;
        const proofField = Object.keys(raw).find((k) => k === 'openingProof' || k === 'blindingSum')!;
        const forged = signEnvelope(seKey(payee), { ...raw, [proofField]: (raw[proofField] as Uint8Array).map((b, i) => (i === 40 ? b ^ 1 : b)) });
        await assert.rejects(net.fiA.sync({ report: forged, payments: batch.payments }), (x: unknown) => x instanceof LedgerError && ['OPENING_INVALID', 'REPORT_INVALID'].includes(x.code));

        const settled = await net.fiA.sync({ report: batch.report, payments: batch.payments });
        assert.deepEqual(settled.outcomes, ['inserted']);
        await payee.client.applySyncAck(settled.ack);
        await syncDevice(payer.client, net.fiA, { keyPrefix: `payer-${e}` });
        await syncDevice(payee.client, net.fiA, { keyPrefix: `payee-${e}` });
        net.world.nowMs += epochMs;
      }
    });
  });
}
