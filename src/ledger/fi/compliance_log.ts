// The FI's compliance log: every alert opened or bumped, every assignment, override and resolution,
// every case opened, extended, annotated, closed or exported, and every watchlist import,
// appended once in the same transaction as the change it records, never changed. Chained like the
// admin log (book/hash_chain.ts): an entry edited, removed or inserted afterwards breaks
// verifyComplianceLog from that point; the head row pins the tail (keep its hash elsewhere to
// catch a rewrite of the whole tail).

import { bytesToHex } from '@noble/hashes/utils.js';
import { ZERO_HASH, chainHash } from '../book/hash_chain.ts';
import { rowBigint, rowBytes, rowString, type Queryable, type Tx } from '../db/adapter.ts';

const DOMAIN = 'tally/compliance-log/v1';

export interface ComplianceLogEntry {
  atMs: number;
  /** 'fi' for what the FI did on its own, else the operator's id. */
  actor: string;
  action:
    | 'alert.open' | 'alert.hit' | 'alert.assign' | 'alert.override' | 'alert.override-used' | 'alert.resolve' | 'alert.link'
    | 'case.open' | 'case.add-alert' | 'case.note' | 'case.close' | 'case.export'
    | 'watchlist.import';
  /** What the entry is about: an alert's id, a case's (case.*) or a watchlist import's (watchlist.import). */
  alertId: string;
  detail: unknown;
}

const fieldsOf = (seq: bigint, e: { atMs: number; actor: string; action: string; alertId: string; detail: string }): string[] =>
  [String(seq), String(e.atMs), e.actor, e.action, e.alertId, e.detail];

/** Appends one entry under the head row's lock, inside the caller's transaction. */
export async function appendComplianceLog(tx: Tx, entry: ComplianceLogEntry): Promise<bigint> {
  const detail = JSON.stringify(entry.detail);
  await tx.run('INSERT INTO compliance_log_head (id, seq, entry_hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING', [ZERO_HASH]);
  const head = (await tx.query('SELECT seq, entry_hash FROM compliance_log_head WHERE id = 1 FOR UPDATE'))[0]!;
  const seq = rowBigint(head, 'seq') + 1n;
  const prevHash = rowBytes(head, 'entry_hash');
  const entryHash = chainHash(DOMAIN, prevHash, fieldsOf(seq, { ...entry, detail }));
  await tx.run(
    'INSERT INTO compliance_log (seq, at_ms, actor, action, alert_id, detail, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [seq, BigInt(entry.atMs), entry.actor, entry.action, entry.alertId, detail, prevHash, entryHash],
  );
  await tx.run('UPDATE compliance_log_head SET seq = $1, entry_hash = $2 WHERE id = 1', [seq, entryHash]);
  return seq;
}

export interface ComplianceLogCheck {
  ok: boolean;
  entries: bigint;
  headHash: string;
  broken: { seq: bigint; reason: string } | null;
}

/** Walks the whole chain: 1..n without a gap, each hash recomputed, the head naming the last. */
export async function verifyComplianceLog(q: Queryable): Promise<ComplianceLogCheck> {
  const rows = await q.query('SELECT seq, at_ms, actor, action, alert_id, detail, prev_hash, entry_hash FROM compliance_log ORDER BY seq');
  let prev: Uint8Array = ZERO_HASH;
  let expected = 1n;
  const fail = (seq: bigint, reason: string): ComplianceLogCheck => ({ ok: false, entries: BigInt(rows.length), headHash: bytesToHex(prev), broken: { seq, reason } });
  for (const r of rows) {
    const seq = rowBigint(r, 'seq');
    if (seq !== expected) return fail(expected, `entry ${expected} is missing`);
    if (bytesToHex(rowBytes(r, 'prev_hash')) !== bytesToHex(prev)) return fail(seq, 'previous hash does not match the entry before');
    const e = { atMs: Number(rowBigint(r, 'at_ms')), actor: rowString(r, 'actor'), action: rowString(r, 'action'), alertId: rowString(r, 'alert_id'), detail: rowString(r, 'detail') };
    const h = chainHash(DOMAIN, prev, fieldsOf(seq, e));
    if (bytesToHex(h) !== bytesToHex(rowBytes(r, 'entry_hash'))) return fail(seq, 'entry hash does not match its content');
    prev = h;
    expected++;
  }
  const head = (await q.query('SELECT seq, entry_hash FROM compliance_log_head WHERE id = 1'))[0];
  const headSeq = head === undefined ? 0n : rowBigint(head, 'seq');
  const headHash = head === undefined ? ZERO_HASH : rowBytes(head, 'entry_hash');
  if (headSeq !== expected - 1n || bytesToHex(headHash) !== bytesToHex(prev)) return fail(expected - 1n, 'the head does not name the last entry (entries removed from the end?)');
  return { ok: true, entries: expected - 1n, headHash: bytesToHex(prev), broken: null };
}
