// A pool of real payment records for the settlement benchmarks: 256 payments from four software
// payers (64 counters each, the tier-1 L), proved in worker threads (one per core) and cached in
// the temp directory under a hash of everything they depend on, since proving 256 payments takes
// about a minute here and the benchmark measures settling them, not making them.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeTagged, encodeTagged } from '../src/ledger/codec.ts';
import type { PoolJob, PoolRecord } from './ledger_pool_worker.ts';

function startWorker(): Worker {
  const url = new URL('./ledger_pool_worker.ts', import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true });
}

function runJob(job: PoolJob): Promise<PoolRecord[]> {
  const w = startWorker();
  return new Promise((resolve, reject) => {
    w.once('message', (r: PoolRecord[]) => {
      void w.terminate();
      resolve(r);
    });
    w.once('error', reject);
    w.postMessage(job);
  });
}

export async function paymentPool(base: Omit<PoolJob, 'seed' | 'count'>, payers: number, perPayer: number): Promise<PoolRecord[]> {
  const key = createHash('sha256').update(encodeTagged({ base, payers, perPayer, v: 2 })).digest('hex').slice(0, 24);
  const file = path.join(tmpdir(), `tally-bench-pool-${key}.json`);
  if (existsSync(file)) return decodeTagged(readFileSync(file, 'utf8')) as PoolRecord[];
  const jobs = Array.from({ length: payers }, (_, p) => ({ ...base, seed: `payer-${p}`, count: perPayer }));
  const lanes = Math.max(1, Math.min(availableParallelism(), payers));
  const results: PoolRecord[][] = new Array(payers);
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await runJob(jobs[i]!);
      }
    }),
  );
  const all = results.flat();
  writeFileSync(file, encodeTagged(all));
  return all;
}
