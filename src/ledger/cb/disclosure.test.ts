// Regulator disclosure on both engines: a quorum names the payer of exactly the warranted payment;
// fewer holders, a wrong share, a partial made for another warrant or another payment, a second
// warrant id reused for another payment are all refused; a holder answers only from the stored
// record (a rewritten record is refused); the hash-chained log records every step and detects a
// rewrite.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  gK,
  makeTestIssuer,
  partialDecrypt,
  partialDecryptionToBytes,
  provePayment,
  randomScalar,
  seededRng,
  encodePaymentProof,
} from '../../crypto/index.ts';
import { encodePaymentRecord } from '../../protocol/payment_record.ts';
import { ENGINES, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { migrate } from '../db/migrations.ts';
import { answerWarrant, disclose, fileWarrant, submitPartial, verifyDisclosureLog, type EscrowAuthority } from './disclosure.ts';
import { LedgerError } from '../errors.ts';

const rng = seededRng('disclosure-tests');
const issuer = makeTestIssuer(rng);
const authority: EscrowAuthority = { threshold: 2, verificationKeys: issuer.regulator.shares.map((s) => s.verificationKey) };
const utf8 = (s: string) => new TextEncoder().encode(s);

function payment(k: bigint, counter: number) {
  const pay = provePayment({ params: issuer.params, credential: issuer.issue(k), counter, amountMinor: 700n, context: utf8(`ctx-${counter}`), rng });
  const record = encodePaymentRecord({ context: pay.statement.context, payment: encodePaymentProof(pay.statement, pay.proof) });
  return { pay, record, hash: sha256(record) };
}

const alice = randomScalar(rng);
const bob = randomScalar(rng);
const p1 = payment(alice, 1);
const p2 = payment(bob, 2);

/** A partial made outside answerWarrant: for the warranted payment by default, or for another. */
const partial = (holder: number, warrantId: string, which = p1, paymentId = p1.hash) =>
  partialDecryptionToBytes(
    partialDecrypt({
      share: issuer.regulator.shares[holder]!,
      E1: which.pay.statement.E1,
      E2: which.pay.statement.E2,
      rng,
      warrantId: utf8(warrantId),
      paymentId,
    }),
  );

for (const engine of ENGINES) {
  describe(`regulator disclosure on ${engine}`, () => {
    let fresh: FreshDb;
    before(async () => {
      fresh = await freshDb(engine);
      await migrate(fresh.db, () => 1);
      for (const [p, k, customer] of [
        [p1, alice, 'cus_alice'],
        [p2, bob, 'cus_bob'],
      ] as const) {
        await fresh.db.run(
          'INSERT INTO payment_evidence (payment_hash, epoch, nullifier, fi_id, record, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
          [p.hash, p.pay.statement.epoch, p.pay.statement.N.toBytes(), 'bank-a', p.record, 1n],
        );
        await fresh.db.run(
          'INSERT INTO cb_device_keys (k_point, fi_id, customer_id, device_id, epoch, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
          [gK().mul(k).toBytes(), 'bank-a', customer, sha256(utf8(customer)).slice(0, 16), 42n, 1n],
        );
      }
    });
    after(async () => fresh.cleanup());

    test('a 2-of-3 quorum names the payer of the warranted payment, and only after the quorum', async () => {
      const db = fresh.db;
      await fileWarrant(db, 10, { warrantId: 'w-1', paymentHash: p1.hash, authority: 'District Court', reason: 'inquiry 1' });
      await fileWarrant(db, 11, { warrantId: 'w-1', paymentHash: p1.hash, authority: 'District Court', reason: 'inquiry 1' }); // retry: no effect
      const first = await answerWarrant(db, { share: issuer.regulator.shares[0]!, warrantId: 'w-1', rng });
      assert.deepEqual(await submitPartial(db, 12, authority, { warrantId: 'w-1', partial: first }), { accepted: true, partials: 1 });
      await assert.rejects(disclose(db, 13, authority, 'w-1'), (e: unknown) => e instanceof LedgerError && /1 of the 2/.test(e.message));
      // A holder's partial made for another warrant, and a wrong holder's share, are refused and logged.
      assert.equal((await submitPartial(db, 14, authority, { warrantId: 'w-1', partial: partial(1, 'w-other') })).accepted, false);
      assert.equal((await submitPartial(db, 15, authority, { warrantId: 'w-1', partial: partial(1, 'w-1', p2, p2.hash) })).accepted, false);
      assert.equal((await submitPartial(db, 16, authority, { warrantId: 'w-1', partial: Uint8Array.of(1, 2, 3) })).accepted, false);
      // The right ciphertext bound to another payment id is refused too.
      assert.equal((await submitPartial(db, 16, authority, { warrantId: 'w-1', partial: partial(1, 'w-1', p1, p2.hash) })).accepted, false);
      const third = await answerWarrant(db, { share: issuer.regulator.shares[2]!, warrantId: 'w-1', rng });
      assert.deepEqual(await submitPartial(db, 17, authority, { warrantId: 'w-1', partial: third }), { accepted: true, partials: 2 });
      const who = await disclose(db, 18, authority, 'w-1');
      assert.equal(who.customerId, 'cus_alice');
      assert.deepEqual(who.holders, [1, 3]);
      const log = await verifyDisclosureLog(db);
      assert.deepEqual(log, { intact: true, entries: 8, brokenAt: null }); // warrant, partial, 4 refused, partial, disclosed
      // A disclosed warrant is answered no more.
      await assert.rejects(
        answerWarrant(db, { share: issuer.regulator.shares[1]!, warrantId: 'w-1', rng }),
        (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST' && /expected open/.test(e.message),
      );
    });

    test('answerWarrant() refuses an unknown warrant and a stored record rewritten under its hash', async () => {
      const db = fresh.db;
      await assert.rejects(
        answerWarrant(db, { share: issuer.regulator.shares[0]!, warrantId: 'w-none', rng }),
        (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST' && /no warrant/.test(e.message),
      );
      await fileWarrant(db, 30, { warrantId: 'w-bob', paymentHash: p2.hash, authority: 'District Court', reason: 'inquiry 2' });
      // A database administrator puts Alice's record under Bob's payment hash: the holder refuses it.
      await db.run('UPDATE payment_evidence SET record = $1 WHERE payment_hash = $2', [p1.record, p2.hash]);
      await assert.rejects(
        answerWarrant(db, { share: issuer.regulator.shares[0]!, warrantId: 'w-bob', rng }),
        (e: unknown) => e instanceof LedgerError && e.code === 'EVIDENCE_INVALID',
      );
      await db.run('UPDATE payment_evidence SET record = $1 WHERE payment_hash = $2', [p2.record, p2.hash]);
      const ok = await answerWarrant(db, { share: issuer.regulator.shares[0]!, warrantId: 'w-bob', rng });
      assert.equal((await submitPartial(db, 31, authority, { warrantId: 'w-bob', partial: ok })).accepted, true);
    });

    test('a warrant id cannot be reused for another payment, and an unknown payment cannot be warranted', async () => {
      await assert.rejects(
        fileWarrant(fresh.db, 20, { warrantId: 'w-1', paymentHash: p2.hash, authority: 'District Court', reason: 'inquiry 1' }),
        (e: unknown) => e instanceof LedgerError && e.code === 'IDEMPOTENCY_MISMATCH',
      );
      await assert.rejects(
        fileWarrant(fresh.db, 21, { warrantId: 'w-2', paymentHash: new Uint8Array(32), authority: 'District Court', reason: 'x' }),
        (e: unknown) => e instanceof LedgerError && /no settled payment/.test(e.message),
      );
    });

    test('verifyDisclosureLog() finds a rewritten entry', async () => {
      await fresh.db.run("UPDATE disclosure_log SET body = $1 WHERE seq = $2", ['{"holder":2}', 2n]);
      const log = await verifyDisclosureLog(fresh.db);
      assert.equal(log.intact, false);
      assert.equal(log.brokenAt, 2n);
    });
  });
}
