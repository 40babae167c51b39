// The CB's nullifier registry on PostgreSQL (127.0.0.1:5432, a fresh database per run, dropped
// afterwards), plain table against hash partitions (src/ledger/db/partition.ts):
// `ledger.pg.nullifier.<layout>.seq.per_s` — inserts per second, one registration-sized batch
// (SYNC_PAYMENTS_MAX) per transaction, one after the other, into a registry that already holds
// PREFILL rows; `.par4.per_s` — the same with four batches in flight at once (four FIs
// registering together). Each figure is the median of RUNS runs. PostgreSQL's defaults
// (synchronous_commit on) apply; the machine is shared, so compare layouts within one run.

import type { Benchmark, BenchResult } from './harness.ts';
import { randomBatch } from '../test/ledger/nullifier_records.ts';
import { freshDb } from '../test/ledger/engines.ts';
import { migrate } from '../src/ledger/db/migrations.ts';
import { partitionNullifierRegistry } from '../src/ledger/db/partition.ts';
import { insertNullifiers } from '../src/ledger/cb/nullifiers.ts';
import { NULLIFIER_PARTITIONS_DEFAULT, SYNC_PAYMENTS_MAX } from '../src/ledger/limits.ts';

/** Rows in the registry before timing starts, so the index is not trivially small. */
const PREFILL = 50_000;
/** Rows inserted per timed run: ~80 batches of a full sync. */
const INSERTS_PER_RUN = 20_480;
const RUNS = 3;

const batchOf = randomBatch;

async function rate(partitions: number | undefined, inFlight: number): Promise<number> {
  const f = await freshDb('postgres');
  try {
    await migrate(f.db, () => 0);
    if (partitions !== undefined) await partitionNullifierRegistry(f.db, { partitions });
    for (let n = 0; n < PREFILL; n += 4096) await insertNullifiers(f.db, 0, batchOf(4096, 0n));
    const batches = Array.from({ length: INSERTS_PER_RUN / SYNC_PAYMENTS_MAX }, (_, i) => batchOf(SYNC_PAYMENTS_MAX, BigInt(1 + (i % 4))));
    let next = 0;
    let inserted = 0;
    const lane = async () => {
      while (next < batches.length) {
        const r = await insertNullifiers(f.db, 0, batches[next++]!);
        inserted += r.inserted; // after the await: `x += await y` would read x before it
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - t0) / 1000;
    if (inserted !== INSERTS_PER_RUN) throw new Error(`expected every nullifier new, ${inserted} inserted`);
    return inserted / seconds;
  } finally {
    await f.cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const benchmarks: Benchmark[] = [
  {
    group: 'ledger-pg-registry',
    async run(): Promise<BenchResult[]> {
      const layouts = [
        { label: 'plain', partitions: undefined },
        { label: `hash${NULLIFIER_PARTITIONS_DEFAULT}`, partitions: NULLIFIER_PARTITIONS_DEFAULT },
      ];
      const results: BenchResult[] = [];
      for (const [mode, inFlight] of [['seq', 1], ['par4', 4]] as const) {
        // Layouts alternate within each repetition so drifting machine load hits both alike.
        const samples = new Map<string, number[]>(layouts.map((l) => [l.label, []]));
        for (let r = 0; r < RUNS; r++) for (const l of layouts) samples.get(l.label)!.push(await rate(l.partitions, inFlight));
        for (const l of layouts) {
          results.push({ name: `ledger.pg.nullifier.${l.label}.${mode}.per_s`, value: Math.round(median(samples.get(l.label)!)), unit: 'inserts/s' });
        }
      }
      return results;
    },
  },
];
