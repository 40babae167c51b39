// The CB's nullifier registry as PostgreSQL hash partitions (partition.ts): the layout a fresh CB
// gets (same columns, CHECKs and key names as the migrations' plain tables, each key containing
// the partition key), rows really spread over the partitions, one nullifier's rows in the
// same-numbered partition of every registry table, UNIQUE(epoch, nullifier) enforced by the
// database across partitions, conversion of a populated plain registry that keeps its answers,
// and the setup's idempotence and refusals. The registry's own cases run on this layout too
// (nullifiers.test.ts, double_spend.test.ts and reclaim.test.ts loop over REGISTRY_LAYOUTS).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { labelBytes, namedRecord } from '../../../test/ledger/nullifier_records.ts';
import { CbLedger } from '../cb/book.ts';
import { NULLIFIER_PARTITIONS_MAX } from '../limits.ts';
import { insertNullifiers } from '../cb/nullifiers.ts';
import { isUniqueViolation, rowBigint, rowString, type Queryable } from './adapter.ts';
import { migrate } from './migrations.ts';
import { NULLIFIER_PARTITIONED_TABLES, partitionNullifierRegistry, tableLayout } from './partition.ts';

const N = 8;
const TABLES = NULLIFIER_PARTITIONED_TABLES.map((t) => t.name);

const bytes = labelBytes;
const rec = namedRecord;

/** Rows per partition of `table`, by partition name. */
async function spread(q: Queryable, table: string): Promise<Map<string, bigint>> {
  const rows = await q.query(`SELECT CAST(tableoid::regclass AS TEXT) AS part, COUNT(*) AS n FROM ${table} GROUP BY 1 ORDER BY 1`);
  return new Map(rows.map((r) => [rowString(r, 'part'), rowBigint(r, 'n')]));
}

/** Columns, CHECKs and keys of a table as the catalogs state them, comparable across layouts. */
async function shape(q: Queryable, table: string) {
  const columns = await q.query(
    'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
    [table],
  );
  const checks = await q.query(
    "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c' ORDER BY conname",
    [table],
  );
  const keys = await q.query(
    'SELECT CAST(i.indexrelid::regclass AS TEXT) AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique ORDER BY 1',
    [table],
  );
  // A partitioned table's index is declared ON ONLY the parent; its definition is otherwise the same.
  return { columns, checks, keys: keys.map((k) => ({ name: rowString(k, 'name'), def: rowString(k, 'def').replace(' ON ONLY ', ' ON ') })) };
}

async function plainCb(): Promise<{ f: FreshDb; cb: CbLedger }> {
  const f = await freshDb('postgres');
  return { f, cb: await CbLedger.open({ db: f.db, clock: fakeClock() }) };
}

