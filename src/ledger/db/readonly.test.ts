// Audits open a book read-only: the engine itself refuses DDL and writes (SQLite `readonly`,
// PostgreSQL default_transaction_read_only), and a schema that is not exactly the last migration
// (none, older, newer) is a typed refusal. A SQLite book and its -wal/-shm are 0600 even under a
// 0o022 umask, and a read-only open of a missing file creates nothing.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENGINES, freshDb } from '../../../test/ledger/engines.ts';
import { migrate, MIGRATIONS, requireCurrentSchema, schemaVersion, SchemaVersionError } from './migrations.ts';
import { openDatabase } from './open.ts';
import { openSqlite } from './sqlite.ts';

process.umask(0o022);
const LAST = MIGRATIONS.length;
const versions = async (db: { query: (sql: string) => Promise<Array<Record<string, unknown>>> }) =>
  (await db.query('SELECT version, name, applied_ms FROM schema_migrations ORDER BY version')).map((r) => [r['version'], r['name'], r['applied_ms']]);

function refusal(found: number, expected: number): (e: unknown) => boolean {
  return (e) => e instanceof SchemaVersionError && e.code === 'SCHEMA_VERSION' && e.found === found && e.expected === expected;
}

for (const engine of ENGINES) {
  describe(`read-only handles on ${engine}`, () => {
    test('read a current book; the engine refuses DDL and writes, in and out of a transaction', async () => {
      const f = await freshDb(engine);
      try {
        await migrate(f.db, () => 1);
        const before = await versions(f.db);
        const ro = openDatabase(f.spec, { readonly: true });
        try {
          assert.equal(await schemaVersion(ro), LAST);
          await requireCurrentSchema(ro);
          await assert.rejects(ro.run('CREATE TABLE intruder (a BIGINT)'), /read-?only/i);
          await assert.rejects(ro.run("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (999, 'x', 0)"), /read-?only/i);
          await assert.rejects(ro.transaction((tx) => tx.run('DELETE FROM schema_migrations')), /read-?only/i);
          assert.deepEqual(await ro.transaction((tx) => tx.query('SELECT CAST(COUNT(*) AS BIGINT) AS n FROM accounts')), [{ n: 0n }]);
        } finally {
          await ro.close();
        }
        assert.deepEqual(await versions(f.db), before);
      } finally {
        await f.cleanup();
      }
    });

    test('a book with no schema, an older one or a newer one is a typed refusal', async () => {
      const f = await freshDb(engine);
      try {
        const ro = openDatabase(f.spec, { readonly: true });
        try {
          assert.equal(await schemaVersion(ro), 0);
          await assert.rejects(requireCurrentSchema(ro), refusal(0, LAST));
          await migrate(f.db, () => 1, MIGRATIONS.slice(0, LAST - 1));
          await assert.rejects(requireCurrentSchema(ro), refusal(LAST - 1, LAST));
          await migrate(f.db, () => 1);
          await requireCurrentSchema(ro);
          await assert.rejects(requireCurrentSchema(ro, MIGRATIONS.slice(0, LAST - 2)), refusal(LAST, LAST - 2));
        } finally {
          await ro.close();
        }
      } finally {
        await f.cleanup();
      }
    });
  });
}

test('a SQLite book, its -wal and -shm are 0600 under umask 0o022; a read-only open of a missing file creates nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-mode-'));
  try {
    const filename = path.join(dir, 'cb.sqlite');
    const db = openSqlite({ filename });
    try {
      await migrate(db, () => 1);
      const files = fs.readdirSync(dir).sort();
      assert.deepEqual(files, ['cb.sqlite', 'cb.sqlite-shm', 'cb.sqlite-wal']);
      for (const f of files) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    } finally {
      await db.close();
    }
    const missing = path.join(dir, 'nope.sqlite');
    assert.throws(() => openSqlite({ filename: missing, readonly: true }), /unable to open|does not exist/i);
    assert.equal(fs.existsSync(missing), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
