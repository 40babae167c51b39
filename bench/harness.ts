// Benchmark harness: times a function, reports median and p95 in milliseconds. Benchmarks live in
// `bench/*.bench.ts`, each exporting `benchmarks: Benchmark[]`; `bench/run.ts` runs them all.

import os from 'node:os';
import { engineInfo } from '../src/crypto/engine/index.ts';

export type BenchResult =
  | { name: string; median_ms: number; p95_ms: number; n: number }
  | { name: string; value: number; unit: string };

export interface Benchmark {
  /** Group label, for `--only`. */
  group: string;
  run(): Promise<BenchResult[]>;
}

export function machine(): { cpu: string; cores: number; node: string; engine: string; engineDetail: string } {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version,
    engine: engineInfo.name, engineDetail: engineInfo.detail,
  };
}

function quantile(sorted: number[], q: number): number {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

/** Runs `fn` `warmup` times untimed, then `n` times timed; `perCall` divides each sample. */
export async function timeIt<S = undefined>(
  name: string,
  fn: (state: S) => unknown | Promise<unknown>,
  options: { n?: number; warmup?: number; perCall?: number; setup?: () => S | Promise<S> } = {},
): Promise<BenchResult> {
  const n = options.n ?? 20;
  const warmup = options.warmup ?? 2;
  const perCall = options.perCall ?? 1;
  // `setup` runs untimed before every call (e.g. work a device does while idle).
  const setup = options.setup ?? (() => undefined as S);
  for (let i = 0; i < warmup; i++) await fn(await setup());
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const state = await setup();
    const t0 = performance.now();
    await fn(state);
    samples.push((performance.now() - t0) / perCall);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { name, median_ms: round(quantile(samples, 0.5)), p95_ms: round(quantile(samples, 0.95)), n };
}