describe('nullifier registry in PostgreSQL hash partitions', () => {
  let part: FreshDb;
  let cb: CbLedger;
  before(async () => {
    part = await freshDb('postgres');
    cb = await CbLedger.open({ db: part.db, clock: fakeClock(), nullifierPartitions: N });
  });
  after(async () => part?.cleanup());

  test('a fresh CB gets every registry table hash-partitioned on the nullifier, shaped as the plain one', async () => {
    const plain = await plainCb();
    try {
      for (const table of TABLES) {
        const l = await tableLayout(part.db, table);
        assert.equal(l.layout, 'hash', table);
        assert.equal(l.partitionKey, 'nullifier', table);
        assert.equal(l.modulus, N, table);
        assert.deepEqual(l.partitions, Array.from({ length: N }, (_, r) => `${table}_p${r}`));
        assert.equal((await tableLayout(plain.f.db, table)).layout, 'plain', table);
        assert.deepEqual(await shape(part.db, table), await shape(plain.f.db, table), `${table}: columns, CHECKs and unique keys`);
        // Each partition enforces the key itself: one unique index per partition.
        const perPartition = await part.db.query(
          'SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_inherits h JOIN pg_index i ON i.indrelid = h.inhrelid AND i.indisunique WHERE h.inhparent = to_regclass($1)',
          [table],
        );
        assert.equal(rowBigint(perPartition[0]!, 'n'), BigInt(N), table);
      }
      const key = (await shape(part.db, 'nullifiers')).keys;
      assert.deepEqual(key.map((k) => k.name), ['nullifiers_epoch_nullifier']);
      assert.match(key[0]!.def, /UNIQUE INDEX .* \(epoch, nullifier\)$/);
    } finally {
      await plain.f.cleanup();
    }
  });

  test('inserts spread over every partition; UNIQUE(epoch, nullifier) holds across them, per epoch', async () => {
    const batch = Array.from({ length: 256 }, (_, i) => rec(BigInt(100 + (i % 2)), `spread-${i}`, `spread-p${i}`));
    const first = await insertNullifiers(part.db, 0, batch);
    assert.equal(first.inserted, 256);
    const counts = await spread(part.db, 'nullifiers');
    assert.equal(counts.size, N, `rows in ${[...counts.keys()].join(', ')}`);
    assert.equal([...counts.values()].reduce((a, b) => a + b, 0n), 256n);
    // The same batch again is all duplicates; another payment for each nullifier is all conflicts.
    assert.equal((await insertNullifiers(part.db, 0, batch)).duplicates, 256);
    const again = await insertNullifiers(part.db, 0, batch.map((r, i) => ({ ...r, paymentHash: bytes(`P/other-${i}`, 32) })));
    assert.equal(again.conflicts.length, 256);
    assert.equal((await spread(part.db, 'nullifier_conflicts')).size, N);
    // The key is (epoch, nullifier), not the nullifier alone: the same nullifier in the next epoch is new.
    const next = await insertNullifiers(part.db, 0, [{ ...batch[0]!, epoch: 102n }]);
    assert.deepEqual(next.outcomes, ['inserted']);
    // The database itself refuses a second row, whatever the statement.
    await assert.rejects(
      part.db.run('INSERT INTO nullifiers (epoch, nullifier, payment_hash, created_ms) VALUES ($1, $2, $3, 0)', [batch[0]!.epoch, batch[0]!.nullifier, bytes('P/x', 32)]),
      (e: unknown) => isUniqueViolation(e),
    );
  });

  test("a nullifier's registry row, conflicts and reclaim sit in the same-numbered partition, which refuses other nullifiers", async () => {
    for (let i = 0; i < 16; i++) {
      const n = bytes(`N/co-${i}`, 48);
      await part.db.run('INSERT INTO nullifiers (epoch, nullifier, payment_hash, created_ms) VALUES (200, $1, $2, 0)', [n, bytes(`P/co-${i}`, 32)]);
      await part.db.run(
        'INSERT INTO nullifier_conflicts (epoch, nullifier, first_payment_hash, second_payment_hash, detected_ms) VALUES (200, $1, $2, $3, 0)',
        [n, bytes(`P/co-${i}`, 32), bytes(`P/co2-${i}`, 32)],
      );
      await part.db.run(
        "INSERT INTO reclaims (epoch, nullifier, payment_hash, fi_id, amount_minor, created_ms) VALUES (200, $1, $2, 'fi-a', 1, 0)",
        [n, bytes(`P/co-${i}`, 32)],
      );
      const where = await part.db.query(
        `SELECT (SELECT CAST(tableoid::regclass AS TEXT) FROM nullifiers WHERE epoch = 200 AND nullifier = $1) AS a,
                (SELECT CAST(tableoid::regclass AS TEXT) FROM nullifier_conflicts WHERE epoch = 200 AND nullifier = $1) AS b,
                (SELECT CAST(tableoid::regclass AS TEXT) FROM reclaims WHERE epoch = 200 AND nullifier = $1) AS c`,
        [n],
      );
      const suffix = (s: string) => /_p(\d+)$/.exec(s)?.[1];
      const [a, b, c] = ['a', 'b', 'c'].map((k) => suffix(rowString(where[0]!, k)));
      assert.ok(a !== undefined);
      assert.deepEqual([b, c], [a, a], `nullifier co-${i}`);
      // Written straight into another partition, the row is refused (check_violation: partition constraint).
      const wrong = `nullifiers_p${(Number(a) + 1) % N}`;
      await assert.rejects(
        part.db.run(`INSERT INTO ${wrong} (epoch, nullifier, payment_hash, created_ms) VALUES (201, $1, $2, 0)`, [n, bytes(`P/co-${i}`, 32)]),
        (e: unknown) => (e as { code?: string }).code === '23514',
      );
    }
  });

  test('opening again with the same count changes nothing; another count, a bad count or SQLite is refused', async () => {
    const before = await spread(part.db, 'nullifiers');
    assert.deepEqual(await partitionNullifierRegistry(part.db, { partitions: N }), { partitions: N, converted: [] });
    await CbLedger.open({ db: part.db, clock: fakeClock(), nullifierPartitions: N });
    assert.deepEqual(await migrate(part.db, () => 0), []);
    await assert.rejects(partitionNullifierRegistry(part.db, { partitions: N * 2 }), /has 8 partitions of modulus 8, not 16 \(repartitioning is not built\)/);
    await assert.rejects(CbLedger.open({ db: part.db, clock: fakeClock(), nullifierPartitions: 4 }), /repartitioning is not built/);
    for (const bad of [1, NULLIFIER_PARTITIONS_MAX + 1, 2.5]) {
      await assert.rejects(partitionNullifierRegistry(part.db, { partitions: bad }), /partitions must be an integer in 2\.\./);
    }
    assert.deepEqual(await spread(part.db, 'nullifiers'), before);
    const lite = await freshDb('sqlite');
    try {
      await assert.rejects(CbLedger.open({ db: lite.db, clock: fakeClock(), nullifierPartitions: N }), /partitioning needs PostgreSQL/);
    } finally {
      await lite.cleanup();
    }
  });
});

