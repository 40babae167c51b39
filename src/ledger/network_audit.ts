// The audit of the whole network: the CB book, every FI book, and the relations between them
// (docs/ledger.md gives the money model). Per book: the checks of audit.ts. Across books:
//   reserves mirror   — each FI's settlement account mirrors its reserve at the CB;
//   issued            — issued + value created by double spends (booked) = Σ FI accounts (treasury
//                       + customers) + offline circulation, and circulation = Σ SE balances last
//                       reported + in flight, so issued = Σ accounts + Σ SE + in flight − booked;
//   nullifiers        — every receipt an FI settled is registered at the CB with the same payment,
//                       no payment is settled by two FIs, and every nullifier received with two
//                       different payments has an incident;
//   sagas             — no voucher or unload has its CB leg outstanding.
// With `expectQuiescent` (every device synced after its last payment), in flight must be exactly 0.
// Each violation carries the rows involved. Incidents are listed with their exposure L × cap(t).
// Flows (flows.ts): aggregate received against aggregate spent from the SE-signed running totals;
// received beyond spent + booked double spends + the in-flight bound raises a discrepancy alarm,
// stored at the CB and listed here. Exposure (exposure.ts): the most broken SEs can spend unaccounted.

import { bytesToHex } from '@noble/hashes/utils.js';
import { AccountKind, CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, CB_ISSUANCE_ACCOUNT } from './book/accounts.ts';
import { reconcileReserves, type AuditReport, type Violation } from './book/audit.ts';
import type { CentralBank } from './cb/central_bank.ts';
import { rowBigint, rowBytes, rowString, type Db, type Row } from './db/adapter.ts';
import type { FinancialIntermediary } from './fi/financial_intermediary.ts';
import type { Incident } from './cb/incidents.ts';
import { readAccount } from './book/journal.ts';
import { AUDIT_ROWS_MAX } from './limits.ts';
import { brokenSeExposure, devicesPerTier, formatExposure, type Exposure } from './exposure.ts';
import { compareFlows, recordAlarm, type DiscrepancyAlarm, type FiFlows } from './flows.ts';

export const NetworkViolationCode = {
  book: 'BOOK_VIOLATION',
  reserveMismatch: 'RESERVE_MISMATCH',
  totalsMismatch: 'TOTALS_MISMATCH',
  receiptUnregistered: 'RECEIPT_UNREGISTERED',
  receiptDuplicated: 'RECEIPT_DUPLICATED',
  doubleSpendUnrecorded: 'DOUBLE_SPEND_UNRECORDED',
  legPending: 'LEG_PENDING',
  inFlightNonZero: 'IN_FLIGHT_NONZERO',
} as const;

export interface NetworkViolation {
  code: string;
  node: string;
  message: string;
  rows: Row[];
}

export interface NetworkTotals {
  issuedMinor: bigint;
  /** Value created by double spends and booked to the incident account. */
  incidentValueMinor: bigint;
  reservesMinor: bigint;
  /** Σ FI treasury + customer accounts. */
  accountsMinor: bigint;
  circulationMinor: bigint;
  seBalancesMinor: bigint;
  /** circulation − Σ SE balances last reported: paid or unloaded but not yet reported by both sides. */
  inFlightMinor: bigint;
}

export interface NetworkAudit {
  clean: boolean;
  checkedAtMs: number;
  totals: NetworkTotals;
  books: Record<string, AuditReport>;
  incidents: Incident[];
  /** Σ L × cap(t) over incidents: the most the broken SEs behind them can spend per epoch. */
  exposureMinor: bigint;
  violations: NetworkViolation[];
  /** Each FI's spent / received figures, and the alarm the CB raised from their sums (if any). */
  flows: FiFlows[];
  alarms: DiscrepancyAlarm[];
  /** Worst case of broken SEs over every enrolled device, under the current policy. */
  brokenSeExposure: Exposure;
}

async function balanceOf(db: Db, id: string): Promise<bigint> {
  return (await readAccount(db, id))?.balanceMinor ?? 0n;
}

async function sumKind(db: Db, kinds: readonly string[]): Promise<bigint> {
  const rows = await db.query(
    `SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS total FROM accounts WHERE kind IN (${kinds.map((_, i) => `$${i + 1}`).join(', ')})`,
    kinds,
  );
  return rowBigint(rows[0]!, 'total');
}

