// The data behind the console's read-only screens (incidents, policy and rules, logs, banks),
// shaped by what each party may see (DESIGN §3.3): the CB sees aggregates per FI and incidents
// with the FI and its pseudonymous customer id; an FI sees the incidents naming its own customers,
// with their names; nobody sees a single offline amount (no screen reads a receipt, a payment
// record or a batch's Σ of another FI). Every list is bounded (CONSOLE_ROWS_MAX, LOG_ENTRIES_SHOWN);
// aggregates are single SQL sums. The exposure table is exposure.ts's brokenSeExposure over
// devicesPerTier, the same computation as `tally exposure` and the network audit.

import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Rule, RuleSet } from '../../compliance/index.ts';
import { TIERS, limitsFor, type PolicyTable, type TierLimits } from '../../policy/limits.ts';
import { readAdminLog, verifyAdminLog, type AdminLogCheck } from '../access/admin_log.ts';
import { AccountKind, CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT } from '../book/accounts.ts';
import { verifyDisclosureLog, type DisclosureLogCheck } from '../cb/disclosure.ts';
import { currentEpoch } from '../cb/distribution.ts';
import { rowBigint, rowBytes, rowNullableString, rowString, type Db, type Queryable, type Row, type SqlValue } from '../db/adapter.ts';
import { brokenSeExposure, devicesPerTier, type Exposure } from '../exposure.ts';
import { CONSOLE_ROWS_MAX, nameOf } from './views.ts';
import { verifyComplianceLog, type ComplianceLogCheck } from '../fi/compliance_log.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

/** Log entries a logs screen shows, newest first; the chain check still walks the whole log. */
export const LOG_ENTRIES_SHOWN = 100;
/** Characters of an admin entry's detail (route parameters, body) shown; the log keeps it all. */
export const LOG_DETAIL_CHARS_MAX = 160;

const hexOrNull = (r: Row, column: string): string | null => (r[column] === null || r[column] === undefined ? null : bytesToHex(rowBytes(r, column)));

// ── Incidents ────────────────────────────────────────────────────────────────────────────────

export interface IncidentView {
  id: string;
  epoch: bigint;
  /** The nullifier's first 16 bytes in hex: enough to match the revocation list by eye. */
  nullifier: string;
  tier: number;
  /** L × cap(t): the most one broken SE of this tier can spend in the epoch. */
  exposureMinor: bigint;
  createdMs: number;
  /** The named customer's FI and its id for the customer (pseudonymous at the CB); null while no pair names anyone. */
  fiId: string | null;
  customerId: string | null;
  deviceId: string | null;
  /** The payee that uploaded a same-context pair or another device's payment; null otherwise. */
  uploaderFiId: string | null;
}

export interface CbIncidentView extends IncidentView {
  /** Value the double spend created, booked by the CB to its incident account (0 until booked). */
  bookedMinor: bigint;
}

export interface FiIncidentView extends IncidentView {
  /** The identity record's name of the FI's customer. */
  customerName: string | null;
}

const INCIDENT_COLUMNS = 'i.id, i.epoch, i.nullifier, i.tier, i.exposure_minor, i.created_ms, i.fi_id, i.customer_id, i.device_id, i.uploader_fi_id';

function incidentOf(r: Row): IncidentView {
  return {
    id: rowString(r, 'id'), epoch: rowBigint(r, 'epoch'), nullifier: bytesToHex(rowBytes(r, 'nullifier')).slice(0, 32), tier: Number(rowBigint(r, 'tier')),
    exposureMinor: rowBigint(r, 'exposure_minor'), createdMs: Number(rowBigint(r, 'created_ms')), fiId: rowNullableString(r, 'fi_id'),
    customerId: rowNullableString(r, 'customer_id'), deviceId: hexOrNull(r, 'device_id'), uploaderFiId: rowNullableString(r, 'uploader_fi_id'),
  };
}

/**
 * Which rows of a list ordered newest first by (created_ms, id) a screen reads: at most `limit`
 * (1..CONSOLE_ROWS_MAX + 1: a route asks one more to tell whether more exist; default
 * CONSOLE_ROWS_MAX), below the row `before` names (its id) when given.
 */
export interface RowsQuery {
  limit?: number;
  before?: string;
}

