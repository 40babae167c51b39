// Numbered schema migrations, one list for both engines. Each pending migration runs in its own
// transaction together with its row in schema_migrations, so a crash leaves it applied or not,
// never half-applied; on PostgreSQL an advisory lock keeps two processes from migrating at once
// (SQLite's BEGIN IMMEDIATE already does). SQL is portable; the one per-dialect mapping is the
// byte type (BYTEA here, BLOB in SQLite). Statements are separated by `;` at the end of a line.

import { assert } from '../../crypto/assert.ts';
import { rowBigint, type Db, type Dialect, type Queryable } from './adapter.ts';
import { OFFLINE_MIGRATION } from './migration_004.ts';
import { DISCLOSURE_MIGRATION } from './migration_005.ts';
import { BOUND_ISSUANCE_MIGRATION } from './migration_006.ts';
import { ATTRIBUTION_MIGRATION } from './migration_007.ts';
import { ESCROW_INDEX_MIGRATION } from './migration_008.ts';
import { RECONCILIATION_MIGRATION } from './migration_009.ts';
import { RECLAIM_MIGRATION } from './migration_010.ts';
import { ACCESS_MIGRATION } from './migration_011.ts';
import { DEVICE_REQUESTS_MIGRATION } from './migration_012.ts';
import { COMPLIANCE_MIGRATION } from './migration_013.ts';
import { RULE_KINDS_MIGRATION } from './migration_014.ts';
import { FREEZE_MIGRATION } from './migration_015.ts';
import { WATCHLIST_MIGRATION } from './migration_016.ts';
import { KEY_HOLDER_MIGRATION } from './migration_017.ts';
import { INCIDENT_DRAW_MIGRATION } from './migration_018.ts';
import { FREEZE_CHAIN_MIGRATION } from './migration_019.ts';
import { CIRCULATION_TOTALS_MIGRATION } from './migration_020.ts';
import { CONSOLE_PAGING_MIGRATION } from './migration_021.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary constant for pg_advisory_xact_lock: "TALY" in ASCII (db/partition.ts takes it too). */
export const MIGRATION_LOCK_ID = 0x54414c59n;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_journal',
    sql: `
CREATE TABLE account_kinds (
  kind TEXT PRIMARY KEY,
  sign_rule TEXT NOT NULL CHECK (sign_rule IN ('non_negative', 'non_positive'))
);
INSERT INTO account_kinds (kind, sign_rule) VALUES
  ('cb_issuance', 'non_positive'),
  ('fi_reserve', 'non_negative'),
  ('fi_settlement', 'non_positive'),
  ('fi_treasury', 'non_negative'),
  ('customer', 'non_negative');
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL REFERENCES account_kinds(kind),
  owner TEXT NOT NULL,
  sign_rule TEXT NOT NULL CHECK (sign_rule IN ('non_negative', 'non_positive')),
  balance_minor BIGINT NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  CHECK ((sign_rule = 'non_negative' AND balance_minor >= 0)
      OR (sign_rule = 'non_positive' AND balance_minor <= 0))
);
CREATE INDEX accounts_owner ON accounts (owner);
CREATE TABLE journal_transactions (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  reference TEXT,
  created_ms BIGINT NOT NULL
);
CREATE TABLE journal_entries (
  transaction_id TEXT NOT NULL REFERENCES journal_transactions(id),
  seq BIGINT NOT NULL CHECK (seq >= 0),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
  PRIMARY KEY (transaction_id, seq)
);
CREATE INDEX journal_entries_account ON journal_entries (account_id);
CREATE TABLE idempotency_keys (
  idem_key TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  response TEXT,
  created_ms BIGINT NOT NULL
)`,
  },
  {
    version: 2,
    name: '002_customers',
    sql: `
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  fi_id TEXT NOT NULL,
  tier BIGINT NOT NULL CHECK (tier >= 0 AND tier <= 255),
  identity_json TEXT NOT NULL,
  frozen BIGINT NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
  created_ms BIGINT NOT NULL
);
CREATE TABLE customer_accounts (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id),
  customer_id TEXT NOT NULL REFERENCES customers(id)
);
CREATE INDEX customer_accounts_customer ON customer_accounts (customer_id)`,
  },
  {
    version: 3,
    name: '003_nullifiers',
    sql: `
CREATE TABLE nullifiers (
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  payment_hash BYTEA NOT NULL CHECK (length(payment_hash) = 32),
  created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX nullifiers_epoch_nullifier ON nullifiers (epoch, nullifier);
CREATE TABLE nullifier_conflicts (
  epoch BIGINT NOT NULL,
  nullifier BYTEA NOT NULL,
  first_payment_hash BYTEA NOT NULL,
  second_payment_hash BYTEA NOT NULL,
  detected_ms BIGINT NOT NULL,
  PRIMARY KEY (epoch, nullifier, second_payment_hash)
)`,
  },
  OFFLINE_MIGRATION,
  DISCLOSURE_MIGRATION,
  BOUND_ISSUANCE_MIGRATION,
  ATTRIBUTION_MIGRATION,
  ESCROW_INDEX_MIGRATION,
  RECONCILIATION_MIGRATION,
  RECLAIM_MIGRATION,
  ACCESS_MIGRATION,
  DEVICE_REQUESTS_MIGRATION,
  COMPLIANCE_MIGRATION,
  RULE_KINDS_MIGRATION,
  FREEZE_MIGRATION,
  WATCHLIST_MIGRATION,
  KEY_HOLDER_MIGRATION,
  INCIDENT_DRAW_MIGRATION,
  FREEZE_CHAIN_MIGRATION,
  CIRCULATION_TOTALS_MIGRATION,
  CONSOLE_PAGING_MIGRATION,
];

