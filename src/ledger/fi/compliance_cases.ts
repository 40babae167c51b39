// Compliance cases (AML/CFT, docs/compliance.md): a case groups alerts of one customer for an
// investigation, carries operators' notes and is closed with a reason. A case opens when an
// operator opens one, or on the first assignment of an alert of a customer with no open case
// (the assignment is where an investigation starts). Every change is written in the same
// transaction as its entry in the chained compliance log; notes are never changed or removed.
//
// An alert belongs to at most one case (UNIQUE in migration 016): two cases over one alert would
// let one be closed while the other still investigates the same hit.

import { assert } from '../../crypto/assert.ts';
import { newId, type RandomBytes } from '../context.ts';
import { rowBigint, rowNullableString, rowString, type Db, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { appendComplianceLog } from './compliance_log.ts';

/** Characters of a note or a closing reason: free text an operator types. */
export const CASE_TEXT_MAX = 4_000;
/** Alerts one case may group, and notes it may carry: an export holds them all. */
export const CASE_ALERTS_MAX = 500;
export const CASE_NOTES_MAX = 1_000;

export interface CaseDeps {
  db: Db;
  rng: RandomBytes;
  nowMs: number;
}

export interface CaseNote {
  id: string;
  atMs: number;
  author: string;
  text: string;
}

export interface ComplianceCase {
  id: string;
  customerId: string;
  status: 'open' | 'closed';
  openedMs: number;
  openedBy: string;
  closedMs: number | null;
  closeReason: string | null;
  alertIds: string[];
  notes: CaseNote[];
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string' || text.trim() === '' || text.length > CASE_TEXT_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `${what} must be 1..${CASE_TEXT_MAX} characters`);
  }
  return text;
}

async function caseOf(q: Queryable, r: Record<string, unknown>): Promise<ComplianceCase> {
  const id = rowString(r, 'id');
  const alerts = await q.query('SELECT alert_id FROM compliance_case_alerts WHERE case_id = $1 ORDER BY log_seq', [id]);
  const notes = await q.query('SELECT id, at_ms, author, text FROM compliance_case_notes WHERE case_id = $1 ORDER BY log_seq', [id]);
  const closedMs = r['closed_ms'] === null ? null : Number(rowBigint(r, 'closed_ms'));
  const status = rowString(r, 'status');
  assert(status === 'open' || status === 'closed', `case ${id} has status ${status}`);
  return {
    id, customerId: rowString(r, 'customer_id'), status, openedMs: Number(rowBigint(r, 'opened_ms')), openedBy: rowString(r, 'opened_by'),
    closedMs, closeReason: rowNullableString(r, 'close_reason'), alertIds: alerts.map((a) => rowString(a, 'alert_id')),
    notes: notes.map((n) => ({ id: rowString(n, 'id'), atMs: Number(rowBigint(n, 'at_ms')), author: rowString(n, 'author'), text: rowString(n, 'text') })),
  };
}

/** One case with its alerts and notes, or NOT_FOUND. */
export async function loadCase(q: Queryable, caseId: string, lock = false): Promise<ComplianceCase> {
  const r = (await q.query(`SELECT * FROM compliance_cases WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [caseId]))[0];
  if (r === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No compliance case ${caseId}`);
  return caseOf(q, r);
}

/** The cases of one customer (or all), oldest first. */
export async function listCases(q: Queryable, customerId?: string): Promise<ComplianceCase[]> {
  const rows = customerId === undefined
    ? await q.query('SELECT * FROM compliance_cases ORDER BY log_seq')
    : await q.query('SELECT * FROM compliance_cases WHERE customer_id = $1 ORDER BY log_seq', [customerId]);
  const out: ComplianceCase[] = [];
  for (const r of rows) out.push(await caseOf(q, r));
  return out;
}

async function insertCase(tx: Tx, d: CaseDeps, actor: string, customerId: string, why: string): Promise<string> {
  const id = newId(d.rng, 'case');
  const seq = await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'case.open', alertId: id, detail: { customerId, why } });
  await tx.run("INSERT INTO compliance_cases (id, customer_id, status, opened_ms, opened_by, log_seq) VALUES ($1, $2, 'open', $3, $4, $5)", [id, customerId, BigInt(d.nowMs), actor, seq]);
  return id;
}

