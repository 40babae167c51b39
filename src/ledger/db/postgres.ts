// PostgreSQL adapter over a pg Pool. BIGINT (and integral NUMERIC, which SUM(bigint) returns) is
// parsed to bigint instead of pg's default string; bytes go in and out as Buffer. Transactions run
// at READ COMMITTED: the ledger takes explicit `SELECT ... FOR UPDATE` row locks (in account-id
// order, so two transfers cannot deadlock on each other) and leans on UNIQUE constraints for
// idempotency keys and nullifiers; a deadlock or serialization failure re-runs the whole body.

import pg from 'pg';
import { assert } from '../../crypto/assert.ts';
import { TRANSACTION_ATTEMPTS_MAX, TRANSACTION_BACKOFF_MS } from '../limits.ts';
import { isRetryable, sleepMs, type Db, type Row, type SqlValue, type Tx } from './adapter.ts';

/** Connections per node: enough for the concurrency tests, small next to max_connections=100. */
export const POSTGRES_POOL_MAX = 8;

const OID_INT8 = 20;
const OID_NUMERIC = 1700;

function parseIntegral(text: string): bigint {
  assert(/^-?\d+$/.test(text), `expected an integer from PostgreSQL, found ${text}`);
  return BigInt(text);
}

const types = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === OID_INT8 || oid === OID_NUMERIC) return parseIntegral;
    return pg.types.getTypeParser(oid, (format ?? 'text') as 'text');
  },
};

export interface PostgresOptions {
  connectionString: string;
  poolMax?: number;
  /** Every session starts with default_transaction_read_only: the server refuses DDL and writes. */
  readonly?: boolean;
}

export function openPostgres(options: PostgresOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? POSTGRES_POOL_MAX,
    types,
    ...(options.readonly === true ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return new PostgresDb(pool);
}

function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return v;
  });
}

type PgRunner = Pick<pg.Pool | pg.PoolClient, 'query'>;

async function pgQuery<T extends Row>(c: PgRunner, sql: string, params: readonly SqlValue[]): Promise<T[]> {
  const r = await c.query(sql, toParams(params));
  return r.rows as T[];
}

async function pgRun(c: PgRunner, sql: string, params: readonly SqlValue[]): Promise<number> {
  const r = await c.query(sql, toParams(params));
  return r.rowCount ?? 0;
}

class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  constructor(private readonly pool: pg.Pool) {}

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return pgQuery<T>(this.pool, sql, params);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return pgRun(this.pool, sql, params);
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(fn);
      } catch (err) {
        if (!isRetryable(err) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw err;
        await sleepMs(TRANSACTION_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  private async attempt<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PostgresTx(client);
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await fn(tx);
      tx.finish();
      await client.query('COMMIT');
      return result;
    } catch (err) {
      tx.finish();
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable: drop it from the pool
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PostgresTx implements Tx {
  readonly dialect = 'postgres' as const;
  private done = false;
  constructor(private readonly client: pg.PoolClient) {}
  finish(): void {
    this.done = true;
  }
  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    assert(!this.done, 'transaction handle used after its transaction ended');
    return pgQuery<T>(this.client, sql, params);
  }
  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    assert(!this.done, 'transaction handle used after its transaction ended');
    return pgRun(this.client, sql, params);
  }
}