/** The one per-dialect mapping: PostgreSQL's BYTEA is SQLite's BLOB. */
export function mapDialect(sql: string, dialect: Dialect): string {
  return dialect === 'sqlite' ? sql.replace(/\bBYTEA\b/g, 'BLOB') : sql;
}

export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    assert(m.version === i + 1, `migration ${m.name}: expected version ${i + 1}, found ${m.version}`);
    assert(m.name.startsWith(String(m.version).padStart(3, '0') + '_'), `migration ${m.name}: name must start with its number`);
  });
}

async function appliedVersion(tx: Queryable): Promise<number> {
  const rows = await tx.query('SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM schema_migrations');
  return Number(rowBigint(rows[0]!, 'v'));
}

/** Applies every pending migration in order; returns the versions it applied (empty if none). */
export async function migrate(
  db: Db,
  nowMs: () => number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  checkOrder(migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    const didApply = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
      await tx.run(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)',
      );
      if ((await appliedVersion(tx)) >= m.version) return false;
      for (const stmt of splitStatements(mapDialect(m.sql, tx.dialect))) await tx.run(stmt);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)', [
        BigInt(m.version),
        m.name,
        BigInt(nowMs()),
      ]);
      assert((await appliedVersion(tx)) === m.version, `migration ${m.name} did not record itself`);
      return true;
    });
    if (didApply) applied.push(m.version);
  }
  return applied;
}

/**
 * A database whose schema is not the one this code runs on: none at all (found 0), an older one
 * (a node started on it migrates it), or a newer one (written by a later Tally).
 */
export class SchemaVersionError extends Error {
  readonly code = 'SCHEMA_VERSION';
  constructor(
    readonly found: number,
    readonly expected: number,
  ) {
    super(
      found === 0
        ? `the database holds no Tally schema (no schema_migrations; this Tally needs version ${expected})`
        : found < expected
          ? `the database is at schema version ${found}, older than this Tally's ${expected} (a node started on it migrates it)`
          : `the database is at schema version ${found}, newer than this Tally's ${expected}`,
    );
    this.name = 'SchemaVersionError';
  }
}

async function hasMigrationsTable(db: Queryable): Promise<boolean> {
  const rows =
    db.dialect === 'sqlite'
      ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
      : await db.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  return db.dialect === 'sqlite' ? rows.length === 1 : rows[0]?.['present'] === true;
}

/** The highest applied migration, 0 when the database has no schema_migrations table; reads only. */
export async function schemaVersion(db: Queryable): Promise<number> {
  return (await hasMigrationsTable(db)) ? appliedVersion(db) : 0;
}

/** Throws SchemaVersionError unless the database is at exactly the last migration; reads only (audits). */
export async function requireCurrentSchema(db: Queryable, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  checkOrder(migrations);
  const found = await schemaVersion(db);
  if (found !== migrations.length) throw new SchemaVersionError(found, migrations.length);
}
