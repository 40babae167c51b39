// The FI's side of the AML/CFT rules (issue 12): before a move it screens the event against the
// CB's rule set and the customer's history (compliance_events), and after it records the event
// and its monitor hits in the move's own transaction. A hard hit refuses (RULE_REFUSED), a soft
// one refuses until an operator overrides its alert (RULE_OVERRIDE_REQUIRED); either way the
// refusal's alert is written in its own transaction, and no money moved.
//
// Why the screen runs before the move's idempotency key is taken: a stored refusal would answer
// every retry, so an overridden request could never pass under its key. A request whose key is
// already taken is not screened again (it is a replay: the stored answer stands). The cost: two
// concurrent requests of one customer may both pass a window rule (a later slice re-checks under
// the customer's lock).

import { assert } from '../../crypto/assert.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DAY_MS, evaluate, type CustomerContext, type Decision, type Evaluation, type PastEvent, type ProposedEvent, type RuleHit, type RuleSet } from '../../compliance/index.ts';
import { newId, type RandomBytes } from '../context.ts';
import { rowBigint, rowBytes, rowNullableString, rowString, type Db, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { caseOnAssign } from './compliance_cases.ts';
import { appendComplianceLog } from './compliance_log.ts';
import { loadCustomer } from './customers.ts';
import { identityOf, screenIdentity } from './watchlist.ts';

export interface ComplianceDeps {
  db: Db;
  rules: RuleSet;
  rng: RandomBytes;
  nowMs: number;
}

/** An event that passed the screen, to record with the move. */
export interface Screened {
  event: ProposedEvent;
  hits: RuleHit[];
  overrides: ReadonlySet<string>;
  /** 'hold' (a sync or defunding with a hard or soft hit): recorded, and its alerts hold the customer. */
  decision: Decision;
}

/** Reasons and assignees are free text an operator types: bounded. */
export const COMPLIANCE_TEXT_MAX = 500;

export type AlertStatus = 'open' | 'assigned' | 'resolved';
export interface Alert {
  id: string;
  ruleId: string;
  mode: string;
  customerId: string;
  severity: string;
  dedupKey: string;
  detail: string;
  firstSeenMs: number;
  lastSeenMs: number;
  count: bigint;
  status: AlertStatus;
  assignee: string | null;
  resolutionReason: string | null;
  overrideReason: string | null;
  /** A hard or soft hit at sync or defunding: while not resolved, the customer gets no loads or credentials. */
  holds: boolean;
}

const dedupKey = (ruleId: string, customerId: string, atMs: number): string => `${ruleId}|${customerId}|${Math.floor(atMs / DAY_MS)}`;

/** How far back any rule looks: its longest window, and at least the UTC day of online.daily. */
function lookbackMs(rules: RuleSet): number {
  return rules.rules.reduce((m, r) => Math.max(m, Number(r.windowMs)), DAY_MS);
}

async function customerContext(q: Queryable, rules: RuleSet, customerId: string, nowMs: number): Promise<CustomerContext> {
  const rows = await q.query('SELECT kind, amount_minor, at_ms, device_id, spent_minor FROM compliance_events WHERE customer_id = $1 AND at_ms > $2', [customerId, BigInt(nowMs - lookbackMs(rules))]);
  const history: PastEvent[] = rows.map((r) => {
    const deviceId = rowNullableString(r, 'device_id');
    const spentMinor = rowBigint(r, 'spent_minor');
    return {
      kind: rowString(r, 'kind') as PastEvent['kind'], amountMinor: rowBigint(r, 'amount_minor'), atMs: Number(rowBigint(r, 'at_ms')),
      ...(deviceId === null ? {} : { deviceId }), ...(spentMinor === 0n ? {} : { spentMinor }),
    };
  });
  const total = async (sql: string) => rowBigint((await q.query(sql, [customerId]))[0]!, 'total');
  const accounts = await total('SELECT CAST(COALESCE(SUM(a.balance_minor), 0) AS BIGINT) AS total FROM accounts a JOIN customer_accounts c ON c.account_id = a.id WHERE c.customer_id = $1');
  const devices = await total('SELECT CAST(COALESCE(SUM(reported_balance_minor), 0) AS BIGINT) AS total FROM devices WHERE customer_id = $1');
  const deviceRows = await q.query('SELECT device_id, created_ms, reported_balance_minor FROM devices WHERE customer_id = $1', [customerId]);
  const facts = deviceRows.map((r) => ({ deviceId: bytesToHex(rowBytes(r, 'device_id')), createdMs: Number(rowBigint(r, 'created_ms')), reportedBalanceMinor: rowBigint(r, 'reported_balance_minor') }));
  const identity = (await q.query('SELECT identity_json FROM customers WHERE id = $1', [customerId]))[0];
  const who = identity === undefined ? null : identityOf(JSON.parse(rowString(identity, 'identity_json')));
  const watchlist = await screenIdentity(q, rules, who, nowMs);
  return { history, holdingMinor: accounts + devices, overrides: await grantedOverrides(q, customerId), devices: facts, watchlist };
}

/** Soft rules an operator has overridden for the customer's next move (each override is used once). */
export async function grantedOverrides(q: Queryable, customerId: string): Promise<Set<string>> {
  const granted = await q.query('SELECT rule_id FROM compliance_alerts WHERE customer_id = $1 AND override_reason IS NOT NULL AND override_used = 0 AND holds = 0', [customerId]);
  return new Set(granted.map((r) => rowString(r, 'rule_id')));
}

/**
 * Opens or bumps the alert of one hit (one per rule, subject and UTC day); returns its id. The
 * subject is a customer at an FI, and an FI at the CB (its aggregate rules, cb/aggregate_rules.ts).
 * `holds` (a blocking hit after the fact) and `blocks` (a hit refusing the request) reopen a
 * resolved alert; `blocks` also clears a used override, so the operator can override it again.
 */
export async function recordHit(tx: Tx, d: Omit<ComplianceDeps, 'rules'>, customerId: string, hit: RuleHit, holds = false, actor = 'fi', blocks = false): Promise<string> {
  const key = dedupKey(hit.ruleId, customerId, d.nowMs);
  const now = BigInt(d.nowMs);
  await tx.run(
    `INSERT INTO compliance_alerts (id, rule_id, rule_mode, customer_id, severity, dedup_key, detail, first_seen_ms, last_seen_ms, hit_count, status, holds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, 'open', $9)
     ON CONFLICT (dedup_key) DO UPDATE SET hit_count = compliance_alerts.hit_count + 1, last_seen_ms = $8, detail = $7,
       holds = CASE WHEN $9 = 1 THEN 1 ELSE compliance_alerts.holds END,
       status = CASE WHEN $9 = 1 OR $10 = 1 THEN 'open' ELSE compliance_alerts.status END,
       resolution_reason = CASE WHEN $9 = 1 OR $10 = 1 THEN NULL ELSE compliance_alerts.resolution_reason END,
       override_reason = CASE WHEN $10 = 1 THEN NULL ELSE compliance_alerts.override_reason END,
       override_used = CASE WHEN $10 = 1 THEN 0 ELSE compliance_alerts.override_used END`,
    [newId(d.rng, 'alr'), hit.ruleId, hit.mode, customerId, hit.severity, key, hit.detail, now, holds ? 1n : 0n, blocks ? 1n : 0n],
  );
  const row = (await tx.query('SELECT id, hit_count FROM compliance_alerts WHERE dedup_key = $1', [key]))[0];
  assert(row !== undefined, `alert ${key} was just written but cannot be read back`);
  const id = rowString(row, 'id');
  const first = rowBigint(row, 'hit_count') === 1n;
  await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: first ? 'alert.open' : 'alert.hit', alertId: id, detail: { ruleId: hit.ruleId, mode: hit.mode, detail: hit.detail, ...(holds ? { holds: true } : {}) } });
  return id;
}