describe('converting a populated plain registry to hash partitions', () => {
  let plain: { f: FreshDb; cb: CbLedger };
  before(async () => {
    plain = await plainCb();
  });
  after(async () => plain?.f.cleanup());

  test('refuses a table with an index it does not know, and leaves the registry as it was', async () => {
    await plain.f.db.exec('CREATE INDEX nullifiers_by_payment ON nullifiers (payment_hash)');
    await assert.rejects(partitionNullifierRegistry(plain.f.db, { partitions: 4 }), /teach db\/partition\.ts the new index/);
    for (const table of TABLES) assert.equal((await tableLayout(plain.f.db, table)).layout, 'plain', table);
    await plain.f.db.exec('DROP INDEX nullifiers_by_payment');
  });

  test('keeps every row, and the same batches get the same answers afterwards', async () => {
    const { cb, f } = plain;
    const batchA = Array.from({ length: 40 }, (_, i) => rec(BigInt(1 + (i % 3)), `old-${i}`, `old-p${i}`));
    const batchB = [rec(1n, 'old-0', 'thief'), rec(2n, 'old-1', 'old-p1'), rec(9n, 'fresh', 'fresh-p')];
    await cb.insertNullifiers({ items: batchA, idempotencyKey: 'old-a' });
    const answerB = await cb.insertNullifiers({ items: batchB, idempotencyKey: 'old-b' });
    assert.deepEqual(answerB.outcomes, ['conflict', 'duplicate', 'inserted']);
    await f.db.run("INSERT INTO reclaims (epoch, nullifier, payment_hash, fi_id, amount_minor, created_ms) VALUES (5, $1, $2, 'fi-a', 700, 0)", [bytes('N/rc', 48), bytes('P/rc', 32)]);
    const dump = async () => {
      const out: Record<string, unknown[]> = {};
      for (const t of NULLIFIER_PARTITIONED_TABLES) out[t.name] = await f.db.query(`SELECT * FROM ${t.name} ORDER BY ${t.keyColumns.join(', ')}`);
      return out;
    };
    const rowsBefore = await dump();

    const r = await partitionNullifierRegistry(f.db, { partitions: 4 });
    assert.deepEqual(r, { partitions: 4, converted: TABLES });
    assert.deepEqual(await dump(), rowsBefore);
    assert.ok((await spread(f.db, 'nullifiers')).size > 1, 'the old rows are spread over the partitions');

    // A fresh key runs the batch again against the converted registry: every answer is the same.
    const replayB = await cb.insertNullifiers({ items: batchB, idempotencyKey: 'old-b-again' });
    assert.deepEqual(replayB.outcomes, ['conflict', 'duplicate', 'duplicate']);
    assert.deepEqual([...replayB.conflicts[0]!.existingPaymentHash], [...bytes('P/old-p0', 32)]);
    assert.equal((await cb.insertNullifiers({ items: batchA, idempotencyKey: 'old-a-again' })).duplicates, batchA.length);
    assert.equal((await cb.nullifierConflicts()).length, 1, 'the same conflict is recorded once');
    const audit = await cb.audit();
    assert.deepEqual(audit.violations, []);
    assert.equal(audit.nullifiers, BigInt(batchA.length + 1));
  });
});