/** Adds an alert to an open case of the same customer, logged; refuses an alert another case holds. */
async function addAlertTo(tx: Tx, d: CaseDeps, actor: string, c: { id: string; customerId: string; status: string; alerts: number }, alertId: string): Promise<void> {
  if (c.status !== 'open') throw new LedgerError(LedgerErrorCode.badRequest, `Case ${c.id} is closed: no alerts can be added`);
  if (c.alerts >= CASE_ALERTS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `Case ${c.id} holds ${CASE_ALERTS_MAX} alerts, the limit`);
  const alert = (await tx.query('SELECT customer_id FROM compliance_alerts WHERE id = $1', [alertId]))[0];
  if (alert === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No compliance alert ${alertId}`);
  const owner = rowString(alert, 'customer_id');
  if (owner !== c.customerId) throw new LedgerError(LedgerErrorCode.badRequest, `Alert ${alertId} is of customer ${owner}, case ${c.id} of customer ${c.customerId}`);
  const held = (await tx.query('SELECT case_id FROM compliance_case_alerts WHERE alert_id = $1', [alertId]))[0];
  if (held !== undefined) throw new LedgerError(LedgerErrorCode.badRequest, `Alert ${alertId} is in case ${rowString(held, 'case_id')} already`);
  const seq = await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'case.add-alert', alertId: c.id, detail: { alertId } });
  await tx.run('INSERT INTO compliance_case_alerts (case_id, alert_id, added_ms, log_seq) VALUES ($1, $2, $3, $4)', [c.id, alertId, BigInt(d.nowMs), seq]);
}

/** Opens a case for a customer with alerts (optionally some of them in it from the start). */
export async function openCase(d: CaseDeps, actor: string, customerId: string, alertIds: readonly string[] = []): Promise<ComplianceCase> {
  if (alertIds.length > CASE_ALERTS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `A case holds at most ${CASE_ALERTS_MAX} alerts, got ${alertIds.length}`);
  return d.db.transaction(async (tx) => {
    const known = await tx.query('SELECT 1 AS one FROM customers WHERE id = $1 UNION ALL SELECT 1 AS one FROM compliance_alerts WHERE customer_id = $1', [customerId]);
    if (known.length === 0) throw new LedgerError(LedgerErrorCode.notFound, `Customer ${customerId} is not registered and has no compliance alerts`);
    const id = await insertCase(tx, d, actor, customerId, 'opened by an operator');
    for (const [i, alertId] of alertIds.entries()) await addAlertTo(tx, d, actor, { id, customerId, status: 'open', alerts: i }, alertId);
    return loadCase(tx, id);
  });
}

/** Adds an alert of the case's customer to an open case. */
export async function addCaseAlert(d: CaseDeps, actor: string, caseId: string, alertId: string): Promise<ComplianceCase> {
  return d.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId, true);
    await addAlertTo(tx, d, actor, { ...c, alerts: c.alertIds.length }, alertId);
    return loadCase(tx, caseId);
  });
}

/** Appends an operator's note to a case (open or closed: a later finding still belongs to it). */
export async function addCaseNote(d: CaseDeps, actor: string, caseId: string, text: string): Promise<ComplianceCase> {
  const body = checkText(text, 'note');
  return d.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId, true);
    if (c.notes.length >= CASE_NOTES_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `Case ${caseId} holds ${CASE_NOTES_MAX} notes, the limit`);
    const id = newId(d.rng, 'note');
    const seq = await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'case.note', alertId: caseId, detail: { noteId: id, text: body } });
    await tx.run('INSERT INTO compliance_case_notes (id, case_id, at_ms, author, text, log_seq) VALUES ($1, $2, $3, $4, $5, $6)', [id, caseId, BigInt(d.nowMs), actor, body, seq]);
    return loadCase(tx, caseId);
  });
}

/** Closes an open case with a reason. */
export async function closeCase(d: CaseDeps, actor: string, caseId: string, reason: string): Promise<ComplianceCase> {
  const why = checkText(reason, 'closing reason');
  return d.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId, true);
    if (c.status !== 'open') throw new LedgerError(LedgerErrorCode.badRequest, `Case ${caseId} is closed already (${c.closeReason})`);
    await tx.run("UPDATE compliance_cases SET status = 'closed', closed_ms = $1, close_reason = $2 WHERE id = $3", [BigInt(d.nowMs), why, caseId]);
    await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'case.close', alertId: caseId, detail: { reason: why } });
    return loadCase(tx, caseId);
  });
}

/**
 * On an alert's assignment, inside its transaction: an alert in no case joins the customer's
 * newest open case, or a new one opened for it.
 */
export async function caseOnAssign(tx: Tx, d: CaseDeps, actor: string, alert: { id: string; customerId: string }): Promise<void> {
  if ((await tx.query('SELECT 1 AS one FROM compliance_case_alerts WHERE alert_id = $1', [alert.id])).length > 0) return;
  const open = (await tx.query("SELECT id FROM compliance_cases WHERE customer_id = $1 AND status = 'open' ORDER BY log_seq DESC", [alert.customerId]))[0];
  const id = open === undefined ? await insertCase(tx, d, actor, alert.customerId, `first assignment of alert ${alert.id}`) : rowString(open, 'id');
  const n = Number(rowBigint((await tx.query('SELECT CAST(COUNT(*) AS BIGINT) AS n FROM compliance_case_alerts WHERE case_id = $1', [id]))[0]!, 'n'));
  await addAlertTo(tx, d, actor, { id, customerId: alert.customerId, status: 'open', alerts: n }, alert.id);
}