export function refusal(result: Evaluation, event: ProposedEvent, overrides: ReadonlySet<string>, alertIds: readonly string[]): LedgerError {
  const blocking = result.hits.filter((h) => h.mode === 'hard' || (h.mode === 'soft' && !overrides.has(h.ruleId)));
  assert(blocking.length > 0, `a ${result.decision} decision names no blocking hit`);
  const names = blocking.map((h) => `${h.ruleId} (${h.detail})`).join('; ');
  const code = result.decision === 'refuse' ? LedgerErrorCode.ruleRefused : LedgerErrorCode.ruleOverrideRequired;
  const what = result.decision === 'refuse' ? 'refuses' : 'needs an operator override of its alert for';
  const alerts = alertIds.length === 0 ? '' : ` (alerts ${alertIds.join(', ')})`;
  return new LedgerError(code, `Rule ${names} ${what} this ${event.kind} of customer ${event.customerId}${alerts}`);
}

/**
 * RULE_REFUSED (a hard rule's) or RULE_OVERRIDE_REQUIRED (a soft one's) while the customer has an
 * open alert that holds it (a hard or soft hit at sync or defunding): no loads, no credentials.
 */
export async function checkHolds(q: Queryable, customerId: string, what: string): Promise<void> {
  const rows = await q.query("SELECT id, rule_id, rule_mode FROM compliance_alerts WHERE customer_id = $1 AND holds = 1 AND status <> 'resolved' ORDER BY first_seen_ms, id", [customerId]);
  if (rows.length === 0) return;
  const hard = rows.filter((r) => rowString(r, 'rule_mode') === 'hard');
  const named = rows.map((r) => `${rowString(r, 'rule_id')} (alert ${rowString(r, 'id')})`).join(', ');
  if (hard.length > 0) throw new LedgerError(LedgerErrorCode.ruleRefused, `Customer ${customerId} is held by rule ${named}: no ${what} until an operator resolves the alert`);
  throw new LedgerError(LedgerErrorCode.ruleOverrideRequired, `Customer ${customerId} is held by rule ${named}: no ${what} until an operator overrides the alert`);
}

