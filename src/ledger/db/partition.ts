// Opt-in layout for a PostgreSQL CB database: the tables keyed on (epoch, nullifier) become
// tables declaratively partitioned by HASH (nullifier) into N partitions (DESIGN §6 scale path).
// Migrations stay as they are, for both engines and for every existing database; this runs after
// them, on PostgreSQL only, and is idempotent: a database already partitioned into N is left
// alone, one partitioned into another N is refused (repartitioning is not built), a plain one is
// converted in one transaction. SQLite keeps its plain tables.
//
// Which tables: `nullifiers` (UNIQUE(epoch, nullifier), the double-spend decision),
// `nullifier_conflicts` (PRIMARY KEY (epoch, nullifier, second_payment_hash)) and `reclaims`
// (PRIMARY KEY (epoch, nullifier), written in the same transaction as the reclaimed nullifier).
// Each key contains the partition key, as PostgreSQL requires of a unique index on a partitioned
// table, so every key is enforced inside one partition and UNIQUE(epoch, nullifier) means exactly
// what it means on the plain table. The three use the same key column type and modulus, so
// partition i of each holds the same nullifiers: a partition owns a slice of the nullifier space
// with everything the CB decides about it. Left plain: `incidents` (its primary key is a random
// id that `blocked_customers` and `revocation_entries` reference, and a foreign key to a
// partitioned table needs the partition key in the referenced key) and `revocation_entries`
// (one row per incident, read whole to build the signed list); `payment_evidence` is keyed by
// payment hash. Those hold one row per double spend, not one per payment.
//
// Conversion: rename the plain table, create the partitioned one with `LIKE ... INCLUDING
// DEFAULTS INCLUDING CONSTRAINTS` (so its columns, NOT NULLs and CHECKs are the migrated ones,
// whatever later migrations add), create the N partitions, copy the rows, drop the plain table,
// then create the key under its original name. It takes the migration lock and ACCESS EXCLUSIVE
// locks on the tables: run it before the CB serves (CbLedger.open does, when asked), not under load.

import { assert } from '../../crypto/assert.ts';
import { NULLIFIER_PARTITIONS_DEFAULT, NULLIFIER_PARTITIONS_MAX } from '../limits.ts';
import { rowBigint, rowNullableString, rowString, type Db, type Queryable, type Tx } from './adapter.ts';
import { MIGRATION_LOCK_ID } from './migrations.ts';

/** The partition key column, the same in every table below. */
export const NULLIFIER_PARTITION_KEY = 'nullifier';

interface PartitionedTable {
  name: string;
  /** The unique key, with the name the migrations gave it; it must contain the partition key. */
  keyName: string;
  keyColumns: readonly string[];
  kind: 'unique index' | 'primary key';
}

export const NULLIFIER_PARTITIONED_TABLES: readonly PartitionedTable[] = [
  { name: 'nullifiers', keyName: 'nullifiers_epoch_nullifier', keyColumns: ['epoch', 'nullifier'], kind: 'unique index' },
  { name: 'nullifier_conflicts', keyName: 'nullifier_conflicts_pkey', keyColumns: ['epoch', 'nullifier', 'second_payment_hash'], kind: 'primary key' },
  { name: 'reclaims', keyName: 'reclaims_pkey', keyColumns: ['epoch', 'nullifier'], kind: 'primary key' },
];

for (const t of NULLIFIER_PARTITIONED_TABLES) {
  assert(t.keyColumns.includes(NULLIFIER_PARTITION_KEY), `${t.name}: its unique key must contain the partition key`);
}

export interface TableLayout {
  table: string;
  /** 'plain', 'hash' (declaratively partitioned by HASH) or 'other' (by LIST or RANGE). */
  layout: 'plain' | 'hash' | 'other';
  /** Partition key columns ('' when plain). */
  partitionKey: string;
  /** Partition names in remainder order (empty when plain). */
  partitions: string[];
  /** The modulus every partition bound names (0 when plain). */
  modulus: number;
}

export interface PartitionResult {
  partitions: number;
  /** Tables converted by this call (empty when the database was already partitioned into N). */
  converted: string[];
}

