// The nullifier registry: new nullifiers are inserted, the same payment again is a harmless
// duplicate, a different payment with the same nullifier is a reported conflict (double spend),
// and concurrent inserts of one nullifier, from one handle or two, yield exactly one winner; on
// each engine's plain table and on PostgreSQL's hash-partitioned one (db/partition.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REGISTRY_LAYOUTS, fakeClock, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { labelBytes, namedRecord } from '../../../test/ledger/nullifier_records.ts';
import { CbLedger } from './book.ts';
import { LedgerError } from '../errors.ts';
import { insertNullifiers } from './nullifiers.ts';
import { NULLIFIER_BATCH_MAX } from '../limits.ts';

const bytes = labelBytes;
const rec = namedRecord;
const code = (c: string) => (err: unknown) => err instanceof LedgerError && err.code === c;

for (const { engine, label, nullifierPartitions } of REGISTRY_LAYOUTS) {
  describe(`nullifier registry on ${label}`, () => {
    let f: FreshDb;
    let cb: CbLedger;
    before(async () => {
      f = await freshDb(engine);
      cb = await CbLedger.open({ db: f.db, clock: fakeClock(), nullifierPartitions });
    });
    after(async () => f?.cleanup());

    test('reports new, duplicate (same payment) and conflicting (other payment) nullifiers', async () => {
      const first = await cb.insertNullifiers({ items: [rec(1n, 'a', 'p1'), rec(1n, 'b', 'p2'), rec(2n, 'a', 'p3')], idempotencyKey: 'n1' });
      assert.deepEqual(first.outcomes, ['inserted', 'inserted', 'inserted']);
      const second = await cb.insertNullifiers({
        items: [rec(1n, 'a', 'p1'), rec(1n, 'b', 'p9'), rec(1n, 'c', 'p4'), rec(1n, 'c', 'p4')],
        idempotencyKey: 'n2',
      });
      assert.deepEqual(second.outcomes, ['duplicate', 'conflict', 'inserted', 'duplicate']);
      assert.equal(second.inserted, 1);
      assert.equal(second.duplicates, 2);
      assert.equal(second.conflicts.length, 1);
      const c = second.conflicts[0]!;
      assert.equal(c.index, 1);
      assert.deepEqual([...c.paymentHash], [...bytes('P/p9', 32)]);
      assert.deepEqual([...c.existingPaymentHash], [...bytes('P/p2', 32)]);
      const recorded = await cb.nullifierConflicts();
      assert.equal(recorded.length, 1);
      assert.deepEqual([...recorded[0]!.firstPaymentHash], [...bytes('P/p2', 32)]);
      assert.deepEqual([...recorded[0]!.secondPaymentHash], [...bytes('P/p9', 32)]);
      // The same batch under the same key replays its first answer.
      const replay = await cb.insertNullifiers({ items: [rec(1n, 'a', 'p1'), rec(1n, 'b', 'p2'), rec(2n, 'a', 'p3')], idempotencyKey: 'n1' });
      assert.deepEqual(replay, first);
      const audit = await cb.audit();
      assert.deepEqual(audit.violations, []);
      assert.equal(audit.nullifiers, 4n);
      assert.equal(audit.nullifierConflicts, 1n);
    });

    test('refuses malformed batches before writing anything', async () => {
      const good = rec(3n, 'x', 'px');
      await assert.rejects(cb.insertNullifiers({ items: [], idempotencyKey: 'bad-0' }), code('BAD_REQUEST'));
      await assert.rejects(cb.insertNullifiers({ items: [good, { ...good, nullifier: new Uint8Array(47) }], idempotencyKey: 'bad-1' }), code('BAD_REQUEST'));
      await assert.rejects(cb.insertNullifiers({ items: [{ ...good, paymentHash: new Uint8Array(33) }], idempotencyKey: 'bad-2' }), code('BAD_REQUEST'));
      await assert.rejects(cb.insertNullifiers({ items: [{ ...good, epoch: -1n }], idempotencyKey: 'bad-3' }), code('BAD_REQUEST'));
      const many = Array.from({ length: NULLIFIER_BATCH_MAX + 1 }, () => good);
      await assert.rejects(cb.insertNullifiers({ items: many, idempotencyKey: 'bad-4' }), code('BAD_REQUEST'));
      const rows = await f.db.query('SELECT epoch FROM nullifiers WHERE epoch = $1', [3n]);
      assert.equal(rows.length, 0);
    });

    test('concurrent inserts of one nullifier by different payments yield exactly one winner', async () => {
      const other = f.reopen(); // a second connection pool / process on the same database
      const attempts = Array.from({ length: 10 }, (_, i) =>
        insertNullifiers(i % 2 === 0 ? f.db : other, 0, [rec(7n, 'race', `payer-${i}`)]),
      );
      const results = await Promise.all(attempts);
      const winners = results.filter((r) => r.outcomes[0] === 'inserted');
      assert.equal(winners.length, 1);
      assert.equal(results.filter((r) => r.outcomes[0] === 'conflict').length, 9);
      const rows = await f.db.query('SELECT payment_hash FROM nullifiers WHERE epoch = $1', [7n]);
      assert.equal(rows.length, 1);
      const conflicts = await f.db.query('SELECT second_payment_hash FROM nullifier_conflicts WHERE epoch = $1', [7n]);
      assert.equal(conflicts.length, 9);
    });

    test('concurrent copies of the same payment are one insert and the rest duplicates', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => insertNullifiers(f.db, 0, [rec(8n, 'same', 'p')])));
      assert.equal(results.filter((r) => r.outcomes[0] === 'inserted').length, 1);
      assert.equal(results.filter((r) => r.outcomes[0] === 'duplicate').length, 9);
    });
  });
}
