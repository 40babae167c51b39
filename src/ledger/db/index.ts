// Storage (db/): the adapter both nodes' books run on, SQLite and PostgreSQL behind it, opening a
// database from a spec, migrations, and hash partitions of the large tables.
// What other parts may use; inside src/ledger files import by path.

export {
  isRetryable, isUniqueViolation, rowBigint, rowBytes, rowNullableString, rowString, sleepMs,
  toQuestionMarks, type Db, type Dialect, type Queryable, type Row, type SqlValue, type Tx,
} from './adapter.ts';
export {
  MIGRATIONS, MIGRATION_LOCK_ID, SchemaVersionError, mapDialect, migrate, requireCurrentSchema,
  schemaVersion, splitStatements, type Migration,
} from './migrations.ts';
export { openDatabase, type DatabaseSpec } from './open.ts';
export { SQLITE_BUSY_TIMEOUT_MS, openSqlite, type SqliteOptions } from './sqlite.ts';
export { POSTGRES_POOL_MAX, openPostgres, type PostgresOptions } from './postgres.ts';
export {
  NULLIFIER_PARTITIONED_TABLES, NULLIFIER_PARTITION_KEY, partitionNullifierRegistry, tableLayout,
  type PartitionResult, type TableLayout,
} from './partition.ts';