/** How one table of the registry is laid out now (PostgreSQL). */
export async function tableLayout(q: Queryable, table: string): Promise<TableLayout> {
  assert(q.dialect === 'postgres', 'table layouts are read from PostgreSQL catalogs');
  const rows = await q.query(
    `SELECT c.relkind::text AS relkind, pt.partstrat::text AS strategy,
       (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS partition_key
     FROM pg_class c LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
     WHERE c.oid = to_regclass($1)`,
    [table],
  );
  assert(rows.length === 1, `table ${table} does not exist (run the migrations first)`);
  const row = rows[0]!;
  if (rowString(row, 'relkind') === 'r') return { table, layout: 'plain', partitionKey: '', partitions: [], modulus: 0 };
  assert(rowString(row, 'relkind') === 'p', `table ${table} is neither a plain nor a partitioned table`);
  const strategy = rowNullableString(row, 'strategy');
  const children = await q.query(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1)`,
    [table],
  );
  const byRemainder = new Map<number, string>();
  let modulus = 0;
  for (const child of children) {
    const m = /^FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)$/.exec(rowString(child, 'bound'));
    assert(m !== null, `partition ${rowString(child, 'name')} of ${table} is not a hash partition (${rowString(child, 'bound')})`);
    assert(modulus === 0 || modulus === Number(m[1]), `partitions of ${table} name different moduli`);
    modulus = Number(m[1]);
    byRemainder.set(Number(m[2]), rowString(child, 'name'));
  }
  const partitions = Array.from({ length: byRemainder.size }, (_, r) => byRemainder.get(r) ?? '');
  return { table, layout: strategy === 'h' ? 'hash' : 'other', partitionKey: rowNullableString(row, 'partition_key') ?? '', partitions, modulus };
}

/** The layout every table must have once partitionNullifierRegistry(N) has run; a reason if not. */
function layoutProblem(l: TableLayout, partitions: number): string | undefined {
  if (l.layout !== 'hash') return `${l.table} is not hash-partitioned`;
  if (l.partitionKey !== NULLIFIER_PARTITION_KEY) return `${l.table} is partitioned by (${l.partitionKey}), not (${NULLIFIER_PARTITION_KEY})`;
  if (l.modulus !== partitions || l.partitions.length !== partitions || l.partitions.includes('')) {
    return `${l.table} has ${l.partitions.length} partitions of modulus ${l.modulus}, not ${partitions} (repartitioning is not built)`;
  }
  return undefined;
}

/** Indexes and foreign keys the conversion would silently drop: refused rather than lost. */
async function checkConvertible(tx: Tx, t: PartitionedTable): Promise<void> {
  const indexes = await tx.query('SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1', [t.name]);
  const names = indexes.map((r) => rowString(r, 'indexname'));
  assert(
    names.length === 1 && names[0] === t.keyName,
    `${t.name}: expected only its key ${t.keyName}, found indexes ${names.join(', ')}; teach db/partition.ts the new index before converting`,
  );
  const fks = await tx.query(
    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_constraint WHERE contype = 'f' AND (conrelid = to_regclass($1) OR confrelid = to_regclass($1))",
    [t.name],
  );
  assert(rowBigint(fks[0]!, 'n') === 0n, `${t.name}: a foreign key involves it; the partitioned layout does not carry foreign keys`);
}

async function convert(tx: Tx, t: PartitionedTable, partitions: number): Promise<void> {
  await checkConvertible(tx, t);
  const old = `${t.name}_unpartitioned`;
  const before = await tx.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${t.name}`);
  await tx.run(`ALTER TABLE ${t.name} RENAME TO ${old}`);
  await tx.run(`CREATE TABLE ${t.name} (LIKE ${old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY HASH (${NULLIFIER_PARTITION_KEY})`);
  for (let r = 0; r < partitions; r++) {
    await tx.run(`CREATE TABLE ${t.name}_p${r} PARTITION OF ${t.name} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${r})`);
  }
  const copied = await tx.run(`INSERT INTO ${t.name} SELECT * FROM ${old}`);
  assert(BigInt(copied) === rowBigint(before[0]!, 'n'), `${t.name}: copied ${copied} rows of ${rowBigint(before[0]!, 'n')}`);
  await tx.run(`DROP TABLE ${old}`);
  const columns = t.keyColumns.join(', ');
  await tx.run(
    t.kind === 'primary key'
      ? `ALTER TABLE ${t.name} ADD CONSTRAINT ${t.keyName} PRIMARY KEY (${columns})`
      : `CREATE UNIQUE INDEX ${t.keyName} ON ${t.name} (${columns})`,
  );
}

/**
 * Lays the CB's nullifier registry out as PostgreSQL hash partitions (see the file comment).
 * Needs every migration applied; returns which tables it converted.
 */
export async function partitionNullifierRegistry(db: Db, options: { partitions?: number } = {}): Promise<PartitionResult> {
  const partitions = options.partitions ?? NULLIFIER_PARTITIONS_DEFAULT;
  if (db.dialect !== 'postgres') throw new Error('Cannot partition the nullifier registry: partitioning needs PostgreSQL (SQLite keeps its plain tables)');
  if (!Number.isInteger(partitions) || partitions < 2 || partitions > NULLIFIER_PARTITIONS_MAX) {
    throw new Error(`Cannot partition the nullifier registry: partitions must be an integer in 2..${NULLIFIER_PARTITIONS_MAX} (got ${partitions})`);
  }
  const converted = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    const done: string[] = [];
    for (const t of NULLIFIER_PARTITIONED_TABLES) {
      const now = await tableLayout(tx, t.name);
      if (now.layout === 'plain') {
        await convert(tx, t, partitions);
        done.push(t.name);
        continue;
      }
      const problem = layoutProblem(now, partitions);
      if (problem !== undefined) throw new Error(`Cannot partition the nullifier registry into ${partitions}: ${problem}`);
    }
    for (const t of NULLIFIER_PARTITIONED_TABLES) {
      const problem = layoutProblem(await tableLayout(tx, t.name), partitions);
      assert(problem === undefined, `after partitioning: ${problem}`);
    }
    return done;
  });
  return { partitions, converted };
}
