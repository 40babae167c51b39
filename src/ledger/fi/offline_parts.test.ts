// The offline ledger's parts on their own: the FI's cheap record reader agrees with the protocol's
// decoder, the worker pool and the in-thread verifier find the same forgeries, issuer keys are a
// pure function of (master, epoch), and the CB's published versions only increase.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodePaymentProof, makeTestIssuer, provePayment, randomScalar, seededRng } from '../../crypto/index.ts';
import { DEFAULT_POLICY, Tier } from '../../policy/limits.ts';
import { verifyPolicy } from '../../policy/policy_codec.ts';
import { decodePaymentRecordFull, encodePaymentRecord } from '../../protocol/payment_record.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { newDevice, openOfflineNet, type OfflineNet } from '../../../test/ledger/offline_world.ts';
import { signedHeaders } from '../access/device_requests.ts';
import { LedgerError } from '../errors.ts';
import { IssuerKeys } from '../cb/issuer_keys.ts';
import { viewRecord } from './payment_records.ts';
import { VerifyPool, verifyChunkSize } from '../verify/verify_pool.ts';
import { VERIFY_CHUNK_MAX, VERIFY_CHUNK_MIN } from '../limits.ts';
import { createOfflineEmbeddedApp } from '../http/apps.ts';
import { bearer, tokenFor } from '../../../test/ledger/credentials.ts';
import { hexToBytes } from '@noble/hashes/utils.js';

const rng = seededRng('offline-parts');
const issuer = makeTestIssuer(rng, { capMinor: 20_000n, paymentsPerEpoch: 64 });
const credential = issuer.issue(randomScalar(rng), { epoch: 9n, tier: 1n, deviceClass: 0n });
const proofs = [0, 1, 2].map((i) => {
  const context = new TextEncoder().encode(`ctx-${i}`);
  const r = provePayment({ params: issuer.params, credential, counter: i, amountMinor: 100n * BigInt(i + 1), context, rng });
  return { ...r, record: encodePaymentRecord({ context, payment: encodePaymentProof(r.statement, r.proof) }) };
});
const items = (records: Uint8Array[]) =>
  records.map((record) => ({ record, issuerKey: issuer.params.issuerKey.toBytes(), capMinor: 20_000n, paymentsPerEpoch: 64 }));
const flip = (b: Uint8Array, at: number) => Uint8Array.from(b, (x, j) => (j === at ? x ^ 1 : x));

test('viewRecord reads the same epoch, tier, N and C_a as the protocol decoder, and refuses bad framing', () => {
  for (const p of proofs) {
    const v = viewRecord(p.record);
    assert.ok(v.ok);
    const full = decodePaymentRecordFull(p.record);
    assert.equal(v.view.epoch, full.statement.epoch);
    assert.equal(v.view.tier, full.statement.tier);
    assert.equal(bytesToHex(v.view.nullifier), bytesToHex(p.statement.N.toBytes()));
    assert.equal(bytesToHex(v.view.C_a), bytesToHex(p.statement.C_a.toBytes()));
  }
  assert.equal(viewRecord(proofs[0]!.record.slice(0, -1)).ok, false);
  assert.equal(viewRecord(flip(proofs[0]!.record, 0)).ok, false);
  assert.equal(viewRecord(new Uint8Array(2)).ok, false);
});

describe('verification pool', () => {
  const pool = new VerifyPool(2);
  after(() => pool.close());
  test('worker threads and the in-thread path find the same forgeries and the same Σ C_a', async () => {
    const regulatorKey = issuer.params.regulatorKey.toBytes();
    const tampered = flip(proofs[1]!.record, proofs[1]!.record.length - 40);
    const batch = items([proofs[0]!.record, tampered, proofs[2]!.record, proofs[1]!.record]);
    const inThread = await new VerifyPool(0).verify(batch, regulatorKey, 's');
    const workers = await pool.verify(batch, regulatorKey, 's');
    assert.deepEqual(workers.failed, [1]);
    assert.deepEqual(inThread.failed, [1]);
    const good = await pool.verify(items(proofs.map((p) => p.record)), regulatorKey);
    assert.deepEqual(good.failed, []);
    assert.ok(good.sumCa.equals(proofs[0]!.statement.C_a.add(proofs[1]!.statement.C_a).add(proofs[2]!.statement.C_a)));
    const otherIssuer = makeTestIssuer(seededRng('other'));
    const wrongKey = batch.map((it) => ({ ...it, issuerKey: otherIssuer.params.issuerKey.toBytes() }));
    assert.deepEqual((await pool.verify(wrongKey, regulatorKey)).failed, [0, 1, 2, 3]);
  });

  test('a batch of more chunks than workers is verified whole, with failures at their batch positions', async () => {
    const regulatorKey = issuer.params.regulatorKey.toBytes();
    const records = Array.from({ length: 37 }, (_, i) => proofs[i % 3]!.record);
    records[5] = flip(records[5]!, records[5]!.length - 40);
    records[33] = flip(records[33]!, 200);
    assert.ok(Math.ceil(records.length / verifyChunkSize(records.length, 2)) > 2, 'the batch spans more chunks than workers');
    const out = await pool.verify(items(records), regulatorKey, 'q');
    assert.deepEqual(out.failed, [5, 33]);
    const inThread = await new VerifyPool(0).verify(items(records), regulatorKey, 'q');
    assert.deepEqual(inThread.failed, [5, 33]);
    assert.ok(out.sumCa.equals(inThread.sumCa));
  });
});

