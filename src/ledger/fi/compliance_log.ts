// The FI's compliance log: every alert opened or bumped, every assignment, override and resolution,
// every case opened, extended, annotated, closed or exported, every watchlist import, and every
// freeze and unfreeze of a customer (its fi_freeze_log row is checked against its entry), appended once in the same transaction as the change it records, never changed. Chained like the
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
    | 'watchlist.import'
    | 'customer.freeze' | 'customer.unfreeze';
  /** What the entry is about: an alert's id, a case's (case.*), a watchlist import's (watchlist.import) or a customer's (customer.*). */
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

/** One fi_freeze_log row, as it is written there and into its chained entry's detail. */
export interface FreezeRow {
  seq: bigint;
  customerId: string;
  frozen: boolean;
  reason: string;
  operatorId: string;
  atMs: number;
}

/** The chained entry of a freeze or unfreeze: its detail repeats the fi_freeze_log row whole. */
export function freezeLogEntry(r: FreezeRow): ComplianceLogEntry {
  return {
    atMs: r.atMs, actor: r.operatorId, action: r.frozen ? 'customer.freeze' : 'customer.unfreeze', alertId: r.customerId,
    detail: { freezeSeq: String(r.seq), reason: r.reason },
  };
}

const freezeDetail = (r: FreezeRow): string => JSON.stringify(freezeLogEntry(r).detail);

/**
 * Chains the freezes an FI wrote before freezes entered the compliance log (migration 019 marks
 * them): one entry per marked row, in seq order, once. Runs at the FI's open; a second open, or a
 * database made after the upgrade, finds `done` set and writes nothing. Returns the rows chained.
 */
export async function chainLegacyFreezes(tx: Tx): Promise<number> {
  const mark = (await tx.query('SELECT through_seq, done FROM fi_freeze_chain_backfill WHERE id = 1 FOR UPDATE'))[0];
  if (mark === undefined || rowBigint(mark, 'done') === 1n) return 0;
  const rows = await tx.query('SELECT seq, customer_id, frozen, reason, operator_id, at_ms FROM fi_freeze_log WHERE seq <= $1 ORDER BY seq', [rowBigint(mark, 'through_seq')]);
  for (const r of rows) await appendComplianceLog(tx, freezeLogEntry(freezeRowOf(r)));
  await tx.run('UPDATE fi_freeze_chain_backfill SET done = 1 WHERE id = 1');
  return rows.length;
}

function freezeRowOf(r: Record<string, unknown>): FreezeRow {
  return {
    seq: rowBigint(r, 'seq'), customerId: rowString(r, 'customer_id'), frozen: rowBigint(r, 'frozen') === 1n, reason: rowString(r, 'reason'),
    operatorId: rowString(r, 'operator_id'), atMs: Number(rowBigint(r, 'at_ms')),
  };
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
  // Freeze entries in chain order, to hold each fi_freeze_log row against (below).
  const freezes: { seq: bigint; action: string; actor: string; customerId: string; atMs: number; detail: string }[] = [];
  for (const r of rows) {
    const seq = rowBigint(r, 'seq');
    if (seq !== expected) return fail(expected, `entry ${expected} is missing`);
    if (bytesToHex(rowBytes(r, 'prev_hash')) !== bytesToHex(prev)) return fail(seq, 'previous hash does not match the entry before');
    const e = { atMs: Number(rowBigint(r, 'at_ms')), actor: rowString(r, 'actor'), action: rowString(r, 'action'), alertId: rowString(r, 'alert_id'), detail: rowString(r, 'detail') };
    const h = chainHash(DOMAIN, prev, fieldsOf(seq, e));
    if (bytesToHex(h) !== bytesToHex(rowBytes(r, 'entry_hash'))) return fail(seq, 'entry hash does not match its content');
    if (e.action === 'customer.freeze' || e.action === 'customer.unfreeze') freezes.push({ seq, action: e.action, actor: e.actor, customerId: e.alertId, atMs: e.atMs, detail: e.detail });
    prev = h;
    expected++;
  }
  const head = (await q.query('SELECT seq, entry_hash FROM compliance_log_head WHERE id = 1'))[0];
  const headSeq = head === undefined ? 0n : rowBigint(head, 'seq');
  const headHash = head === undefined ? ZERO_HASH : rowBytes(head, 'entry_hash');
  if (headSeq !== expected - 1n || bytesToHex(headHash) !== bytesToHex(prev)) return fail(expected - 1n, 'the head does not name the last entry (entries removed from the end?)');
  // fi_freeze_log is a table of its own (migration 015): row k must be the k-th freeze entry of the chain, field for field.
  const frozenRows = await q.query('SELECT seq, customer_id, frozen, reason, operator_id, at_ms FROM fi_freeze_log ORDER BY seq');
  for (const [i, r] of frozenRows.entries()) {
    const row = freezeRowOf(r);
    const entry = freezes[i];
    if (entry === undefined) return fail(row.seq, `freeze log row ${row.seq} has no entry in the chain`);
    const want = freezeLogEntry(row);
    if (entry.action !== want.action || entry.actor !== want.actor || entry.customerId !== want.alertId || entry.atMs !== want.atMs || entry.detail !== freezeDetail(row)) {
      return fail(entry.seq, `freeze log row ${row.seq} does not match its chained entry`);
    }
  }
  if (freezes.length > frozenRows.length) return fail(freezes[frozenRows.length]!.seq, 'a chained freeze entry has no freeze log row (row removed?)');
  return { ok: true, entries: expected - 1n, headHash: bytesToHex(prev), broken: null };
}