async function totalsOf(cb: CentralBank, fis: readonly FinancialIntermediary[]): Promise<NetworkTotals> {
  const issuedMinor = -(await balanceOf(cb.db, CB_ISSUANCE_ACCOUNT));
  const incidentValueMinor = -(await balanceOf(cb.db, CB_INCIDENT_ACCOUNT));
  const circulationMinor = await balanceOf(cb.db, CB_CIRCULATION_ACCOUNT);
  const reservesMinor = await sumKind(cb.db, [AccountKind.fiReserve]);
  let accountsMinor = 0n;
  let seBalancesMinor = 0n;
  for (const fi of fis) {
    accountsMinor += await sumKind(fi.db, [AccountKind.fiTreasury, AccountKind.customer]);
    const rows = await fi.db.query('SELECT CAST(COALESCE(SUM(reported_balance_minor), 0) AS BIGINT) AS total FROM devices');
    seBalancesMinor += rowBigint(rows[0]!, 'total');
  }
  return { issuedMinor, incidentValueMinor, reservesMinor, accountsMinor, circulationMinor, seBalancesMinor, inFlightMinor: circulationMinor - seBalancesMinor };
}

async function nullifierViolations(cb: CentralBank, fis: readonly FinancialIntermediary[], incidents: Incident[]): Promise<NetworkViolation[]> {
  const out: NetworkViolation[] = [];
  const seen = new Map<string, { fiId: string; key: string }>();
  const byNullifier = new Map<string, Set<string>>();
  const unregistered: Row[] = [];
  const duplicated: Row[] = [];
  for (const fi of fis) {
    for (const r of await fi.db.query('SELECT payment_hash, epoch, nullifier FROM receipts ORDER BY payment_hash')) {
      const hash = bytesToHex(rowBytes(r, 'payment_hash'));
      const key = `${rowBigint(r, 'epoch')}/${bytesToHex(rowBytes(r, 'nullifier'))}`;
      const row = { fiId: fi.fiId, paymentHash: hash, epoch: rowBigint(r, 'epoch'), nullifier: bytesToHex(rowBytes(r, 'nullifier')) };
      if (seen.has(hash)) duplicated.push(row);
      seen.set(hash, { fiId: fi.fiId, key });
      if (!byNullifier.has(key)) byNullifier.set(key, new Set());
      byNullifier.get(key)!.add(hash);
      const ev = await cb.db.query('SELECT epoch, nullifier FROM payment_evidence WHERE payment_hash = $1', [rowBytes(r, 'payment_hash')]);
      const registered = await cb.db.query('SELECT 1 AS one FROM nullifiers WHERE epoch = $1 AND nullifier = $2', [rowBigint(r, 'epoch'), rowBytes(r, 'nullifier')]);
      if (ev.length === 0 || registered.length === 0) unregistered.push(row);
    }
  }
  const recorded = new Set(incidents.map((i) => `${i.epoch}/${bytesToHex(i.nullifier)}`));
  const unrecorded: Row[] = [];
  for (const [key, hashes] of byNullifier) if (hashes.size > 1 && !recorded.has(key)) unrecorded.push({ nullifier: key, payments: [...hashes] });
  const add = (code: string, rows: Row[], message: string) => {
    if (rows.length > 0) out.push({ code, node: 'network', message: `${message} (${rows.length})`, rows: rows.slice(0, AUDIT_ROWS_MAX) });
  };
  add(NetworkViolationCode.receiptUnregistered, unregistered, 'Receipts settled at an FI but not registered at the CB');
  add(NetworkViolationCode.receiptDuplicated, duplicated, 'Payments settled by more than one FI');
  add(NetworkViolationCode.doubleSpendUnrecorded, unrecorded, 'Nullifiers received with two payments and no incident');
  return out;
}

async function pendingLegs(fi: FinancialIntermediary): Promise<Row[]> {
  const v = await fi.db.query("SELECT 'voucher' AS leg, device_id, load_counter AS counter, amount_minor FROM load_vouchers WHERE cb_done = 0");
  const u = await fi.db.query("SELECT 'unload' AS leg, device_id, unload_counter AS counter, amount_minor FROM unload_records WHERE cb_done = 0");
  return [...v, ...u].map((r) => ({ fiId: fi.fiId, leg: rowString(r, 'leg'), deviceId: bytesToHex(rowBytes(r, 'device_id')), counter: r['counter'], amountMinor: r['amount_minor'] }));
}