test('verifyChunkSize() stays within the chunk bounds and gives each worker several chunks of a full batch', () => {
  for (const workers of [0, 1, 2, 3, 8]) {
    for (const count of [0, 1, 15, 16, 17, 100, 256, 1000]) {
      const size = verifyChunkSize(count, workers);
      assert.ok(size >= 1 && size <= VERIFY_CHUNK_MAX, `${count} over ${workers}: ${size}`);
      if (workers > 0) assert.ok(size >= Math.min(VERIFY_CHUNK_MIN, VERIFY_CHUNK_MAX), `${count} over ${workers}: ${size}`);
    }
  }
  assert.equal(verifyChunkSize(256, 0), VERIFY_CHUNK_MAX, 'in-thread: as few chunks as the bound allows');
  assert.equal(Math.ceil(256 / verifyChunkSize(256, 2)), 8, '256 receipts over 2 workers: 4 chunks each');
});

test('issuer keys are a pure function of the master secret and the epoch', () => {
  const a = new IssuerKeys(new Uint8Array(32).fill(7));
  const b = new IssuerKeys(new Uint8Array(32).fill(7));
  assert.ok(a.forEpoch(5n).publicKey.equals(b.forEpoch(5n).publicKey));
  assert.ok(!a.forEpoch(5n).publicKey.equals(a.forEpoch(6n).publicKey));
  assert.throws(() => new IssuerKeys(new Uint8Array(16)));
});

for (const engine of ENGINES) {
  describe(`CB distribution on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `parts-${engine}`, { verifyWorkers: 0 });
    });
    after(async () => net.cleanup());
    test('policy versions only increase and every document verifies under the CB key', async () => {
      const d1 = await net.cb.distribution(Tier.basic);
      assert.equal(d1.policyVersion, 1n);
      assert.equal(d1.revocationVersion, 1n);
      const epochs = d1.issuerKeys.map((k) => k.epoch);
      assert.ok(epochs.includes(d1.currentEpoch) && epochs.includes(d1.currentEpoch + 1n), 'own tier: current and next epoch');
      const full = await net.cb.distribution(Tier.full);
      assert.ok(epochs.includes(full.currentEpoch), 'a 7-day tier also gets the 14-day tier\'s current key');
      assert.ok(verifyPolicy(d1.signedPolicy, net.cb.publicKey).ok);
      await assert.rejects(net.cb.setPolicy({ policy: DEFAULT_POLICY, idempotencyKey: 'p1' }), (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST');
      await net.cb.setPolicy({ policy: { ...DEFAULT_POLICY, version: 2n }, idempotencyKey: 'p2' });
      const d2 = await net.cb.distribution(Tier.basic);
      assert.equal(d2.policyVersion, 2n);
      const v = verifyPolicy(d2.signedPolicy, net.cb.publicKey);
      assert.ok(v.ok && v.value.version === 2n);
      await assert.rejects(net.cb.distribution(9), (e: unknown) => e instanceof LedgerError);
    });

    test('the embedded HTTP app serves the distribution, the network audit and typed refusals', async () => {
      const app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
      try {
        const dist = await app.inject({ method: 'GET', url: '/cb/distribution/1' });
        assert.equal(dist.statusCode, 200);
        assert.ok(verifyPolicy(hexToBytes(dist.json().signedPolicy as string), net.cb.publicKey).ok);
        // The network audit is for the CB's auditors (access/gate.ts): a token of the CB node.
        assert.equal((await app.inject({ method: 'GET', url: '/audit/network?quiescent=1' })).statusCode, 401);
        const audit = await app.inject({ method: 'GET', url: '/audit/network?quiescent=1', headers: bearer(await tokenFor(net.cb.db, 'auditor')) });
        assert.equal(audit.statusCode, 200);
        assert.equal(audit.json().clean, true);
        const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object, headers: { 'idempotency-key': 'k1' } });
        // A sync body is checked only once an enrolled device's SE has signed the request.
        const caller = await newDevice(net, net.fiA, 'sync-caller');
        const signedPost = async (url: string, payload: unknown) => {
          const body = JSON.stringify(payload);
          const headers = await signedHeaders(caller.client, 'POST', url, body);
          return app.inject({ method: 'POST', url, payload: body, headers: { ...headers, 'content-type': 'application/json' } });
        };
        assert.deepEqual((await post('/fi/fi-a/sync', { report: 'zz', payments: [] })).json().error.code, 'UNAUTHENTICATED');
        const badSync = await signedPost('/fi/fi-a/sync', { report: 'zz', payments: [] });
        assert.deepEqual([badSync.statusCode, badSync.json().error.code], [400, 'BAD_REQUEST']);
        const notCbor = await signedPost('/fi/fi-a/sync', { report: 'a0', payments: [] });
        assert.deepEqual([notCbor.statusCode, notCbor.json().error.code], [400, 'BAD_REQUEST']);
        // A device route without the device's signature (device_requests.ts) is refused before any lookup.
        const unknown = await post(`/fi/fi-b/devices/${'00'.repeat(16)}/vouchers`, { amountMinor: '5', loadCounter: '0' });
        assert.deepEqual([unknown.statusCode, unknown.json().error.code], [401, 'UNAUTHENTICATED']);
      } finally {
        await app.close();
      }
    });
  });
}
