// Attacker: a requester holding a warrant for payment A wants the payer of payment B (issue 8,
// finding 5). A key holder's partial D_i = y_i·E1 decrypts every ciphertext with that E1, so the
// attack has two forms: hand the holders B's ciphertext under A's warrant, or open A legitimately
// and reuse its partials on a payment B whose escrow shares A's E1 (two SEs that drew the same
// escrow randomness — here two payers on one seeded stream, the failure of finding 6). On both
// engines the promise is the same: with a warrant for A, nobody learns who made B.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  G1Point,
  encodePaymentProof,
  gK,
  lagrangeCoefficientsAtZero,
  makeTestIssuer,
  msmVartime,
  partialDecryptionFromBytes,
  partialDecryptionToBytes,
  provePayment,
  randomScalar,
  scalarNeg,
  seededRng,
  type PartialDecryption,
} from '../../src/crypto/index.ts';
import { encodePaymentRecord } from '../../src/protocol/payment_record.ts';
import { migrate } from '../../src/ledger/db/migrations.ts';
import type { Db } from '../../src/ledger/db/adapter.ts';
import { answerWarrant, disclose, fileWarrant, submitPartial, type EscrowAuthority } from '../../src/ledger/cb/disclosure.ts';
import { LedgerError, LedgerErrorCode } from '../../src/ledger/errors.ts';
import { ENGINES, freshDb, type FreshDb } from '../ledger/engines.ts';

const rng = seededRng('attack/escrow-partials');
const issuer = makeTestIssuer(rng);
const authority: EscrowAuthority = { threshold: 2, verificationKeys: issuer.regulator.shares.map((s) => s.verificationKey) };
const utf8 = (s: string) => new TextEncoder().encode(s);

/** One payment by device key k; `stream` is the payer SE's randomness. */
function payment(k: bigint, counter: number, stream: string) {
  const pay = provePayment({
    params: issuer.params,
    credential: issuer.issue(k),
    counter,
    amountMinor: 700n,
    context: utf8(`ctx-${stream}-${counter}`),
    rng: seededRng(stream),
  });
  const record = encodePaymentRecord({ context: pay.statement.context, payment: encodePaymentProof(pay.statement, pay.proof) });
  return { statement: pay.statement, record, hash: sha256(record) };
}

const keys = { alice: randomScalar(rng), bob: randomScalar(rng), carol: randomScalar(rng), dave: randomScalar(rng) };
// Alice's and Bob's SEs replay one stream, so their escrows share E1 (same s, different K).
const paymentA = payment(keys.alice, 1, 'replayed-se-stream');
const paymentShared = payment(keys.bob, 2, 'replayed-se-stream');
const paymentOther = payment(keys.carol, 3, 'carol-own-stream');
// Dave's broken SE reuses its escrow randomness on two of its own payments: same u, same K, so
// the same (E1, E2) — it must not put them beyond a warrant.
const daveFirst = payment(keys.dave, 4, 'dave-stuck-stream');
const daveSecond = payment(keys.dave, 5, 'dave-stuck-stream');

async function seedCb(db: Db): Promise<void> {
  await migrate(db, () => 1);
  for (const [p, who] of [
    [paymentA, 'alice'],
    [paymentShared, 'bob'],
    [paymentOther, 'carol'],
    [daveFirst, 'dave'],
  ] as const) {
    await db.run(
      'INSERT INTO payment_evidence (payment_hash, epoch, nullifier, fi_id, record, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [p.hash, p.statement.epoch, p.statement.N.toBytes(), 'bank-a', p.record, 1n],
    );
    await db.run(
      'INSERT INTO cb_device_keys (k_point, fi_id, customer_id, device_id, epoch, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [gK().mul(keys[who]).toBytes(), 'bank-a', `cus_${who}`, sha256(utf8(who)).slice(0, 16), 42n, 1n],
    );
  }
}

/** The attacker's own combination: K = E2 − Σ λ_i·D_i, no proof checked, then the CB's K registry. */
async function nameByRawCombination(db: Db, E2: G1Point, partials: readonly PartialDecryption[]): Promise<string | null> {
  if (partials.length < authority.threshold) return null;
  const lambdas = lagrangeCoefficientsAtZero(partials.map((p) => p.index));
  const K = msmVartime([E2, ...partials.map((p) => p.D)], [1n, ...lambdas.map(scalarNeg)]);
  const rows = await db.query<{ customer_id: string }>('SELECT customer_id FROM cb_device_keys WHERE k_point = $1', [K.toBytes()]);
  return rows[0]?.customer_id ?? null;
}