/** Screens a proposed event: throws RULE_REFUSED / RULE_OVERRIDE_REQUIRED (with its alerts written), or returns it to record. */
export async function screenEvent(d: ComplianceDeps, event: ProposedEvent): Promise<Screened> {
  if (event.kind === 'fund') await checkHolds(d.db, event.customerId, 'loads');
  const ctx = await customerContext(d.db, d.rules, event.customerId, d.nowMs);
  const result = evaluate(d.rules, event, ctx);
  const overrides = ctx.overrides ?? new Set<string>();
  if (result.decision === 'allow' || result.decision === 'hold') return { event, hits: result.hits, overrides, decision: result.decision };
  const alertIds = await d.db.transaction(async (tx) => {
    const ids: string[] = [];
    // A hit that refuses this request reopens its alert of the day even if it was resolved or its
    // override used: the refusal names that alert, and an operator must be able to act on it again.
    for (const h of result.hits) ids.push(await recordHit(tx, d, event.customerId, h, false, 'fi', h.mode === 'hard' || (h.mode === 'soft' && !overrides.has(h.ruleId))));
    return ids;
  });
  throw refusal(result, event, overrides, alertIds);
}

/**
 * Evaluates a screened event again under the customer's row lock, inside the move's transaction
 * and before its money moves: a concurrent move of the same customer that committed after the
 * screen is in the history now, so a window rule cannot be passed twice by racing requests. A
 * refusal here is stored under the move's key like any other (only such a race reaches it).
 */
export async function recheckScreened(tx: Tx, d: ComplianceDeps, s: Screened): Promise<Screened> {
  await loadCustomer(tx, s.event.customerId, true);
  const ctx = await customerContext(tx, d.rules, s.event.customerId, d.nowMs);
  const result = evaluate(d.rules, s.event, ctx);
  const overrides = ctx.overrides ?? new Set<string>();
  if (result.decision !== 'allow' && result.decision !== 'hold') throw refusal(result, s.event, overrides, []);
  return { event: s.event, hits: result.hits, overrides, decision: result.decision };
}

/** Records a screened event and its (monitor or overridden) hits inside the move's transaction. */
export async function recordScreened(tx: Tx, d: ComplianceDeps, s: Screened, reference: string): Promise<void> {
  const e = s.event;
  // A registration is screened (watchlist.match) but is no move: it never enters the history.
  if (e.kind !== 'register') await tx.run(
    'INSERT INTO compliance_events (id, customer_id, kind, amount_minor, receipts, at_ms, reference, device_id, spent_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [newId(d.rng, 'cev'), e.customerId, e.kind, e.amountMinor, BigInt(e.receipts ?? 0), BigInt(e.atMs), reference, e.deviceId ?? null, e.spentMinor ?? 0n],
  );
  for (const h of s.hits) {
    const holds = s.decision === 'hold' && (h.mode === 'hard' || (h.mode === 'soft' && !s.overrides.has(h.ruleId)));
    const id = await recordHit(tx, d, e.customerId, h, holds);
    if (h.mode !== 'soft' || !s.overrides.has(h.ruleId)) continue;
    const used = await tx.query(
      "SELECT id FROM compliance_alerts WHERE customer_id = $1 AND rule_id = $2 AND override_reason IS NOT NULL AND override_used = 0",
      [e.customerId, h.ruleId],
    );
    for (const r of used) {
      await tx.run('UPDATE compliance_alerts SET override_used = 1 WHERE id = $1', [rowString(r, 'id')]);
      await appendComplianceLog(tx, { atMs: d.nowMs, actor: 'fi', action: 'alert.override-used', alertId: rowString(r, 'id'), detail: { by: id, reference } });
    }
  }
}

