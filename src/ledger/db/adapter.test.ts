// The storage adapters behave the same on both engines: bigint in and out (including values past
// 2^53 and SUM results), bytes round-trip, $n placeholders reused and out of order, rollback on
// throw, a serialized transaction per connection, and the SQLite durability pragmas.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, freshDb, type FreshDb } from '../../../test/ledger/engines.ts';
import { toQuestionMarks } from './adapter.ts';

test('toQuestionMarks() re-orders arguments for reused and out-of-order placeholders', () => {
  assert.deepEqual(toQuestionMarks('SELECT $2, $1, $2'), { sql: 'SELECT ?, ?, ?', order: [1, 0, 1] });
});

for (const engine of ENGINES) {
  describe(`db adapter on ${engine}`, () => {
    let f: FreshDb;
    const setup = async () => {
      f = await freshDb(engine);
      await f.db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, b ' + (engine === 'sqlite' ? 'BLOB' : 'BYTEA') + ')');
    };
    after(async () => f?.cleanup());

    test('bigints beyond 2^53 and SUM results come back as bigint', async () => {
      await setup();
      const big = 2n ** 62n + 7n;
      await f.db.run('INSERT INTO t (id, n, b) VALUES ($1, $2, $3)', ['a', big, new Uint8Array([0, 1, 255])]);
      await f.db.run('INSERT INTO t (id, n, b) VALUES ($1, $2, NULL)', ['b', -5n]);
      const rows = await f.db.query('SELECT id, n, b FROM t ORDER BY id');
      assert.equal(rows[0]!['n'], big);
      assert.deepEqual([...(rows[0]!['b'] as Uint8Array)], [0, 1, 255]);
      assert.equal(rows[1]!['n'], -5n);
      const sum = await f.db.query('SELECT CAST(SUM(n) AS BIGINT) AS s, COUNT(*) AS c FROM t');
      assert.equal(sum[0]!['s'], big - 5n);
      assert.equal(sum[0]!['c'], 2n);
      const reused = await f.db.query('SELECT id FROM t WHERE n = $2 OR id = $1 OR n = $2', ['none', -5n]);
      assert.deepEqual(reused.map((r) => r['id']), ['b']);
    });

    test('transaction() rolls back everything when its body throws', async () => {
      await assert.rejects(
        f.db.transaction(async (tx) => {
          await tx.run('INSERT INTO t (id, n) VALUES ($1, $2)', ['c', 1n]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await f.db.query('SELECT id FROM t WHERE id = $1', ['c'])).length, 0);
    });

    test('concurrent read-modify-write transactions never lose an update', async () => {
      await f.db.run('INSERT INTO t (id, n) VALUES ($1, 0)', ['ctr']);
      await Promise.all(
        Array.from({ length: 10 }, () =>
          f.db.transaction(async (tx) => {
            const r = await tx.query('SELECT n FROM t WHERE id = $1 FOR UPDATE', ['ctr']);
            await tx.run('UPDATE t SET n = $1 WHERE id = $2', [(r[0]!['n'] as bigint) + 1n, 'ctr']);
          }),
        ),
      );
      assert.equal((await f.db.query('SELECT n FROM t WHERE id = $1', ['ctr']))[0]!['n'], 10n);
    });
  });
}

test('SQLite adapter opens in WAL mode with synchronous=FULL and foreign keys on', async () => {
  const f = await freshDb('sqlite');
  try {
    const rows = await f.db.query('SELECT * FROM pragma_journal_mode');
    assert.equal(rows[0]!['journal_mode'], 'wal');
    assert.equal((await f.db.query('SELECT * FROM pragma_synchronous'))[0]!['synchronous'], 2n);
    assert.equal((await f.db.query('SELECT * FROM pragma_foreign_keys'))[0]!['foreign_keys'], 1n);
  } finally {
    await f.cleanup();
  }
});