/** Asks holders 1 and 3 to answer a warrant; returns the partials they gave and any typed refusals. */
async function askHolders(db: Db, warrantId: string): Promise<{ partials: PartialDecryption[]; refusals: string[] }> {
  const partials: PartialDecryption[] = [];
  const refusals: string[] = [];
  for (const share of [issuer.regulator.shares[0]!, issuer.regulator.shares[2]!]) {
    try {
      // The holder's side reads the ciphertext itself: the requester can name only the warrant.
      const bytes = await answerWarrant(db, { share, warrantId, rng });
      partials.push(partialDecryptionFromBytes(bytes));
    } catch (e) {
      if (!(e instanceof LedgerError)) throw e;
      refusals.push(e.code);
    }
  }
  return { partials, refusals };
}

for (const engine of ENGINES) {
  describe(`escrow partials on ${engine}`, () => {
    let fresh: FreshDb;
    before(async () => {
      fresh = await freshDb(engine);
      await seedCb(fresh.db);
    });
    after(async () => fresh.cleanup());

    test('warrant for payment A opens payment B', async () => {
      const db = fresh.db;
      assert.ok(paymentA.statement.E1.equals(paymentShared.statement.E1), 'set-up: A and B share E1');
      assert.ok(!paymentA.statement.E1.equals(paymentOther.statement.E1), 'set-up: C has its own E1');

      // Shared E1: Bob's payment B reuses the escrow randomness of Alice's payment A. Opening A
      // would open B, so both holders refuse A's warrant with a typed error, and nothing they
      // give under it names Bob (on today's main they answer, and their partials name Bob).
      await fileWarrant(db, 10, { warrantId: 'w-A', paymentHash: paymentA.hash, authority: 'District Court', reason: 'inquiry A' });
      const onA = await askHolders(db, 'w-A');
      assert.equal(await nameByRawCombination(db, paymentShared.statement.E2, onA.partials), null, 'a warrant for A named the payer of B');
      assert.equal(await nameByRawCombination(db, paymentOther.statement.E2, onA.partials), null, 'a warrant for A named the payer of C');
      assert.deepEqual(onA.refusals, [LedgerErrorCode.escrowShared, LedgerErrorCode.escrowShared]);
      await assert.rejects(disclose(db, 12, authority, 'w-A'), (e: unknown) => e instanceof LedgerError);

      // Own E1: a warrant for Carol's payment C. The holders decrypt only C's stored escrow (the
      // requester cannot hand them A's or B's ciphertext, which on today's main opened them), so
      // the partials name neither Alice nor Bob, and the quorum names Carol alone.
      await fileWarrant(db, 13, { warrantId: 'w-C', paymentHash: paymentOther.hash, authority: 'District Court', reason: 'inquiry C' });
      const onC = await askHolders(db, 'w-C');
      assert.deepEqual(onC.refusals, []);
      assert.equal(await nameByRawCombination(db, paymentA.statement.E2, onC.partials), null, 'a warrant for C named the payer of A');
      assert.equal(await nameByRawCombination(db, paymentShared.statement.E2, onC.partials), null, 'a warrant for C named the payer of B');
      for (const p of onC.partials) {
        assert.equal((await submitPartial(db, 14, authority, { warrantId: 'w-C', partial: partialDecryptionToBytes(p) })).accepted, true);
      }
      assert.equal((await disclose(db, 15, authority, 'w-C')).customerId, 'cus_carol');
    });

    test('a broken SE that reuses its escrow randomness on its own payments does not escape a warrant', async () => {
      const db = fresh.db;
      assert.ok(daveFirst.statement.E1.equals(daveSecond.statement.E1) && daveFirst.statement.E2.equals(daveSecond.statement.E2));
      await db.run(
        'INSERT INTO payment_evidence (payment_hash, epoch, nullifier, fi_id, record, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
        [daveSecond.hash, daveSecond.statement.epoch, daveSecond.statement.N.toBytes(), 'bank-a', daveSecond.record, 2n],
      );
      await fileWarrant(db, 20, { warrantId: 'w-D', paymentHash: daveFirst.hash, authority: 'District Court', reason: 'inquiry D' });
      const onD = await askHolders(db, 'w-D');
      assert.deepEqual(onD.refusals, [], 'the same E1 under the same E2 is one payer: the holders answer');
      for (const p of onD.partials) {
        assert.equal((await submitPartial(db, 21, authority, { warrantId: 'w-D', partial: partialDecryptionToBytes(p) })).accepted, true);
      }
      assert.equal((await disclose(db, 22, authority, 'w-D')).customerId, 'cus_dave');
    });
  });
}