function alertOf(r: Record<string, unknown>): Alert {
  return {
    id: rowString(r, 'id'), ruleId: rowString(r, 'rule_id'), mode: rowString(r, 'rule_mode'), customerId: rowString(r, 'customer_id'),
    severity: rowString(r, 'severity'), dedupKey: rowString(r, 'dedup_key'), detail: rowString(r, 'detail'),
    firstSeenMs: Number(rowBigint(r, 'first_seen_ms')), lastSeenMs: Number(rowBigint(r, 'last_seen_ms')), count: rowBigint(r, 'hit_count'),
    status: rowString(r, 'status') as AlertStatus, assignee: rowNullableString(r, 'assignee'),
    resolutionReason: rowNullableString(r, 'resolution_reason'), overrideReason: rowNullableString(r, 'override_reason'),
    holds: rowBigint(r, 'holds') === 1n,
  };
}

/** The alerts of one customer (or all), oldest first. */
export async function listAlerts(q: Queryable, customerId?: string): Promise<Alert[]> {
  const rows = customerId === undefined
    ? await q.query('SELECT * FROM compliance_alerts ORDER BY first_seen_ms, id')
    : await q.query('SELECT * FROM compliance_alerts WHERE customer_id = $1 ORDER BY first_seen_ms, id', [customerId]);
  return rows.map(alertOf);
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string' || text.trim() === '' || text.length > COMPLIANCE_TEXT_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `${what} must be 1..${COMPLIANCE_TEXT_MAX} characters`);
  }
  return text;
}

async function lockedAlert(tx: Tx, alertId: string): Promise<Alert> {
  const r = (await tx.query('SELECT * FROM compliance_alerts WHERE id = $1 FOR UPDATE', [alertId]))[0];
  if (r === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No compliance alert ${alertId}`);
  return alertOf(r);
}

export type AlertAction =
  | { action: 'assign'; assignee: string }
  | { action: 'resolve'; reason: string }
  | { action: 'override'; reason: string };

/** Assigns, resolves or (a soft rule's alert only) overrides an alert, logged in the same transaction. */
export async function changeAlert(d: Omit<ComplianceDeps, 'rules'>, alertId: string, actor: string, change: AlertAction): Promise<Alert> {
  return d.db.transaction(async (tx) => {
    const alert = await lockedAlert(tx, alertId);
    if (alert.status === 'resolved') throw new LedgerError(LedgerErrorCode.badRequest, `Alert ${alertId} is resolved already (${alert.resolutionReason})`);
    if (change.action === 'assign') {
      const assignee = checkText(change.assignee, 'assignee');
      await tx.run("UPDATE compliance_alerts SET status = 'assigned', assignee = $1 WHERE id = $2", [assignee, alertId]);
      await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'alert.assign', alertId, detail: { assignee } });
      await caseOnAssign(tx, d, actor, alert);
    } else if (change.action === 'resolve') {
      const reason = checkText(change.reason, 'resolution reason');
      await tx.run("UPDATE compliance_alerts SET status = 'resolved', resolution_reason = $1 WHERE id = $2", [reason, alertId]);
      await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'alert.resolve', alertId, detail: { reason } });
    } else {
      const reason = checkText(change.reason, 'override reason');
      if (alert.mode !== 'soft') throw new LedgerError(LedgerErrorCode.badRequest, `Alert ${alertId} is of a ${alert.mode} rule (${alert.ruleId}): only a soft rule can be overridden`);
      await tx.run("UPDATE compliance_alerts SET status = 'resolved', resolution_reason = $1, override_reason = $2 WHERE id = $3", [`override: ${reason}`, reason, alertId]);
      await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'alert.override', alertId, detail: { reason } });
    }
    return alertOf((await tx.query('SELECT * FROM compliance_alerts WHERE id = $1', [alertId]))[0]!);
  });
}

/** True when a request's idempotency key is taken: a replay, answered as stored and not screened again. */
export async function keyTaken(q: Queryable, key: string): Promise<boolean> {
  return (await q.query('SELECT 1 AS one FROM idempotency_keys WHERE idem_key = $1', [key])).length > 0;
}

/**
 * Screens an online move of `customerId` unless the rules are off, the amount is not one the move
 * would accept (it refuses on its own), or the key is taken; null when not screened.
 */
export async function screenMove(
  d: Omit<ComplianceDeps, 'rules'> & { rules?: RuleSet }, key: string, event: ProposedEvent,
): Promise<Screened | null> {
  if (d.rules === undefined || typeof event.amountMinor !== 'bigint' || event.amountMinor <= 0n) return null;
  if (await keyTaken(d.db, key)) return null;
  return screenEvent({ ...d, rules: d.rules }, event);
}
