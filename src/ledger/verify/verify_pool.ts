// A fixed pool of verification worker threads (node:worker_threads). A batch of payment records
// is cut into VERIFY_CHUNKS_PER_WORKER chunks per worker (each VERIFY_CHUNK_MIN..VERIFY_CHUNK_MAX),
// which the workers take from one queue as they finish, and the answers are merged: failing
// indexes mapped back to batch positions and the partial Σ C_a added. A queue rather than one chunk
// per worker: the two cores are shared (main thread, database, other processes), and with fixed
// halves the batch waited for the slower worker (measured: 15 % of a 256-payment settle). With
// `workers: 0` the same code runs in-thread (tests of the logic alone).
//
// Why ref/unref: an idle pool must not keep a process alive, a busy one must.
// Under tsx (a .ts module URL) a worker cannot load .ts through `execArgv: ['--import', 'tsx']` on
// Node 20 (checked: "Unknown file extension .ts"), so it starts from a small eval bootstrap that
// registers tsx's ESM hooks in the worker and then imports the worker module.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assert } from '../../crypto/assert.ts';
import { G1Point } from '../../crypto/index.ts';
import { VERIFY_CHUNK_MAX, VERIFY_CHUNK_MIN, VERIFY_CHUNKS_PER_WORKER } from '../limits.ts';
import { verifyChunk, type VerifyChunkResult, type VerifyItem } from './verify_batch.ts';

interface Pending {
  resolve(r: VerifyChunkResult): void;
  reject(e: Error): void;
}

function startWorker(): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './verify_worker.ts' : './verify_worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return new Worker(url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true });
}

class PoolWorker {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor() {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; result?: VerifyChunkResult; error?: string }) => {
      const p = this.pending.get(msg.id);
      assert(p !== undefined, `verification worker answered unknown request ${msg.id}`);
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.error !== undefined) p.reject(new Error(`verification worker failed: ${msg.error}`));
      else p.resolve(msg.result!);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`verification worker exited with code ${code}`)));
  }

  private failAll(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  run(items: VerifyItem[], regulatorKey: Uint8Array, seed?: string): Promise<VerifyChunkResult> {
    if (this.dead !== null) return Promise.reject(this.dead);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, chunk: { items, regulatorKey, seed } });
    });
  }
}

/** Chunk size for `count` payments over `workers` threads (see the file comment). */
export function verifyChunkSize(count: number, workers: number): number {
  // In-thread there is nobody to balance against: one MSM for as much as a chunk may hold.
  if (workers === 0) return Math.min(VERIFY_CHUNK_MAX, Math.max(1, count));
  const chunks = workers * VERIFY_CHUNKS_PER_WORKER;
  const size = Math.min(VERIFY_CHUNK_MAX, Math.max(VERIFY_CHUNK_MIN, Math.ceil(count / chunks)));
  assert(size >= 1 && size <= VERIFY_CHUNK_MAX, `verifyChunkSize: ${size}`);
  return size;
}

export interface VerifyOutcome {
  failed: number[];
  sumCa: G1Point;
}

export class VerifyPool {
  private readonly workers: PoolWorker[];
  private turn = 0;

  /** `workers` threads (default: the machine's cores); 0 verifies in the calling thread. */
  constructor(workers = availableParallelism()) {
    assert(Number.isInteger(workers) && workers >= 0 && workers <= 64, `VerifyPool: bad worker count ${workers}`);
    this.workers = Array.from({ length: workers }, () => new PoolWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  async verify(items: readonly VerifyItem[], regulatorKey: Uint8Array, seed?: string): Promise<VerifyOutcome> {
    const chunkSize = verifyChunkSize(items.length, this.workers.length);
    const starts: number[] = [];
    for (let s = 0; s < items.length; s += chunkSize) starts.push(s);
    const chunkOf = (i: number) => items.slice(starts[i]!, starts[i]! + chunkSize);
    // A chunk's seed names its position, so weights do not depend on which worker took it.
    const seedOf = (i: number) => (seed === undefined ? undefined : `${seed}/${i}`);
    const results: VerifyChunkResult[] = new Array(starts.length);
    if (this.workers.length === 0) {
      starts.forEach((_, i) => (results[i] = verifyChunk({ items: chunkOf(i), regulatorKey, seed: seedOf(i) })));
    } else {
      let next = 0;
      // Rotating the first worker spreads small batches (one chunk) over the pool.
      const order = this.workers.map((_, k) => this.workers[(this.turn + k) % this.workers.length]!);
      this.turn++;
      await Promise.all(
        order.slice(0, starts.length).map(async (w) => {
          while (next < starts.length) {
            const i = next++;
            results[i] = await w.run(chunkOf(i), regulatorKey, seedOf(i));
          }
        }),
      );
    }
    const failed: number[] = [];
    let sumCa = G1Point.IDENTITY;
    results.forEach((r, i) => {
      for (const f of r.failed) failed.push(starts[i]! + f);
      sumCa = sumCa.add(G1Point.fromBytes(r.sumCa, { allowIdentity: true }));
    });
    assert(failed.every((f) => f >= 0 && f < items.length), 'VerifyPool: failing index outside the batch');
    return { failed, sumCa };
  }

  /** Waits until every worker has loaded the curve engine and hashed the fixed generators. */
  async warmUp(regulatorKey: Uint8Array): Promise<void> {
    await Promise.all(this.workers.map((w) => w.run([], regulatorKey)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
