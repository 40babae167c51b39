// The linking attack (issue 13): for pairs of paid payments an adversary guesses "same payer
// device" from what it sees, and the guess is scored against ground truth (payerDevice) as AUC.
// The advantage reported is AUC − 0.5 (0.5 = chance: a guess that ranks pairs at random).
//
// Heuristic (amount-independent, since single amounts are hidden): a payment becomes visible
// when the payee's sync uploads its nullifier. Payments of one payer at one payee close together
// in time are uploaded in the same batch or close batches, so the score of a pair is the
// score of a pair is: 2 if both arrive in the same batch, + 1 if through the same payee device,
// + a closeness term 0.5 / (1 + hours between the uploads) that orders pairs within those groups.
// The CB sees every batch (nullifiers, timing); an FI sees only its own customers' syncs (timing
// and Σ received, no nullifiers), so it places a payment only by the sync of its customer that
// follows it, and knows nothing (a tied score) about a pair where a payee is not its customer.

import type { RunRecord } from '../fleet/types.ts';

/** At most this many paid payments (the first by step) enter the pairwise score: O(n²) pairs. */
export const LINK_SAMPLE_MAX = 400;
const HOUR_MS = 3_600_000;

export interface AdversaryScore {
  adversary: string;
  pairs: number;
  samePayerPairs: number;
  /** Fraction of pairs that are same-payer: the base rate. */
  baseRate: number;
  auc: number;
  /** AUC − 0.5; baseline 0 = chance. */
  advantage: number;
}

export interface PrivacyFigures {
  baseline: string;
  adversaries: AdversaryScore[];
}

/** AUC by Mann–Whitney with ties counted half; deterministic. */
export function auc(scores: number[], labels: boolean[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]!]) rankSum += rank;
    i = j + 1;
  }
  for (const l of labels) l ? pos++ : neg++;
  if (pos === 0 || neg === 0) return 0.5;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

interface Seen {
  payer: string;
  /** Upload time and batch id as this adversary sees them, or null when unseen. */
  atMs: number | null;
  batch: number | null;
  /** The device whose sync uploaded it (the payee), or null when unseen. */
  device: string | null;
}

function score(view: Seen[], name: string): AdversaryScore {
  const scores: number[] = [];
  const labels: boolean[] = [];
  for (let i = 0; i < view.length; i++)
    for (let j = i + 1; j < view.length; j++) {
      const a = view[i]!;
      const b = view[j]!;
      let s = -Infinity;
      if (a.atMs !== null && b.atMs !== null) s = (a.batch === b.batch ? 2 : 0) + (a.device === b.device ? 1 : 0) + 0.5 / (1 + Math.abs(a.atMs - b.atMs) / HOUR_MS);
      scores.push(s === -Infinity ? -1 : s);
      labels.push(a.payer === b.payer);
    }
  const same = labels.filter(Boolean).length;
  const a = auc(scores, labels);
  return { adversary: name, pairs: labels.length, samePayerPairs: same, baseRate: labels.length ? same / labels.length : 0, auc: a, advantage: a - 0.5 };
}

export function linkingAttack(record: RunRecord): PrivacyFigures {
  const paid = record.payments.filter((p) => p.outcome === 'paid').sort((a, b) => a.step - b.step || (a.nullifier < b.nullifier ? -1 : 1)).slice(0, LINK_SAMPLE_MAX);
  const syncs = [...record.syncs].sort((a, b) => a.step - b.step || a.atMs - b.atMs);
  const batchOf = new Map<string, { atMs: number; batch: number }>();
  syncs.forEach((s, i) => {
    for (const n of s.nullifiers) if (!batchOf.has(n)) batchOf.set(n, { atMs: s.atMs, batch: i });
  });
  const cb: Seen[] = paid.map((p) => {
    const b = batchOf.get(p.nullifier);
    return { payer: p.payerDevice, atMs: b?.atMs ?? null, batch: b?.batch ?? null, device: b === undefined ? null : syncs[b.batch]!.device };
  });
  const adversaries = [score(cb, 'CB (all batches, nullifiers, timing)')];
  const fiOf = new Map(record.devices.map((d) => [d.id, d.fiId]));
  for (const fi of [...new Set(record.devices.map((d) => d.fiId))].sort()) {
    // The FI's view: its customers' syncs; a payment received by its customer is placed at the first
    // sync of that device at or after it (what the receipts count and Σ received reveal).
    const own = syncs.map((s, i) => ({ s, i })).filter(({ s }) => s.fiId === fi);
    const view: Seen[] = paid.map((p) => {
      if (fiOf.get(p.payeeDevice) !== fi) return { payer: p.payerDevice, atMs: null, batch: null, device: null };
      const next = own.find(({ s }) => s.device === p.payeeDevice && s.atMs >= p.atMs);
      return { payer: p.payerDevice, atMs: next?.s.atMs ?? null, batch: next?.i ?? null, device: next?.s.device ?? null };
    });
    adversaries.push(score(view, `FI ${fi} (its customers' syncs: timing, Σ received)`));
  }
  return { baseline: 'AUC over all pairs of (up to 400) paid payments, same payer device or not; advantage = AUC − 0.5, 0 = chance', adversaries };
}
