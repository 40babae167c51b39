// The admin log of one node: every privileged action — who (operator id and role), what (method,
// route, path parameters, idempotency key, body), when, and the result (status and error code) —
// appended once, never changed. Entries form a hash chain: entry_hash = SHA-256 over the previous
// entry's hash and this entry's fields in a fixed encoding, and the head row holds the newest
// hash, so an entry edited, removed or inserted afterwards breaks verifyAdminLog from that point
// (a rewrite of the whole tail is caught only against a copy of the head kept elsewhere:
// `verifyAdminLog` returns it for that purpose).

import { bytesToHex } from '@noble/hashes/utils.js';
import { ZERO_HASH, chainHash } from '../book/hash_chain.ts';
import { rowBigint, rowBytes, rowNullableString, rowString, type Queryable, type Db } from '../db/adapter.ts';

export interface AdminLogEntry {
  atMs: number;
  operatorId: string;
  role: string;
  action: string;
  detail: unknown;
  status: number;
  code: string | null;
}

export interface AdminLogRecord extends AdminLogEntry {
  seq: bigint;
  prevHash: Uint8Array;
  entryHash: Uint8Array;
}

const DOMAIN = 'tally/admin-log/v1';

/** The hash of one entry given its predecessor's: every field length-prefixed, domain-separated. */
export function adminEntryHash(prevHash: Uint8Array, seq: bigint, e: { atMs: number; operatorId: string; role: string; action: string; detail: string; status: number; code: string | null }): Uint8Array {
  const fields = [String(seq), String(e.atMs), e.operatorId, e.role, e.action, e.detail, String(e.status), e.code ?? ''];
  return chainHash(DOMAIN, prevHash, fields);
}

/** Appends one entry under the head row's lock; returns its sequence number. */
export async function appendAdminLog(db: Db, entry: AdminLogEntry): Promise<bigint> {
  const detail = JSON.stringify(entry.detail);
  return db.transaction(async (tx) => {
    await tx.run('INSERT INTO admin_log_head (id, seq, entry_hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING', [ZERO_HASH]);
    const head = (await tx.query('SELECT seq, entry_hash FROM admin_log_head WHERE id = 1 FOR UPDATE'))[0]!;
    const seq = rowBigint(head, 'seq') + 1n;
    const prevHash = rowBytes(head, 'entry_hash');
    const entryHash = adminEntryHash(prevHash, seq, { ...entry, detail });
    await tx.run(
      'INSERT INTO admin_log (seq, at_ms, operator_id, role, action, detail, status, code, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [seq, BigInt(entry.atMs), entry.operatorId, entry.role, entry.action, detail, BigInt(entry.status), entry.code, prevHash, entryHash],
    );
    await tx.run('UPDATE admin_log_head SET seq = $1, entry_hash = $2 WHERE id = 1', [seq, entryHash]);
    return seq;
  });
}

function recordOf(r: Record<string, unknown>): AdminLogRecord {
  return {
    seq: rowBigint(r, 'seq'), atMs: Number(rowBigint(r, 'at_ms')), operatorId: rowString(r, 'operator_id'), role: rowString(r, 'role'),
    action: rowString(r, 'action'), detail: JSON.parse(rowString(r, 'detail')) as unknown, status: Number(rowBigint(r, 'status')),
    code: rowNullableString(r, 'code'), prevHash: rowBytes(r, 'prev_hash'), entryHash: rowBytes(r, 'entry_hash'),
  };
}

/** The newest `limit` entries (with `before`, the newest below that sequence number), newest first. */
export async function readAdminLog(q: Queryable, limit = 100, before?: bigint): Promise<AdminLogRecord[]> {
  const rows = before === undefined
    ? await q.query('SELECT * FROM admin_log ORDER BY seq DESC LIMIT $1', [BigInt(limit)])
    : await q.query('SELECT * FROM admin_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [before, BigInt(limit)]);
  return rows.map(recordOf);
}

export interface AdminLogCheck {
  ok: boolean;
  entries: bigint;
  /** Hex of the newest entry's hash (zeros when empty): keep a copy elsewhere to pin the tail. */
  headHash: string;
  /** The first sequence number at which the chain does not hold, with why. */
  broken: { seq: bigint; reason: string } | null;
}

/** Walks the whole chain: sequence numbers 1..n without a gap, each hash recomputed, the head matching. */
export async function verifyAdminLog(q: Queryable): Promise<AdminLogCheck> {
  const rows = await q.query('SELECT seq, at_ms, operator_id, role, action, detail, status, code, prev_hash, entry_hash FROM admin_log ORDER BY seq');
  let prev: Uint8Array = ZERO_HASH;
  let expected = 1n;
  const fail = (seq: bigint, reason: string): AdminLogCheck => ({ ok: false, entries: BigInt(rows.length), headHash: bytesToHex(prev), broken: { seq, reason } });
  for (const r of rows) {
    const seq = rowBigint(r, 'seq');
    if (seq !== expected) return fail(expected, `entry ${expected} is missing`);
    if (bytesToHex(rowBytes(r, 'prev_hash')) !== bytesToHex(prev)) return fail(seq, 'previous hash does not match the entry before');
    const e = { atMs: Number(rowBigint(r, 'at_ms')), operatorId: rowString(r, 'operator_id'), role: rowString(r, 'role'), action: rowString(r, 'action'), detail: rowString(r, 'detail'), status: Number(rowBigint(r, 'status')), code: rowNullableString(r, 'code') };
    const h = adminEntryHash(prev, seq, e);
    if (bytesToHex(h) !== bytesToHex(rowBytes(r, 'entry_hash'))) return fail(seq, 'entry hash does not match its content');
    prev = h;
    expected++;
  }
  const head = (await q.query('SELECT seq, entry_hash FROM admin_log_head WHERE id = 1'))[0];
  const headSeq = head === undefined ? 0n : rowBigint(head, 'seq');
  const headHash = head === undefined ? ZERO_HASH : rowBytes(head, 'entry_hash');
  if (headSeq !== expected - 1n || bytesToHex(headHash) !== bytesToHex(prev)) return fail(expected - 1n, 'the head does not name the last entry (entries removed from the end?)');
  return { ok: true, entries: expected - 1n, headHash: bytesToHex(prev), broken: null };
}
