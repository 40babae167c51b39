// Opt-in operation counter for the group layer: how many scalar multiplications, MSM points,
// point additions, point decodes, Miller loops and final exponentiations one call really does.
// The device cost model (src/device/cost_model.ts) writes its per-command counts as data; this
// is how a test checks that data against the code instead of trusting the comments.
//
// Why this shape: group.ts calls `countOp` on every counted operation, and `countOp` is one
// comparison against null while nothing is counting, so the hook costs nothing measurable when
// off (the default). Counting is process-global: while `countOps(fn)` runs, every group
// operation of the process is counted, so callers must not run other crypto concurrently
// (tests run the counted call alone). Nested calls each see their own operations; the outer
// call also sees the inner ones.

import { assert } from './assert.ts';

export interface GroupOpCounts {
  /** Full G1 scalar multiplications (G1Point.mul). */
  g1Mul: number;
  /** Full G2 scalar multiplications (G2Point.mul). */
  g2Mul: number;
  /** Points in G1 multi-scalar multiplications, all MSMs summed. */
  g1MsmPoints: number;
  /** G1 multi-scalar multiplications (calls), to tell small MSMs from large ones. */
  g1Msms: number;
  /** G1 point additions, subtractions and doublings. */
  g1Add: number;
  /** G1 and G2 points decoded from bytes (curve equation and, unless deferred, subgroup). */
  pointDecodes: number;
  /** Of pointDecodes, those that deferred the subgroup check to a batch. */
  pointDecodesDeferred: number;
  /** G1 cofactor clearings (a 64-bit double-and-add, once per batched MSM check). */
  cofactorClears: number;
  /** Hashes to G1 (generators, per-epoch bases). */
  hashToCurve: number;
  millerLoops: number;
  finalExps: number;
}

export type GroupOp = keyof GroupOpCounts;

export const GROUP_OPS: readonly GroupOp[] = [
  'g1Mul', 'g2Mul', 'g1MsmPoints', 'g1Msms', 'g1Add', 'pointDecodes', 'pointDecodesDeferred',
  'cofactorClears', 'hashToCurve', 'millerLoops', 'finalExps',
];

export function zeroGroupOps(): GroupOpCounts {
  return {
    g1Mul: 0, g2Mul: 0, g1MsmPoints: 0, g1Msms: 0, g1Add: 0, pointDecodes: 0, pointDecodesDeferred: 0,
    cofactorClears: 0, hashToCurve: 0, millerLoops: 0, finalExps: 0,
  };
}

/** The counters of every countOps call in progress, innermost last; empty when off. */
const active: GroupOpCounts[] = [];
let counting = false;

/** Called by group.ts on every counted operation. One comparison when nothing is counting. */
export function countOp(op: GroupOp, n = 1): void {
  if (!counting) return;
  for (const c of active) c[op] += n;
}

/**
 * Runs `fn` (sync or async) and returns its result with the group operations it did. The
 * counter is removed when `fn` settles, also when it throws (the error propagates).
 */
export async function countOps<T>(fn: () => T | Promise<T>): Promise<{ result: T; counts: GroupOpCounts }> {
  const counts = zeroGroupOps();
  active.push(counts);
  counting = true;
  try {
    const result = await fn();
    return { result, counts };
  } finally {
    const i = active.lastIndexOf(counts);
    assert(i >= 0, 'countOps: counter vanished (overlapping countOps calls must nest)');
    active.splice(i, 1);
    counting = active.length > 0;
  }
}

/** Synchronous variant, for pure crypto calls. */
export function countOpsSync<T>(fn: () => T): { result: T; counts: GroupOpCounts } {
  const counts = zeroGroupOps();
  active.push(counts);
  counting = true;
  try {
    return { result: fn(), counts };
  } finally {
    active.splice(active.lastIndexOf(counts), 1);
    counting = active.length > 0;
  }
}