/** The keyset condition for `before` on table alias `a` (params from $n), or '' with no cursor; NOT_FOUND for an unknown id. */
async function keyset(q: Queryable, table: string, a: string, before: string | undefined, n: number): Promise<{ sql: string; params: SqlValue[] }> {
  if (before === undefined) return { sql: '', params: [] };
  const row = (await q.query(`SELECT created_ms FROM ${table} WHERE id = $1`, [before]))[0];
  if (row === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No ${table} row ${before} to page from`);
  return { sql: ` AND (${a}.created_ms < $${n} OR (${a}.created_ms = $${n} AND ${a}.id < $${n + 1}))`, params: [rowBigint(row, 'created_ms'), before] };
}

function rowsLimit(limit: number | undefined): bigint {
  const l = limit ?? CONSOLE_ROWS_MAX;
  if (!Number.isInteger(l) || l < 1 || l > CONSOLE_ROWS_MAX + 1) throw new LedgerError(LedgerErrorCode.badRequest, `limit must be 1..${CONSOLE_ROWS_MAX}`);
  return BigInt(l);
}

/** Every incident at the CB (newest first, bounded), with the value booked for it. */
export async function cbIncidents(cb: Queryable, page: RowsQuery = {}): Promise<CbIncidentView[]> {
  // The booking is a journal transaction of kind cb.bookIncidentValue whose reference is the
  // incident id; its entry on the incident account is the negative of the value. Value drawn
  // against the incident to cover a defund (cb/incident_draws.ts) counts as booked.
  const k = await keyset(cb, 'incidents', 'i', page.before, 4);
  const rows = await cb.query(
    `SELECT ${INCIDENT_COLUMNS}, (SELECT CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) FROM journal_transactions t ` +
      'JOIN journal_entries e ON e.transaction_id = t.id WHERE t.kind = $1 AND t.reference = i.id AND e.account_id = $2) ' +
      '- (SELECT CAST(COALESCE(SUM(d.amount_minor), 0) AS BIGINT) FROM incident_draws d WHERE d.incident_id = i.id) AS booked_minor ' +
      `FROM incidents i WHERE 1 = 1${k.sql} ORDER BY i.created_ms DESC, i.id DESC LIMIT $3`,
    ['cb.bookIncidentValue', CB_INCIDENT_ACCOUNT, rowsLimit(page.limit), ...k.params],
  );
  const out = rows.map((r) => ({ ...incidentOf(r), bookedMinor: -rowBigint(r, 'booked_minor') }));
  // A booking moves value from the incident account into circulation: never the other way.
  for (const i of out) assert(i.bookedMinor >= 0n, `incident ${i.id}: booked value is negative (${i.bookedMinor})`);
  return out;
}

/** The CB's incidents that name a customer of `fiId`, with each customer's name from the FI's records. */
export async function fiIncidents(cb: Queryable, fi: Queryable, fiId: string, page: RowsQuery = {}): Promise<FiIncidentView[]> {
  const k = await keyset(cb, 'incidents', 'i', page.before, 3);
  const rows = await cb.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents i WHERE i.fi_id = $1${k.sql} ORDER BY i.created_ms DESC, i.id DESC LIMIT $2`, [fiId, rowsLimit(page.limit), ...k.params]);
  const out: FiIncidentView[] = [];
  for (const r of rows) {
    const v = incidentOf(r);
    assert(v.fiId === fiId, `incident ${v.id} names ${v.fiId}, not ${fiId}`);
    const person = v.customerId === null ? [] : await fi.query('SELECT identity_json FROM customers WHERE id = $1', [v.customerId]);
    out.push({ ...v, customerName: person[0] === undefined ? null : nameOf(rowString(person[0], 'identity_json')) });
  }
  return out;
}

export interface SyncIncidentView {
  id: string;
  /** RECEIPT_NOT_FOR_UPLOADER or RECEIPT_UPLOADED_TWICE (fi/sync_incidents.ts). */
  kind: string;
  customerId: string;
  customerName: string | null;
  deviceId: string;
  /** The refused receipt's payment hash, first 16 bytes in hex. */
  paymentHash: string;
  detail: string;
  createdMs: number;
}

