// SQLite adapter over better-sqlite3 12: WAL, synchronous=FULL (a committed transaction survives a
// power cut), foreign keys on, busy_timeout for a second process on the same file. better-sqlite3
// is synchronous, so the async interface is made safe by one mutex per connection: a transaction
// holds it from BEGIN IMMEDIATE to COMMIT, and no other statement on this connection can slip into
// it while its body awaits. Handles on the same file in one process share that mutex: otherwise
// one would block the event loop in busy_timeout waiting for a lock only the other, now stalled,
// could release. Integers are read with safeIntegers(true), so every one is a bigint.
//
// Files: a book is ledger state, so a database file this opens is created 0600 before SQLite sees
// it (an existing file keeps its mode). SQLite's unix VFS gives the -wal and -shm files it creates
// the mode of the database file itself, so they are 0600 too without touching the process umask
// (which is process-wide and racy with other threads). A read-only handle (audits) never creates
// the file, sets no journal mode, and runs its transactions as deferred BEGIN: it takes no write lock.

import path from 'node:path';
import Database from 'better-sqlite3';
import { assert } from '../../crypto/assert.ts';
import { ensurePrivateFile } from '../../se/private_files.ts';
import { TRANSACTION_ATTEMPTS_MAX, TRANSACTION_BACKOFF_MS } from '../limits.ts';
import {
  isRetryable,
  sleepMs,
  toQuestionMarks,
  type Db,
  type Row,
  type SqlValue,
  type Tx,
} from './adapter.ts';

/** Milliseconds a writer waits for another process's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** Prepared statements kept per connection (the ledger uses a few dozen distinct statements). */
const STATEMENT_CACHE_MAX = 512;

interface Prepared {
  stmt: Database.Statement;
  order: number[];
}

export interface SqliteOptions {
  /** Path of the database file, or ':memory:'. */
  filename: string;
  /** Open an existing file read-only: no file is created, every write fails with SQLITE_READONLY. */
  readonly?: boolean;
}

/** One queue per database file in this process (see the file comment). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
const fileMutexes = new Map<string, Mutex>();
const inMemory = (filename: string) => filename === ':memory:' || filename === '';

function mutexFor(filename: string): Mutex {
  if (inMemory(filename)) return new Mutex();
  const key = path.resolve(filename);
  let m = fileMutexes.get(key);
  if (m === undefined) fileMutexes.set(key, (m = new Mutex()));
  return m;
}

export function openSqlite(options: SqliteOptions): Db {
  const readonly = options.readonly === true;
  if (!readonly && !inMemory(options.filename)) ensurePrivateFile(options.filename);
  const conn = new Database(options.filename, { readonly, fileMustExist: readonly });
  if (!readonly) conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = FULL');
  conn.pragma('foreign_keys = ON');
  conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  assert(conn.pragma('synchronous', { simple: true }) === 2, 'SQLite synchronous must be FULL (2)');
  return new SqliteDb(conn, mutexFor(options.filename), readonly);
}

class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly conn: Database.Database;
  private readonly cache = new Map<string, Prepared>();
  private closed = false;

  constructor(
    conn: Database.Database,
    private readonly mutex: Mutex,
    private readonly readonly: boolean,
  ) {
    this.conn = conn;
  }

  /** Runs fn once every earlier holder of the connection (or file) has finished. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.mutex.run(() => {
      assert(!this.closed, 'SQLite database used after close()');
      return fn();
    });
  }

  private prepare(sql: string): Prepared {
    let p = this.cache.get(sql);
    if (p === undefined) {
      const translated = toQuestionMarks(sql.replace(/\s+FOR\s+UPDATE\b/gi, ''));
      const stmt = this.conn.prepare(translated.sql);
      if (stmt.reader) stmt.safeIntegers(true);
      p = { stmt, order: translated.order };
      if (this.cache.size >= STATEMENT_CACHE_MAX) this.cache.clear();
      this.cache.set(sql, p);
    }
    return p;
  }

  /** Synchronous primitives, used both inside and outside transactions. */
  querySync<T extends Row>(sql: string, params: readonly SqlValue[]): T[] {
    const p = this.prepare(sql);
    assert(p.stmt.reader, `query() needs a statement that returns rows: ${sql.slice(0, 60)}`);
    return p.stmt.all(...p.order.map((i) => bind(params, i))) as T[];
  }

  runSync(sql: string, params: readonly SqlValue[]): number {
    const p = this.prepare(sql);
    const args = p.order.map((i) => bind(params, i));
    if (p.stmt.reader) return p.stmt.all(...args).length;
    return p.stmt.run(...args).changes;
  }

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.exclusive(() => this.querySync<T>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.exclusive(() => this.runSync(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(() => {
      this.conn.exec(sql);
    });
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.exclusive(() => this.attempt(fn));
      } catch (err) {
        if (!isRetryable(err) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw err;
        await sleepMs(TRANSACTION_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  private async attempt<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.conn.exec(this.readonly ? 'BEGIN' : 'BEGIN IMMEDIATE');
    const tx = new SqliteTx(this);
    try {
      const result = await fn(tx);
      tx.finish();
      this.conn.exec('COMMIT');
      return result;
    } catch (err) {
      tx.finish();
      if (this.conn.inTransaction) this.conn.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.exclusive(() => {
      this.conn.close();
      this.closed = true;
    });
  }
}

class SqliteTx implements Tx {
  readonly dialect = 'sqlite' as const;
  private done = false;
  constructor(private readonly db: SqliteDb) {}
  finish(): void {
    this.done = true;
  }
  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    assert(!this.done, 'transaction handle used after its transaction ended');
    return this.db.querySync<T>(sql, params);
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    assert(!this.done, 'transaction handle used after its transaction ended');
    return this.db.runSync(sql, params);
  }
}

function bind(params: readonly SqlValue[], i: number): SqlValue {
  assert(i >= 0 && i < params.length, `SQL placeholder $${i + 1} has no argument (${params.length} given)`);
  return params[i]!;
}
