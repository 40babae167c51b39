// Running totals of each FI's moves into and out of offline circulation at the CB (migration 020).
// The CB's fi.in_flight_share rule (cb/aggregate_rules.ts) needs, on every move of an FI, what the
// FI funded into SEs less what came back to it (defunds, reclaims): the sum of its reserve's legs
// of those kinds over its whole history. Summing the journal each time costs time linear in that
// history, so the journal keeps the sum as it writes: post() calls addCirculationLeg for every
// entry on an FI reserve in a journal transaction of a circulation kind, in the same database
// transaction, so no move can forget it and a rolled-back or replayed move (an idempotent replay
// answers from its stored result without posting) adds nothing. Two monotone columns rather than
// one signed net: each has a sign CHECK, and a drift shows which side went wrong. The audit
// (audit.ts, CIRCULATION_TOTAL_MISMATCH) re-derives both from the journal.

import { assert } from '../../crypto/assert.ts';
import { rowBigint, type Queryable, type Tx } from '../db/adapter.ts';
import { CIRCULATION_TOTAL_MAX_MINOR } from '../limits.ts';

/** Journal kinds whose legs on an FI reserve move value into (−) or out of (+) circulation. */
export const CIRCULATION_KINDS: readonly string[] = ['cb.fundCirculation', 'cb.defundCirculation', 'cb.reclaim'];
const CIRCULATION_KIND_SET: ReadonlySet<string> = new Set(CIRCULATION_KINDS);

/** `t.kind IN (...)` for the circulation kinds (constants, never input). */
export const CIRCULATION_KINDS_SQL = CIRCULATION_KINDS.map((k) => `'${k}'`).join(', ');

export const isCirculationKind = (kind: string): boolean => CIRCULATION_KIND_SET.has(kind);

export interface CirculationTotal {
  /** Σ value the FI's reserve sent into circulation (its − legs of the circulation kinds). */
  fundedMinor: bigint;
  /** Σ value circulation gave back to the FI's reserve (its + legs: defunds and reclaims). */
  returnedMinor: bigint;
}

/**
 * Adds one reserve leg of a circulation kind to the FI's running total. Inside post()'s
 * transaction, after the leg is written; the row is created on the FI's first such leg.
 */
export async function addCirculationLeg(tx: Tx, fiId: string, amountMinor: bigint): Promise<void> {
  assert(amountMinor !== 0n, `circulation leg of FI ${fiId} has amount 0`);
  const funded = amountMinor < 0n ? -amountMinor : 0n;
  const returned = amountMinor > 0n ? amountMinor : 0n;
  const rows = await tx.query(
    'INSERT INTO cb_fi_circulation_totals (fi_id, funded_minor, returned_minor) VALUES ($1, $2, $3) ' +
      'ON CONFLICT (fi_id) DO UPDATE SET funded_minor = cb_fi_circulation_totals.funded_minor + excluded.funded_minor, ' +
      'returned_minor = cb_fi_circulation_totals.returned_minor + excluded.returned_minor RETURNING funded_minor, returned_minor',
    [fiId, funded, returned],
  );
  assert(rows.length === 1, `circulation total of FI ${fiId}: expected one row written, found ${rows.length}`);
  const after = { fundedMinor: rowBigint(rows[0]!, 'funded_minor'), returnedMinor: rowBigint(rows[0]!, 'returned_minor') };
  assert(after.fundedMinor >= funded && after.returnedMinor >= returned, `circulation total of FI ${fiId} went down: ${after.fundedMinor}/${after.returnedMinor}`);
  assert(after.fundedMinor <= CIRCULATION_TOTAL_MAX_MINOR && after.returnedMinor <= CIRCULATION_TOTAL_MAX_MINOR,
    `circulation total of FI ${fiId} is beyond ${CIRCULATION_TOTAL_MAX_MINOR}: ${after.fundedMinor}/${after.returnedMinor}`);
}

/** The FI's running total (zeros before its first move into circulation): one primary-key read. */
export async function readCirculationTotal(q: Queryable, fiId: string): Promise<CirculationTotal> {
  const rows = await q.query('SELECT funded_minor, returned_minor FROM cb_fi_circulation_totals WHERE fi_id = $1', [fiId]);
  if (rows.length === 0) return { fundedMinor: 0n, returnedMinor: 0n };
  return { fundedMinor: rowBigint(rows[0]!, 'funded_minor'), returnedMinor: rowBigint(rows[0]!, 'returned_minor') };
}

/**
 * The audit's statement: every FI whose running total differs from the sum of its reserve's legs of
 * the circulation kinds in the journal, a total with no reserve, or a reserve with legs and no
 * total. Reads the whole journal of those kinds once (the audit, not every move, pays for it).
 */
export const CIRCULATION_TOTAL_MISMATCH_SQL =
  'SELECT COALESCE(c.fi_id, j.fi_id) AS fi_id, CAST(COALESCE(c.funded_minor, 0) AS BIGINT) AS funded_minor, ' +
  'CAST(COALESCE(c.returned_minor, 0) AS BIGINT) AS returned_minor, CAST(COALESCE(j.funded_minor, 0) AS BIGINT) AS journal_funded_minor, ' +
  'CAST(COALESCE(j.returned_minor, 0) AS BIGINT) AS journal_returned_minor FROM cb_fi_circulation_totals c FULL OUTER JOIN (' +
  'SELECT a.owner AS fi_id, SUM(CASE WHEN e.amount_minor < 0 THEN -e.amount_minor ELSE 0 END) AS funded_minor, ' +
  'SUM(CASE WHEN e.amount_minor > 0 THEN e.amount_minor ELSE 0 END) AS returned_minor ' +
  'FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id JOIN accounts a ON a.id = e.account_id ' +
  `WHERE a.kind = 'fi_reserve' AND t.kind IN (${CIRCULATION_KINDS_SQL}) GROUP BY a.owner) j ON j.fi_id = c.fi_id ` +
  'WHERE COALESCE(c.funded_minor, 0) <> COALESCE(j.funded_minor, 0) OR COALESCE(c.returned_minor, 0) <> COALESCE(j.returned_minor, 0) ' +
  'ORDER BY 1';
