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
import { rowBigint, type Db, type Queryable, type SqlValue } from '../db/adapter.ts';
import { CB_CIRCULATION_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import { changeAlert, listAlerts, recordHit, type Alert } from '../fi/compliance.ts';

export interface CbComplianceDeps {
  db: Db;
  rules: RuleSet;
  rng: RandomBytes;
  nowMs: number;
}

/** An alert at the CB: its subject is an FI. */
export type CbAlert = Omit<Alert, 'customerId' | 'holds' | 'overrideReason'> & { fiId: string };

const total = async (q: Queryable, sql: string, params: readonly SqlValue[]): Promise<bigint> => rowBigint((await q.query(sql, params))[0]!, 'total');

/** The FI's aggregates as the CB's book and incident registry hold them, over the rules' lookback. */
export async function fiFacts(q: Queryable, fiId: string, lookbackMs: number, nowMs: number): Promise<FiFacts> {
  const reserve = cbReserveAccount(fiId);
  const from = BigInt(nowMs - lookbackMs);
  const issued = await q.query(
    `SELECT e.amount_minor, t.created_ms FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
     WHERE e.account_id = $1 AND t.kind IN ('cb.issue', 'cb.redeem') AND t.created_ms > $2`,
    [reserve, from],
  );
  const incidents = await q.query('SELECT created_ms FROM incidents WHERE (fi_id = $1 OR uploader_fi_id = $1) AND created_ms > $2', [fiId, from]);
  // What left the FI's reserve into circulation, less what came back (defunding, reclaims).
  const reserveLegs = await total(q,
    `SELECT CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) AS total FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
     WHERE e.account_id = $1 AND t.kind IN ('cb.fundCirculation', 'cb.defundCirculation', 'cb.reclaim')`,
    [reserve]);
  const circulation = await total(q, 'SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS total FROM accounts WHERE id = $1', [CB_CIRCULATION_ACCOUNT]);
  return {
    fiId,
    issuance: issued.map((r) => ({ amountMinor: rowBigint(r, 'amount_minor'), atMs: Number(rowBigint(r, 'created_ms')) })),
    incidentsMs: incidents.map((r) => Number(rowBigint(r, 'created_ms'))),
    inFlightMinor: -reserveLegs,
    totalInFlightMinor: circulation,
  };
}

/** Evaluates the FI's aggregates and records an alert per hit (logged under actor 'cb'); returns the hits. */
export async function screenFi(d: CbComplianceDeps, fiId: string): Promise<RuleHit[]> {
  if (!d.rules.rules.some((r) => AGGREGATE_KINDS.has(r.kind))) return [];
  const facts = await fiFacts(d.db, fiId, aggregateLookbackMs(d.rules), d.nowMs);
  const hits = evaluateFi(d.rules, facts, d.nowMs);
  if (hits.length === 0) return hits;
  await d.db.transaction(async (tx) => {
    for (const h of hits) await recordHit(tx, d, fiId, h, false, 'cb');
  });
  return hits;
}

const cbAlert = ({ customerId, holds: _holds, overrideReason: _override, ...rest }: Alert): CbAlert => ({ ...rest, fiId: customerId });

/** The CB's alerts about one FI (or all), oldest first. */
export async function listCbAlerts(q: Queryable, fiId?: string): Promise<CbAlert[]> {
  return (await listAlerts(q, fiId)).map(cbAlert);
}

/** A CB operator resolves an alert with a reason, logged under their id in the same transaction. */
export async function resolveCbAlert(d: Omit<CbComplianceDeps, 'rules'>, alertId: string, actor: string, reason: string): Promise<CbAlert> {
  return cbAlert(await changeAlert(d, alertId, actor, { action: 'resolve', reason }));
}
