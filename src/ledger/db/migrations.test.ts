// Migrations apply once, in order, on both engines: a second run (or a second process racing the
// first) applies nothing, each version is recorded, and the schema's CHECKs hold in both.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, freshDb } from '../../../test/ledger/engines.ts';
import { mapDialect, migrate, MIGRATIONS, splitStatements } from './migrations.ts';

test('the SQLite mapping turns BYTEA into BLOB and nothing else', () => {
  assert.equal(mapDialect('a BYTEA, b BIGINT, BYTEAX', 'sqlite'), 'a BLOB, b BIGINT, BYTEAX');
  assert.equal(mapDialect('a BYTEA', 'postgres'), 'a BYTEA');
  assert.deepEqual(splitStatements('A;\nB (x);\n\n C'), ['A', 'B (x)', 'C']);
});

for (const engine of ENGINES) {
  describe(`migrations on ${engine}`, () => {
    test('apply once in order; a second run and a racing second handle apply nothing', async () => {
      const f = await freshDb(engine);
      try {
        const other = f.reopen();
        const [a, b] = await Promise.all([migrate(f.db, () => 1), migrate(other, () => 2)]);
        assert.deepEqual([...a, ...b].sort((x, y) => x - y), MIGRATIONS.map((m) => m.version));
        assert.deepEqual(await migrate(f.db, () => 3), []);
        const rows = await f.db.query('SELECT version, name FROM schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => [r['version'], r['name']]), MIGRATIONS.map((m) => [BigInt(m.version), m.name]));
      } finally {
        await f.cleanup();
      }
    });

    test('the schema refuses zero amounts and a customer account below zero', async () => {
      const f = await freshDb(engine);
      try {
        await migrate(f.db, () => 1);
        await f.db.run(`INSERT INTO accounts (id, kind, owner, sign_rule, balance_minor, created_ms) VALUES ('c1', 'customer', 'x', 'non_negative', 0, 0)`);
        await assert.rejects(f.db.run(`UPDATE accounts SET balance_minor = -1 WHERE id = 'c1'`));
        await assert.rejects(f.db.run(`INSERT INTO accounts (id, kind, owner, sign_rule, balance_minor, created_ms) VALUES ('i1', 'cb_issuance', 'x', 'non_positive', 1, 0)`));
        await f.db.run(`INSERT INTO journal_transactions (id, kind, idempotency_key, created_ms) VALUES ('t', 'k', 'key', 0)`);
        await assert.rejects(f.db.run(`INSERT INTO journal_entries (transaction_id, seq, account_id, amount_minor) VALUES ('t', 0, 'c1', 0)`));
        await assert.rejects(f.db.run(`INSERT INTO journal_entries (transaction_id, seq, account_id, amount_minor) VALUES ('t', 0, 'nope', 5)`));
        await assert.rejects(f.db.run(`INSERT INTO accounts (id, kind, owner, sign_rule, balance_minor, created_ms) VALUES ('z', 'no_such_kind', 'x', 'non_negative', 0, 0)`));
      } finally {
        await f.cleanup();
      }
    });
  });
}
