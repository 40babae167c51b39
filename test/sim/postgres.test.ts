// The fleet on PostgreSQL: each ledger node gets its own database on the server, named from the
// seed and dropped at the end (kept with keep), and the same seed gives the same run as on SQLite
// — record, report and plots — but for the record's options.db. PostgreSQL at 127.0.0.1:5432
// (override with TALLY_PG_ADMIN_URL), as the ledger suite needs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { analyse, plots, reportJson } from '../../src/sim/analysis/index.ts';
import { FLEET_FI_IDS, runFleet } from '../../src/sim/fleet/index.ts';
import type { RunRecord } from '../../src/sim/fleet/types.ts';
import { prepareNodeDatabases, simDatabaseName } from '../../src/sim/node_databases.ts';

const PG_ADMIN_URL = process.env['TALLY_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const repo = fileURLToPath(new URL('../..', import.meta.url));

async function databasesNamed(prefix: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const r = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname', [prefix]);
    return r.rows.map((x) => x.datname);
  } finally {
    await client.end();
  }
}

const withoutDb = (r: RunRecord) => {
  const { wallMs: _w, ...rest } = r;
  return { ...rest, options: { ...rest.options, db: undefined } };
};

test('a fleet run on PostgreSQL is the SQLite run of the same seed, on a database per node that is dropped after', async () => {
  const seed = 'pg-fleet-1';
  const names = ['cb', ...FLEET_FI_IDS].map((n) => simDatabaseName(seed, n));
  const prefix = names[0]!.slice(0, names[0]!.lastIndexOf('_') + 1);
  let seen: string[] = [];
  const onPostgres = await runFleet({
    customers: 10, days: 1, seed, database: { engine: 'postgres', serverUrl: PG_ADMIN_URL },
    // Looked at once, while the run is under way.
    onProgress: (done) => {
      if (done === 1) void databasesNamed(prefix).then((x) => (seen = x));
    },
  });
  const onSqlite = await runFleet({ customers: 10, days: 1, seed });
  assert.deepEqual(seen, [...names].sort(), 'the CB and each FI on a database of its own during the run');
  assert.deepEqual(await databasesNamed(prefix), [], 'the databases are dropped at the end');
  assert.equal(onPostgres.options.db, 'postgres');
  assert.equal(onSqlite.options.db, 'sqlite');
  assert.ok(onSqlite.payments.some((p) => p.outcome === 'paid') && onSqlite.syncs.length > 0, 'the run paid and synced');
  assert.deepEqual(withoutDb(onPostgres), withoutDb(onSqlite), 'the same record');
  const [pgReport, sqReport] = [analyse(onPostgres), analyse(onSqlite)];
  assert.equal(reportJson({ ...pgReport, options: { ...pgReport.options, db: 'sqlite' } }), reportJson(sqReport), 'the same report but for options.db');
  assert.deepEqual(await plots(pgReport), await plots(sqReport), 'byte-identical plots');
});

test('kept node databases stay on the server, and a later run of the same seed replaces them', async () => {
  const seed = 'pg-keep-1';
  const nodes = ['cb', 'fi-x'];
  const names = nodes.map((n) => simDatabaseName(seed, n));
  const prefix = names[0]!.slice(0, names[0]!.lastIndexOf('_') + 1);
  const kept = await prepareNodeDatabases({ engine: 'postgres', serverUrl: PG_ADMIN_URL, keep: true }, { seed, dataDir: '/nonexistent', nodes });
  const db = kept.open('fi-x');
  await db.exec('CREATE TABLE left_by_the_first_run (x INTEGER)');
  await db.close();
  await kept.release();
  assert.deepEqual(await databasesNamed(prefix), [...names].sort(), 'kept');
  const again = await prepareNodeDatabases({ engine: 'postgres', serverUrl: PG_ADMIN_URL }, { seed, dataDir: '/nonexistent', nodes });
  const fresh = again.open('fi-x');
  const tables = await fresh.query<{ n: bigint }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'left_by_the_first_run'");
  await fresh.close();
  await again.release();
  assert.equal(tables[0]!.n, 0n, 'the second run starts on an empty database');
  assert.deepEqual(await databasesNamed(prefix), [], 'dropped');
});

test('tally sim refuses --keep-db without PostgreSQL and a single SQLite file for the fleet', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });
  const keep = run('--keep-db');
  assert.equal(keep.status, 2, keep.stderr);
  assert.match(keep.stderr, /--keep-db .*needs --db postgres/);
  const file = run('--db', 'sqlite:/tmp/one.sqlite');
  assert.equal(file.status, 2, file.stderr);
  assert.match(file.stderr, /not one SQLite file/);
});
