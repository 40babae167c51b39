// Where each ledger node of a simulated network keeps its books: an SQLite file per node under the
// run's data directory (the default), or a database per node on one PostgreSQL server, created for
// the run and dropped when the network closes (unless kept for inspection). Node databases are
// named from the seed, not from randomness, so a run is replayed onto the same names; the names
// carry a prefix of their own so nothing else on the server is ever dropped.

import { createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { openPostgres, openSqlite, type Db } from '../ledger/index.ts';

/** How a simulated network stores its ledger nodes. */
export type SimDatabase =
  | { engine: 'sqlite' }
  /** `serverUrl`: any database on the server the run may CREATE DATABASE from (e.g. postgres://postgres@127.0.0.1:5432/postgres). */
  | { engine: 'postgres'; serverUrl: string; keep?: boolean };

/** Connections per node's pool: the run is sequential, so a few suffice, and 3 nodes stay far below max_connections. */
export const SIM_POSTGRES_POOL_MAX = 4;
/** PostgreSQL truncates identifiers beyond 63 bytes; a name must stay below it to stay distinct. */
const PG_IDENTIFIER_BYTES_MAX = 63;
const SIM_DATABASE_PREFIX = 'tally_sim_';

export interface NodeDatabases {
  engine: SimDatabase['engine'];
  /** Per node, where its books are (file path or database name), for messages. */
  where: Record<string, string>;
  /** Opens a fresh handle on a node's database (a restarted node opens it again). */
  open(node: string): Db;
  /** After every handle is closed: drops the PostgreSQL databases unless they are kept. */
  release(): Promise<void>;
}

/** `tally_sim_<12 hex of SHA-256(seed)>_<node>`: the same seed names the same databases. */
export function simDatabaseName(seed: string, node: string): string {
  const slug = node.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const name = `${SIM_DATABASE_PREFIX}${createHash('sha256').update(seed).digest('hex').slice(0, 12)}_${slug}`;
  if (Buffer.byteLength(name) > PG_IDENTIFIER_BYTES_MAX) throw new RangeError(`Cannot name the database of node '${node}': ${name} is longer than ${PG_IDENTIFIER_BYTES_MAX} bytes`);
  return name;
}

/** The server URL with its database replaced by `database` (user, host, port and parameters kept). */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function onServer(serverUrl: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`Cannot reach the PostgreSQL server for the simulated ledger at ${new URL(serverUrl).host}: ${(e as Error).message}`);
  }
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function prepareNodeDatabases(spec: SimDatabase, opts: { seed: string; dataDir: string; nodes: readonly string[] }): Promise<NodeDatabases> {
  if (spec.engine === 'sqlite') {
    const where = Object.fromEntries(opts.nodes.map((n) => [n, path.join(opts.dataDir, `${n}.sqlite`)]));
    return { engine: 'sqlite', where, open: (n) => openSqlite({ filename: where[n]! }), release: async () => {} };
  }
  const where = Object.fromEntries(opts.nodes.map((n) => [n, simDatabaseName(opts.seed, n)]));
  const names = Object.values(where);
  if (new Set(names).size !== names.length) throw new RangeError(`Cannot give each node its own database: two nodes of ${opts.nodes.join(', ')} map to one name`);
  // A database of the same name is one an earlier run of this seed kept (--keep-db): it is replaced.
  const drop = names.map((n) => `DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
  await onServer(spec.serverUrl, [...drop, ...names.map((n) => `CREATE DATABASE "${n}"`)]);
  return {
    engine: 'postgres',
    where,
    open: (n) => openPostgres({ connectionString: databaseUrl(spec.serverUrl, where[n]!), poolMax: SIM_POSTGRES_POOL_MAX }),
    release: async () => {
      if (spec.keep !== true) await onServer(spec.serverUrl, drop);
    },
  };
}
