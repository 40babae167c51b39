// The suspicious-activity export of one compliance case (docs/compliance.md): the case, its
// alerts, its notes, the customer's KYC identity and the customer's online events around the
// alerts, as JSON or as one CSV table (RFC 4180). Each export is an entry of the chained
// compliance log naming who exported it and in which format, written in the transaction that
// reads the case, so the log shows every copy that left the FI.
//
// Why one CSV table: a report tool or a spreadsheet reads one table; a `section` column says
// which of case / alert / note / customer / event a row is, and the columns each section does
// not use are empty. A cell that a spreadsheet would run as a formula (=, +, -, @ first) is
// prefixed with a single quote, the usual guard; amounts are never negative, so no number is
// touched.

import { loadCase, type ComplianceCase } from './compliance_cases.ts';
import { listAlerts, type Alert } from './compliance.ts';
import { appendComplianceLog } from './compliance_log.ts';
import { rowBigint, rowString, type Db } from '../db/adapter.ts';
import { DAY_MS } from '../../compliance/index.ts';

/** Online events an export carries: the newest ones of the window, so an export stays one response. */
export const EXPORT_EVENTS_MAX = 2_000;
/** How far before the case's first alert the events start. */
export const EXPORT_LOOKBACK_MS = 30 * DAY_MS;

export interface ExportEvent {
  kind: string;
  amountMinor: string;
  atMs: number;
  reference: string;
}

export interface CaseExport {
  exportedMs: number;
  exportedBy: string;
  case: Omit<ComplianceCase, 'notes' | 'alertIds'>;
  alerts: (Omit<Alert, 'count'> & { count: string })[];
  notes: ComplianceCase['notes'];
  /** The KYC record; null when the case is of an applicant that never registered. */
  customer: { id: string; tier: number; identity: Record<string, unknown> } | null;
  events: ExportEvent[];
}

export const CSV_COLUMNS = ['section', 'id', 'at_ms', 'actor', 'kind', 'status', 'amount_minor', 'detail'] as const;

/** Reads the case's export and logs it (actor, format) in one transaction. */
export async function exportCase(db: Db, caseId: string, actor: string, format: 'json' | 'csv', nowMs: number): Promise<CaseExport> {
  return db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    const inCase = new Set(c.alertIds);
    const alerts = (await listAlerts(tx, c.customerId)).filter((a) => inCase.has(a.id));
    const customerRow = (await tx.query('SELECT id, tier, identity_json FROM customers WHERE id = $1', [c.customerId]))[0];
    const customer = customerRow === undefined ? null : {
      id: rowString(customerRow, 'id'), tier: Number(rowBigint(customerRow, 'tier')), identity: JSON.parse(rowString(customerRow, 'identity_json')) as Record<string, unknown>,
    };
    const from = Math.min(c.openedMs, ...alerts.map((a) => a.firstSeenMs)) - EXPORT_LOOKBACK_MS;
    const rows = await tx.query(
      `SELECT kind, amount_minor, at_ms, reference FROM compliance_events WHERE customer_id = $1 AND kind <> 'sync' AND at_ms >= $2 ORDER BY at_ms DESC, id DESC LIMIT ${EXPORT_EVENTS_MAX}`,
      [c.customerId, BigInt(from)],
    );
    const events = rows.reverse().map((r) => ({ kind: rowString(r, 'kind'), amountMinor: String(rowBigint(r, 'amount_minor')), atMs: Number(rowBigint(r, 'at_ms')), reference: rowString(r, 'reference') }));
    await appendComplianceLog(tx, { atMs: nowMs, actor, action: 'case.export', alertId: caseId, detail: { by: actor, format, alerts: alerts.length, events: events.length } });
    const { notes, alertIds: _ids, ...head } = c;
    return { exportedMs: nowMs, exportedBy: actor, case: head, alerts: alerts.map((a) => ({ ...a, count: String(a.count) })), notes, customer, events };
  });
}

/** One RFC 4180 field: quoted when it holds a quote, comma, CR or LF; formula starts guarded. */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The export as one CSV table (CRLF line ends, a header row), CSV_COLUMNS wide. */
export function exportCsv(x: CaseExport): string {
  const rows: string[][] = [[...CSV_COLUMNS]];
  const row = (r: Partial<Record<(typeof CSV_COLUMNS)[number], string | number | null>>) => rows.push(CSV_COLUMNS.map((k) => (r[k] === undefined || r[k] === null ? '' : String(r[k]))));
  const c = x.case;
  row({ section: 'case', id: c.id, at_ms: c.openedMs, actor: c.openedBy, status: c.status, detail: JSON.stringify({ customerId: c.customerId, closedMs: c.closedMs, closeReason: c.closeReason, exportedBy: x.exportedBy, exportedMs: x.exportedMs }) });
  for (const a of x.alerts) row({ section: 'alert', id: a.id, at_ms: a.firstSeenMs, actor: a.assignee, kind: `${a.ruleId} (${a.mode}, ${a.severity})`, status: a.status, detail: a.detail });
  for (const n of x.notes) row({ section: 'note', id: n.id, at_ms: n.atMs, actor: n.author, detail: n.text });
  if (x.customer !== null) row({ section: 'customer', id: x.customer.id, kind: `tier ${x.customer.tier}`, detail: JSON.stringify(x.customer.identity) });
  for (const e of x.events) row({ section: 'event', id: e.reference, at_ms: e.atMs, kind: e.kind, amount_minor: e.amountMinor });
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