/** An FI's own incidents found at sync (a receipt for another payee, or uploaded twice), newest first, bounded. */
export async function fiSyncIncidents(fi: Queryable, page: RowsQuery = {}): Promise<SyncIncidentView[]> {
  const k = await keyset(fi, 'sync_incidents', 's', page.before, 2);
  const rows = await fi.query(
    'SELECT s.id, s.kind, s.customer_id, s.device_id, s.payment_hash, s.detail, s.created_ms, c.identity_json FROM sync_incidents s ' +
      `LEFT JOIN customers c ON c.id = s.customer_id WHERE 1 = 1${k.sql} ORDER BY s.created_ms DESC, s.id DESC LIMIT $1`,
    [rowsLimit(page.limit), ...k.params],
  );
  return rows.map((r) => ({
    id: rowString(r, 'id'), kind: rowString(r, 'kind'), customerId: rowString(r, 'customer_id'),
    customerName: r['identity_json'] === null || r['identity_json'] === undefined ? null : nameOf(rowString(r, 'identity_json')),
    deviceId: bytesToHex(rowBytes(r, 'device_id')), paymentHash: bytesToHex(rowBytes(r, 'payment_hash')).slice(0, 32), detail: rowString(r, 'detail'),
    createdMs: Number(rowBigint(r, 'created_ms')),
  }));
}

// ── Policy and rules ─────────────────────────────────────────────────────────────────────────

/** One tier's limits (policy/limits.ts TierLimits) and the epoch now under its epoch length. */
export interface TierPolicyView extends TierLimits {
  tier: number;
  currentEpoch: bigint;
}

export interface RuleSetView {
  fiId: string;
  /** 'cb-signed' when the FI was given the CB's signed envelope and it verified; 'in-process' otherwise. */
  source: 'cb-signed' | 'in-process';
  version: bigint;
  rules: Rule[];
}

export interface PolicyScreen {
  policyVersion: bigint;
  tiers: TierPolicyView[];
  /** The rule set each FI runs (at an FI: its own); an FI running without rules is left out. */
  ruleSets: RuleSetView[];
  exposure: Exposure;
}

export interface RulesOf {
  fiId: string;
  rules: RuleSet | null;
  rulesSigned: boolean;
}

function tierViews(policy: PolicyTable, nowMs: number): TierPolicyView[] {
  return TIERS.map((tier) => {
    const l: TierLimits = limitsFor(policy, tier);
    return { tier, ...l, currentEpoch: currentEpoch(policy, tier, nowMs) };
  });
}

/**
 * The policy in force, the rule sets of `fis` and the broken-SE exposure over the devices of the
 * FI databases given (at the CB: every FI it hosts; at an FI: its own).
 */
export async function policyScreen(policy: PolicyTable, fis: readonly (RulesOf & { db: Queryable })[], nowMs: number): Promise<PolicyScreen> {
  const counts = new Map<number, bigint>();
  for (const fi of fis) for (const [tier, n] of await devicesPerTier(fi.db)) counts.set(tier, (counts.get(tier) ?? 0n) + n);
  const ruleSets = fis.flatMap((f): RuleSetView[] =>
    f.rules === null ? [] : [{ fiId: f.fiId, source: f.rulesSigned ? 'cb-signed' : 'in-process', version: f.rules.version, rules: f.rules.rules }],
  );
  return { policyVersion: policy.version, tiers: tierViews(policy, nowMs), ruleSets, exposure: brokenSeExposure(policy, counts) };
}

// ── Logs ─────────────────────────────────────────────────────────────────────────────────────

export interface AdminLogView {
  seq: bigint;
  atMs: number;
  operatorId: string;
  role: string;
  action: string;
  status: number;
  code: string | null;
  /** The entry's detail as JSON, cut to LOG_DETAIL_CHARS_MAX characters. */
  detail: string;
}

export interface DisclosureLogView {
  seq: bigint;
  atMs: number;
  warrantId: string;
  kind: string;
  /** First 8 bytes of the entry hash: which entry, for comparing with a copy kept elsewhere. */
  entryHash: string;
}

/** An entry of the chained compliance log (fi/compliance_log.ts): alerts, cases, watchlist imports, freezes. */
export interface ComplianceLogView {
  seq: bigint;
  atMs: number;
  actor: string;
  action: string;
  /** The alert, case, import or customer the entry is about. */
  subject: string;
  /** The entry's detail as JSON, cut to LOG_DETAIL_CHARS_MAX characters. */
  detail: string;
}

/** One page of a log, newest first; `more`: older entries exist below the last one (ask with `before` = its seq). */
export interface LogPage<T> {
  entries: T[];
  more: boolean;
}

