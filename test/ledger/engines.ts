// Test support shared by every ledger test: the same suite runs once per engine. SQLite gets a
// temp file (WAL needs a real file); PostgreSQL gets a fresh database `tally_test_<random>` on
// 127.0.0.1:5432 (override with TALLY_PG_ADMIN_URL), dropped afterwards. If PostgreSQL cannot be
// reached the suite fails loudly: CI starts it, and a silent skip would hide half the coverage.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Db } from '../../src/ledger/db/adapter.ts';
import { openPostgres } from '../../src/ledger/db/postgres.ts';
import { openSqlite } from '../../src/ledger/db/sqlite.ts';
import type { Clock, RandomBytes } from '../../src/ledger/context.ts';
import { CbLedger } from '../../src/ledger/cb/book.ts';
import { FiLedger } from '../../src/ledger/fi/book.ts';
import type { DatabaseSpec } from '../../src/ledger/db/open.ts';
import type { NodeRole } from '../../src/ledger/http/serve.ts';
import { NULLIFIER_PARTITIONS_DEFAULT } from '../../src/ledger/limits.ts';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** A CB registry layout a registry test runs on: an engine's plain tables, or PostgreSQL hash partitions. */
export interface RegistryLayout {
  engine: Engine;
  label: string;
  /** Passed to CbLedger.open / CentralBank.open (db/partition.ts); absent: the migrations' plain tables. */
  nullifierPartitions?: number;
}

/** Hash partitions in the partitioned layout the registry tests run on (the deployment default). */
export const TEST_NULLIFIER_PARTITIONS = NULLIFIER_PARTITIONS_DEFAULT;

export const REGISTRY_LAYOUTS: readonly RegistryLayout[] = [
  ...ENGINES.map((engine) => ({ engine, label: engine })),
  { engine: 'postgres', label: `postgres, registry in ${TEST_NULLIFIER_PARTITIONS} hash partitions`, nullifierPartitions: TEST_NULLIFIER_PARTITIONS },
];

const PG_ADMIN_URL = process.env['TALLY_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDb {
  db: Db;
  /** The same database as a spec another process can open. */
  spec: DatabaseSpec;
  /** Opens a second, independent handle on the same database (another "process"). */
  reopen(): Db;
  cleanup(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is unreachable at ${PG_ADMIN_URL}: the ledger suite needs it (${String(err)})`);
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function freshDb(engine: Engine): Promise<FreshDb> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'tally-ledger-'));
    const filename = path.join(dir, 'ledger.sqlite');
    const handles: Db[] = [openSqlite({ filename })];
    return {
      db: handles[0]!,
      spec: { engine: 'sqlite', filename },
      reopen: () => {
        const h = openSqlite({ filename });
        handles.push(h);
        return h;
      },
      cleanup: async () => {
        for (const h of handles) await h.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `tally_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const handles: Db[] = [openPostgres({ connectionString: url.toString() })];
  return {
    db: handles[0]!,
    spec: { engine: 'postgres', connectionString: url.toString() },
    reopen: () => {
      const h = openPostgres({ connectionString: url.toString() });
      handles.push(h);
      return h;
    },
    cleanup: async () => {
      for (const h of handles) await h.close().catch(() => {});
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A clock that only moves when told to. */
export function fakeClock(startMs = 1_800_000_000_000): Clock & { advance(ms: number): void } {
  let now = startMs;
  return { nowMs: () => now, advance: (ms) => (now += ms) };
}

/** Deterministic bytes for ids: a counter-mode SHA-256 stream under a seed (tests only). */
export function countingRng(seed: string): RandomBytes {
  let counter = 0;
  return (n) => {
    const digest = createHash('sha256').update(`${seed}/${counter++}`).digest();
    if (n > digest.length) throw new Error(`countingRng gives at most ${digest.length} bytes per call (asked ${n})`);
    return new Uint8Array(digest.subarray(0, n));
  };
}

/** A CB and two FIs (`fi-a`, `fi-b`), each on its own fresh database of one engine, registered at the CB. */
export type Network = Awaited<ReturnType<typeof openNetwork>>;

export async function openNetwork(engine: Engine, seed: string) {
  const clock = fakeClock();
  const dbs = await Promise.all([freshDb(engine), freshDb(engine), freshDb(engine)]);
  const [cbDb, aDb, bDb] = dbs as [FreshDb, FreshDb, FreshDb];
  const cb = await CbLedger.open({ db: cbDb.db, clock, rng: countingRng(`${seed}/cb`) });
  const fiA = await FiLedger.open({ db: aDb.db, clock, rng: countingRng(`${seed}/a`), fiId: 'fi-a' });
  const fiB = await FiLedger.open({ db: bDb.db, clock, rng: countingRng(`${seed}/b`), fiId: 'fi-b' });
  await cb.registerFi({ fiId: 'fi-a', idempotencyKey: 'reg-a' });
  await cb.registerFi({ fiId: 'fi-b', idempotencyKey: 'reg-b' });
  return {
    cb,
    fiA,
    fiB,
    clock,
    dbs: { cb: cbDb, a: aDb, b: bDb },
    cleanup: async () => {
      for (const d of dbs) await d.cleanup();
    },
  };
}

/** Issues `amount` to an FI at the CB and records it in the FI's treasury, as the lead's glue will. */
export async function fundFi(
  net: Network,
  fi: FiLedger,
  amountMinor: bigint,
  key: string,
): Promise<void> {
  await net.cb.issue({ fiId: fi.fiId, amountMinor, idempotencyKey: `${key}/issue` });
  await fi.creditTreasury({ amountMinor, reference: `issue ${key}`, idempotencyKey: `${key}/treasury` });
}

/** Registers a customer of a tier and opens one account; returns both ids. */
export async function newCustomer(
  fi: FiLedger,
  key: string,
  tier = 1,
): Promise<{ customerId: string; accountId: string }> {
  const { customerId } = await fi.registerCustomer({ tier, identity: { name: key }, idempotencyKey: `${key}/kyc` });
  const { accountId } = await fi.openAccount({ customerId, idempotencyKey: `${key}/open` });
  return { customerId, accountId };
}

export interface SpawnedNode {
  url: string;
  stop(): Promise<void>;
}

/** Milliseconds a child node may take to start (tsx compiles on first run). */
const SPAWN_TIMEOUT_MS = 20_000;

/** Starts a ledger node in a child process (test/ledger/node_process.ts) and waits until it listens. */
export async function spawnNode(config: { node: NodeRole; database: DatabaseSpec }): Promise<SpawnedNode> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node process did not start in ${SPAWN_TIMEOUT_MS} ms: ${stderr}`)), SPAWN_TIMEOUT_MS);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node process exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
