// The CB's AML/CFT rules on its aggregates per FI (src/compliance/aggregate.ts): after every move
// that changes one — issuance or redemption, funding or defunding circulation, a registration
// that recorded incidents — the CB reads the FI's facts from its own book and incident registry
// and raises an alert per rule that fires.
//
// Why the FI's alert and log code is reused as is: the CB's database carries the same
// compliance_alerts and compliance_log tables (every node runs every migration), so its alerts are
// deduplicated per rule, FI and UTC day and hash-chained exactly like an FI's, with the FI's id as
// the alert's subject where an FI puts its customer's. Why after the move and in its own
// transaction: these rules only alert (the aggregate exists once the move is made), and the facts
// are read afresh each time, so an alert a crash lost is raised again by the FI's next move.

import { AGGREGATE_KINDS, aggregateLookbackMs, evaluateFi, type FiFacts, type RuleHit, type RuleSet } from '../../compliance/index.ts';
import type { RandomBytes } from '../context.ts';
import { assert } from '../../crypto/assert.ts';
import { rowBigint, rowString, type Db, type Queryable, type Tx } from '../db/adapter.ts';
import { CB_CIRCULATION_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import { readCirculationTotal } from '../book/circulation_totals.ts';
import { readAccount } from '../book/journal.ts';
import { changeAlert, grantedOverrides, keyTaken, listAlerts, recordHit, type Alert } from '../fi/compliance.ts';
import { appendComplianceLog } from '../fi/compliance_log.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

export interface CbComplianceDeps {
  db: Db;
  rules: RuleSet;
  rng: RandomBytes;
  nowMs: number;
}

/** An alert at the CB: its subject is an FI. */
export type CbAlert = Omit<Alert, 'customerId' | 'holds' | 'overrideReason'> & { fiId: string };

/**
 * The FI's aggregates as the CB's book and incident registry hold them, over the rules' lookback.
 * Each read is bounded by the window or a primary key, never by the FI's history: issuances and
 * redemptions of every FI in the window (index journal_transactions_kind_created, migration 020),
 * incidents naming the FI in the window (incidents_fi_created, incidents_uploader_created), its
 * running circulation total (book/circulation_totals.ts) and the circulation balance.
 */
export async function fiFacts(q: Queryable, fiId: string, lookbackMs: number, nowMs: number): Promise<FiFacts> {
  const reserve = cbReserveAccount(fiId);
  const from = BigInt(nowMs - lookbackMs);
  // CROSS JOIN makes SQLite start from the window's transactions (it keeps that order for it;
  // PostgreSQL plans it as any inner join): started from the FI's reserve entries instead, the
  // read would walk every leg the FI ever posted, fundings and defundings included.
  const issued = await q.query(
    `SELECT e.amount_minor, t.created_ms FROM journal_transactions t CROSS JOIN journal_entries e
     WHERE e.transaction_id = t.id AND t.kind IN ('cb.issue', 'cb.redeem') AND t.created_ms > $2 AND e.account_id = $1`,
    [reserve, from],
  );
  const incidents = await q.query('SELECT created_ms FROM incidents WHERE (fi_id = $1 OR uploader_fi_id = $1) AND created_ms > $2', [fiId, from]);
  // What left the FI's reserve into circulation, less what came back (defunding, reclaims).
  const moved = await readCirculationTotal(q, fiId);
  // A book without the offline side (CbLedger alone) has no circulation account: nothing in flight.
  const circulation = (await readAccount(q, CB_CIRCULATION_ACCOUNT))?.balanceMinor ?? 0n;
  assert(circulation >= 0n, `fiFacts: ${CB_CIRCULATION_ACCOUNT} is negative (${circulation})`);
  return {
    fiId,
    issuance: issued.map((r) => ({ amountMinor: rowBigint(r, 'amount_minor'), atMs: Number(rowBigint(r, 'created_ms')) })),
    incidentsMs: incidents.map((r) => Number(rowBigint(r, 'created_ms'))),
    inFlightMinor: moved.fundedMinor - moved.returnedMinor,
    totalInFlightMinor: circulation,
  };
}

/** The monitor rules screenFi evaluates after a move: hard and soft fi.net_issuance rules are screenIssue's, before it. */
const monitorOnly = (rules: RuleSet): RuleSet => ({ version: rules.version, rules: rules.rules.filter((r) => r.mode === 'monitor') });

/** Evaluates the FI's aggregates and records an alert per hit (logged under actor 'cb'); returns the hits. */
export async function screenFi(d: CbComplianceDeps, fiId: string): Promise<RuleHit[]> {
  const rules = monitorOnly(d.rules);
  if (!rules.rules.some((r) => AGGREGATE_KINDS.has(r.kind))) return [];
  const facts = await fiFacts(d.db, fiId, aggregateLookbackMs(rules), d.nowMs);
  const hits = evaluateFi(rules, facts, d.nowMs);
  if (hits.length === 0) return hits;
  await d.db.transaction(async (tx) => {
    for (const h of hits) await recordHit(tx, d, fiId, h, false, 'cb');
  });
  return hits;
}

/**
 * The hard and soft fi.net_issuance rules at the CB's issue path (docs/compliance.md): the FI's
 * net issuance in the window with this issuance added. A hard hit refuses (RULE_REFUSED); a soft
 * one refuses (RULE_OVERRIDE_REQUIRED) unless a CB operator overrode its alert, and the override
 * lets this one issuance through. Both name the rule and the alert, which is written in its own
 * transaction: no money moved and the key stays free for a retry after the override. A replay
 * (key taken), a bad amount or an unknown FI is not screened (the move answers it). What it
 * returns runs in the issuance's transaction, after its journal entry, under the reserve's lock:
 * the same rules again on the book as it is now (two racing issuances cannot both pass), and the
 * override marked used.
 */
export async function screenIssue(d: CbComplianceDeps, input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<((tx: Tx) => Promise<void>) | null> {
  const gated: RuleSet = { version: d.rules.version, rules: d.rules.rules.filter((r) => r.kind === 'fi.net_issuance' && r.mode !== 'monitor') };
  if (gated.rules.length === 0 || typeof input.amountMinor !== 'bigint' || input.amountMinor <= 0n) return null;
  if (await keyTaken(d.db, input.idempotencyKey)) return null;
  if (typeof input.fiId !== 'string' || (await d.db.query('SELECT 1 AS one FROM accounts WHERE id = $1', [cbReserveAccount(input.fiId)])).length === 0) return null;
  const fiId = input.fiId;
  const lookback = aggregateLookbackMs(gated);
  const facts = await fiFacts(d.db, fiId, lookback, d.nowMs);
  const proposed = { ...facts, issuance: [...facts.issuance, { amountMinor: input.amountMinor, atMs: d.nowMs }] };
  const hits = evaluateFi(gated, proposed, d.nowMs);
  const overrides = await grantedOverrides(d.db, fiId);
  const blocking = (hs: readonly RuleHit[], granted: ReadonlySet<string>) => hs.filter((h) => h.mode === 'hard' || !granted.has(h.ruleId));
  const refuse = (hs: readonly RuleHit[], alertIds: readonly string[]): LedgerError => {
    const hard = hs.some((h) => h.mode === 'hard');
    const names = hs.map((h) => `${h.ruleId} (${h.detail})`).join('; ');
    const alerts = alertIds.length === 0 ? '' : ` (alerts ${alertIds.join(', ')})`;
    return new LedgerError(hard ? LedgerErrorCode.ruleRefused : LedgerErrorCode.ruleOverrideRequired,
      `Rule ${names} ${hard ? 'refuses' : 'needs a CB operator override of its alert for'} this issuance of ${input.amountMinor} to FI ${fiId}${alerts}`);
  };
  const stops = blocking(hits, overrides);
  if (stops.length > 0) {
    // A refusing hit reopens its alert of the day (and clears a used override), as at an FI.
    const alertIds = await d.db.transaction(async (tx) => {
      const ids: string[] = [];
      for (const h of hits) ids.push(await recordHit(tx, d, fiId, h, false, 'cb', stops.includes(h)));
      return ids;
    });
    throw refuse(stops, alertIds);
  }
  return async (tx) => {
    const now = await fiFacts(tx, fiId, lookback, d.nowMs);
    const again = evaluateFi(gated, now, d.nowMs);
    const granted = await grantedOverrides(tx, fiId);
    const raced = blocking(again, granted);
    if (raced.length > 0) throw refuse(raced, []);
    for (const h of again) {
      const id = await recordHit(tx, d, fiId, h, false, 'cb');
      const used = await tx.query('SELECT id FROM compliance_alerts WHERE customer_id = $1 AND rule_id = $2 AND override_reason IS NOT NULL AND override_used = 0', [fiId, h.ruleId]);
      for (const r of used) {
        await tx.run('UPDATE compliance_alerts SET override_used = 1 WHERE id = $1', [rowString(r, 'id')]);
        await appendComplianceLog(tx, { atMs: d.nowMs, actor: 'cb', action: 'alert.override-used', alertId: rowString(r, 'id'), detail: { by: id, reference: `issue ${input.idempotencyKey}` } });
      }
    }
  };
}

const cbAlert = ({ customerId, holds: _holds, overrideReason: _override, ...rest }: Alert): CbAlert => ({ ...rest, fiId: customerId });

/** The CB's alerts about one FI (or all), oldest first. */
export async function listCbAlerts(q: Queryable, fiId?: string): Promise<CbAlert[]> {
  return (await listAlerts(q, fiId)).map(cbAlert);
}

/** A CB operator overrides a soft fi.net_issuance alert with a reason: the FI's next issuance it stops goes through once. */
export async function overrideCbAlert(d: Omit<CbComplianceDeps, 'rules'>, alertId: string, actor: string, reason: string): Promise<CbAlert> {
  return cbAlert(await changeAlert(d, alertId, actor, { action: 'override', reason }));
}

/** A CB operator resolves an alert with a reason, logged under their id in the same transaction. */
export async function resolveCbAlert(d: Omit<CbComplianceDeps, 'rules'>, alertId: string, actor: string, reason: string): Promise<CbAlert> {
  return cbAlert(await changeAlert(d, alertId, actor, { action: 'resolve', reason }));
}