export interface LogsScreen {
  admin: LogPage<AdminLogView> & { check: AdminLogCheck };
  compliance: LogPage<ComplianceLogView> & { check: ComplianceLogCheck };
  /** Only at the CB. An entry's body is not shown: a 'disclosed' entry names the customer. */
  disclosure: (LogPage<DisclosureLogView> & { check: DisclosureLogCheck }) | null;
}

/** Where each log's page starts (below that sequence number; absent: the newest) and its size (1..LOG_ENTRIES_SHOWN). */
export interface LogsQuery {
  limit?: number;
  adminBefore?: bigint;
  complianceBefore?: bigint;
  disclosureBefore?: bigint;
}

function detailText(detail: unknown): string {
  const s = JSON.stringify(detail) ?? '';
  return s.length <= LOG_DETAIL_CHARS_MAX ? s : `${s.slice(0, LOG_DETAIL_CHARS_MAX - 1)}…`;
}

/** Rows of a log table by seq, newest first, below `before` when given: one more than `limit`, to tell whether more exist. */
async function pageRows(db: Queryable, sql: { table: string; columns: string }, limit: number, before: bigint | undefined): Promise<{ rows: Row[]; more: boolean }> {
  const rows = before === undefined
    ? await db.query(`SELECT ${sql.columns} FROM ${sql.table} ORDER BY seq DESC LIMIT $1`, [BigInt(limit + 1)])
    : await db.query(`SELECT ${sql.columns} FROM ${sql.table} WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, [before, BigInt(limit + 1)]);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/**
 * A page of each log of a node with its chain check (the check walks the whole log): the admin
 * log, the compliance log (alerts, cases, freezes) and, with `disclosure`, the CB's disclosure log.
 */
export async function logsScreen(db: Db, options: { disclosure: boolean } & LogsQuery): Promise<LogsScreen> {
  const limit = options.limit ?? LOG_ENTRIES_SHOWN;
  if (!Number.isInteger(limit) || limit < 1 || limit > LOG_ENTRIES_SHOWN) throw new LedgerError(LedgerErrorCode.badRequest, `limit must be 1..${LOG_ENTRIES_SHOWN}`);
  const adminRows = await readAdminLog(db, limit + 1, options.adminBefore);
  const admin = adminRows.slice(0, limit).map((e) => ({
    seq: e.seq, atMs: e.atMs, operatorId: e.operatorId, role: e.role, action: e.action, status: e.status, code: e.code, detail: detailText(e.detail),
  }));
  assert(admin.length <= LOG_ENTRIES_SHOWN, `admin log page over its bound: ${admin.length}`);
  const c = await pageRows(db, { table: 'compliance_log', columns: 'seq, at_ms, actor, action, alert_id, detail' }, limit, options.complianceBefore);
  const compliance = {
    entries: c.rows.map((r) => ({
      seq: rowBigint(r, 'seq'), atMs: Number(rowBigint(r, 'at_ms')), actor: rowString(r, 'actor'), action: rowString(r, 'action'),
      subject: rowString(r, 'alert_id'), detail: detailText(JSON.parse(rowString(r, 'detail'))),
    })),
    more: c.more, check: await verifyComplianceLog(db),
  };
  const out = { admin: { entries: admin, more: adminRows.length > limit, check: await verifyAdminLog(db) }, compliance };
  if (!options.disclosure) return { ...out, disclosure: null };
  const d = await pageRows(db, { table: 'disclosure_log', columns: 'seq, created_ms, warrant_id, kind, entry_hash' }, limit, options.disclosureBefore);
  const entries = d.rows.map((r) => ({
    seq: rowBigint(r, 'seq'), atMs: Number(rowBigint(r, 'created_ms')), warrantId: rowString(r, 'warrant_id'), kind: rowString(r, 'kind'),
    entryHash: bytesToHex(rowBytes(r, 'entry_hash')).slice(0, 16),
  }));
  return { ...out, disclosure: { entries, more: d.more, check: await verifyDisclosureLog(db) } };
}

// ── Banks ────────────────────────────────────────────────────────────────────────────────────

export interface BankRowView {
  fiId: string;
  /** The FI's reserve account at the CB. */
  reserveMinor: bigint;
  /** Devices the CB registered for this FI. */
  devices: bigint;
  /** When the CB last received a settled payment's evidence from this FI; null if never. */
  lastSettlementMs: number | null;
  /** Value this FI moved into offline circulation (vouchers less unloads and reclaims), from the CB's journal. */
  circulationMinor: bigint;
  /** From the FI's own database, when this server hosts it (null otherwise): */
  accountsMinor: bigint | null;
  /** Σ of the balances its devices last reported (SE-signed at sync). */
  seBalancesMinor: bigint | null;
  /**
   * circulation − SE balances: value the FI put into circulation that its devices do not report
   * holding. Negative when its devices received more from other banks' devices than they paid
   * out; summed over FIs it is the network's in flight less the booked incident value.
   */
  inFlightMinor: bigint | null;
  /** When one of its devices last reported at a sync; null if none did. */
  lastSyncMs: number | null;
}

export interface HostedFi {
  fiId: string;
  db: Queryable;
}

async function cbSideBanks(cb: Queryable): Promise<Map<string, Omit<BankRowView, 'accountsMinor' | 'seBalancesMinor' | 'inFlightMinor' | 'lastSyncMs'>>> {
  const reserves = await cb.query('SELECT owner, balance_minor FROM accounts WHERE kind = $1 ORDER BY owner LIMIT $2', [AccountKind.fiReserve, BigInt(CONSOLE_ROWS_MAX)]);
  const out = new Map(reserves.map((r) => [rowString(r, 'owner'), { fiId: rowString(r, 'owner'), reserveMinor: rowBigint(r, 'balance_minor'), devices: 0n, lastSettlementMs: null as number | null, circulationMinor: 0n }]));
  for (const r of await cb.query('SELECT fi_id, CAST(COUNT(*) AS BIGINT) AS n FROM cb_devices GROUP BY fi_id')) {
    const b = out.get(rowString(r, 'fi_id'));
    if (b !== undefined) b.devices = rowBigint(r, 'n');
  }
  for (const r of await cb.query('SELECT fi_id, CAST(MAX(created_ms) AS BIGINT) AS at_ms FROM payment_evidence GROUP BY fi_id')) {
    const b = out.get(rowString(r, 'fi_id'));
    if (b !== undefined) b.lastSettlementMs = Number(rowBigint(r, 'at_ms'));
  }
  // Each move between an FI's reserve and circulation is one transaction with both entries.
  const moved = await cb.query(
    'SELECT a.owner, CAST(SUM(c.amount_minor) AS BIGINT) AS total FROM journal_entries c JOIN journal_entries r ON r.transaction_id = c.transaction_id ' +
      'JOIN accounts a ON a.id = r.account_id WHERE c.account_id = $1 AND a.kind = $2 GROUP BY a.owner',
    [CB_CIRCULATION_ACCOUNT, AccountKind.fiReserve],
  );
  for (const r of moved) {
    const b = out.get(rowString(r, 'owner'));
    if (b !== undefined) b.circulationMinor = rowBigint(r, 'total');
  }
  return out;
}

async function fiSide(fi: Queryable): Promise<{ accountsMinor: bigint; seBalancesMinor: bigint; lastSyncMs: number | null }> {
  const accounts = await fi.query('SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS total FROM accounts WHERE kind IN ($1, $2)', [AccountKind.fiTreasury, AccountKind.customer]);
  const devices = await fi.query('SELECT CAST(COALESCE(SUM(reported_balance_minor), 0) AS BIGINT) AS total, CAST(MAX(reported_at_ms) AS BIGINT) AS at_ms FROM devices');
  const at = devices[0]!['at_ms'];
  return { accountsMinor: rowBigint(accounts[0]!, 'total'), seBalancesMinor: rowBigint(devices[0]!, 'total'), lastSyncMs: at === null || at === undefined ? null : Number(rowBigint(devices[0]!, 'at_ms')) };
}

/** Every FI the CB knows, with the CB's figures, and each hosted FI's own aggregates. */
export async function banksScreen(cb: Queryable, hosted: readonly HostedFi[]): Promise<BankRowView[]> {
  const rows: BankRowView[] = [];
  for (const b of (await cbSideBanks(cb)).values()) {
    const fi = hosted.find((h) => h.fiId === b.fiId);
    if (fi === undefined) {
      rows.push({ ...b, accountsMinor: null, seBalancesMinor: null, inFlightMinor: null, lastSyncMs: null });
      continue;
    }
    const own = await fiSide(fi.db);
    rows.push({ ...b, ...own, inFlightMinor: b.circulationMinor - own.seBalancesMinor });
  }
  assert(rows.length <= CONSOLE_ROWS_MAX, `banks list over its bound: ${rows.length}`);
  return rows;
}