/** Audits the CB and every FI together (see the file comment). */
export async function auditNetwork(
  nodes: { cb: CentralBank; fis: readonly FinancialIntermediary[] },
  options: { nowMs?: number; expectQuiescent?: boolean } = {},
): Promise<NetworkAudit> {
  const { cb, fis } = nodes;
  const violations: NetworkViolation[] = [];
  const books: Record<string, AuditReport> = { cb: await cb.audit() };
  for (const fi of fis) books[fi.fiId] = await fi.audit();
  for (const [node, report] of Object.entries(books)) {
    for (const v of report.violations) violations.push({ code: NetworkViolationCode.book, node, message: `${v.code}: ${v.message}`, rows: v.rows });
  }
  for (const v of await reconcileReserves(cb.db, fis.map((f) => ({ fiId: f.fiId, db: f.db })))) {
    violations.push({ code: NetworkViolationCode.reserveMismatch, node: 'network', message: v.message, rows: v.rows });
  }
  const totals = await totalsOf(cb, fis);
  const t = totals;
  if (t.issuedMinor + t.incidentValueMinor !== t.reservesMinor + t.circulationMinor || t.reservesMinor !== t.accountsMinor) {
    violations.push({
      code: NetworkViolationCode.totalsMismatch, node: 'network', rows: [{ ...t }],
      message: `issued ${t.issuedMinor} + booked incidents ${t.incidentValueMinor} ≠ reserves ${t.reservesMinor} + circulation ${t.circulationMinor}, or reserves ≠ FI accounts ${t.accountsMinor}`,
    });
  }
  const incidents = await cb.incidents();
  violations.push(...(await nullifierViolations(cb, fis, incidents)));
  const pending = (await Promise.all(fis.map(pendingLegs))).flat();
  if (pending.length > 0) violations.push({ code: NetworkViolationCode.legPending, node: 'network', message: `Voucher or unload legs not settled at the CB (${pending.length})`, rows: pending });
  if (options.expectQuiescent && t.inFlightMinor !== 0n) {
    violations.push({
      code: NetworkViolationCode.inFlightNonZero, node: 'network', rows: [{ ...t }],
      message: `In flight is ${t.inFlightMinor} with every device synced: circulation ${t.circulationMinor}, SE balances ${t.seBalancesMinor}${t.inFlightMinor < 0n ? ' (value created: book it as an incident)' : ''}`,
    });
  }
  const checkedAtMs = options.nowMs ?? Date.now();
  const { flows, alarms, exposure } = await reconcileFlows(cb, fis, t.incidentValueMinor, options.expectQuiescent === true, checkedAtMs);
  return {
    clean: violations.length === 0 && alarms.length === 0,
    checkedAtMs,
    totals,
    books,
    incidents,
    exposureMinor: incidents.reduce((s, i) => s + i.exposureMinor, 0n),
    violations,
    flows,
    alarms,
    brokenSeExposure: exposure,
  };
}

/** Spent against received across every FI; a discrepancy is recorded at the CB. */
async function reconcileFlows(cb: CentralBank, fis: readonly FinancialIntermediary[], bookedMinor: bigint, quiescent: boolean, nowMs: number) {
  const policy = await cb.currentPolicy();
  const flows: FiFlows[] = [];
  const counts = new Map<number, bigint>();
  for (const fi of fis) {
    flows.push(await fi.flows());
    for (const [tier, n] of await devicesPerTier(fi.db)) counts.set(tier, (counts.get(tier) ?? 0n) + n);
  }
  const alarm = compareFlows(flows, bookedMinor, quiescent);
  if (alarm !== null) await recordAlarm(cb.db, alarm, nowMs);
  return { flows, alarms: alarm === null ? [] : [alarm], exposure: brokenSeExposure(policy, counts) };
}

/** Plain text for people and the CLI: totals, incidents with exposure, then each violation. */
export function formatNetworkAudit(a: NetworkAudit): string {
  const t = a.totals;
  const lines = [
    `audit: ${a.clean ? 'CLEAN' : `${a.violations.length} violation(s), ${a.alarms.length} alarm(s)`}`,
    `issued ${t.issuedMinor} = accounts ${t.accountsMinor} + SE balances ${t.seBalancesMinor} + in flight ${t.inFlightMinor} − booked incident value ${t.incidentValueMinor}`,
    `circulation ${t.circulationMinor}, reserves ${t.reservesMinor}`,
    ...a.incidents.map((i) => `incident ${i.id}: epoch ${i.epoch}, tier ${i.tier}, customer ${i.customerId ?? 'unidentified'} at ${i.fiId ?? '?'}, exposure L×cap = ${i.exposureMinor}`),
    `total exposure of broken SEs: ${a.exposureMinor} per epoch`,
    ...formatExposure(a.brokenSeExposure),
    ...a.alarms.map((x) => `ALARM ${x.code}: ${x.message}`),
    ...a.violations.map((v) => `${v.code} [${v.node}] ${v.message}`),
  ];
  return lines.join('\n');
}
