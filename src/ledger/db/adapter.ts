// The one storage interface both engines implement. SQL is written once with $1-style
// placeholders; each adapter translates what its engine needs (SQLite: `?` with re-ordered
// arguments, `FOR UPDATE` dropped because its write transactions are already exclusive). Every
// integer column is BIGINT and comes back as `bigint` from both engines; bytes come back as
// Uint8Array (Buffer); text as string. Rows are typed by the caller and checked with the `row*`
// helpers below, so a wrong column type fails loudly rather than flowing on as `any`.

import { assert } from '../../crypto/assert.ts';

export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = bigint | string | Uint8Array | null;
export type Row = Record<string, unknown>;

/** What both a transaction and the pool-level handle can do. */
export interface Queryable {
  readonly dialect: Dialect;
  /** Runs one statement and returns its rows (also for INSERT/UPDATE ... RETURNING). */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs one statement and returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Tx extends Queryable {}

export interface Db extends Queryable {
  /**
   * Runs fn inside one transaction: committed if fn resolves, rolled back if it throws. On a
   * serialization failure or deadlock the whole fn is run again, at most TRANSACTION_ATTEMPTS_MAX
   * times, so fn must have no effect outside the transaction. SQLite: BEGIN IMMEDIATE (one writer
   * at a time). PostgreSQL: READ COMMITTED plus explicit `FOR UPDATE` row locks and UNIQUE
   * constraints, which is where every invariant here is enforced.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs several statements separated by `;` with no parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** Translates `$n` placeholders into `?` and the argument order they need. */
export function toQuestionMarks(sql: string): { sql: string; order: number[] } {
  const order: number[] = [];
  const out = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  return { sql: out, order };
}

export function rowBigint(row: Row, column: string): bigint {
  const v = row[column];
  assert(typeof v === 'bigint', `column ${column}: expected bigint, found ${typeof v}`);
  return v;
}

export function rowString(row: Row, column: string): string {
  const v = row[column];
  assert(typeof v === 'string', `column ${column}: expected string, found ${typeof v}`);
  return v;
}

export function rowBytes(row: Row, column: string): Uint8Array {
  const v = row[column];
  assert(v instanceof Uint8Array, `column ${column}: expected bytes, found ${typeof v}`);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export function rowNullableString(row: Row, column: string): string | null {
  const v = row[column];
  assert(v === null || typeof v === 'string', `column ${column}: expected string or null, found ${typeof v}`);
  return v;
}

/** Error codes that mean "run the transaction again". */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // PostgreSQL: serialization_failure, deadlock_detected. SQLite: SQLITE_BUSY after busy_timeout.
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY';
}

/** True when err is a UNIQUE / PRIMARY KEY violation in either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
