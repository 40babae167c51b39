// The audit: re-derives from raw rows what the code asserts on every write, so a bug, a bad
// migration or a hand edit of the database is found and named. Each check is one SQL statement
// (a consistent snapshot in both engines) and each violation carries the rows involved. Checks:
// every journal transaction sums to zero and has entries; the whole journal sums to zero; each
// balance equals Σ of its entries; the book sums to zero; sign rules hold; no nullifier appears
// twice (beyond the UNIQUE index, which a migration could drop); no entry is orphaned; no
// idempotency key is committed without its answer; the admin log's hash chain holds; each FI's
// running circulation total (circulation_totals.ts) equals the sum of its reserve's legs of the
// circulation kinds, which the CB's aggregate rules read instead of the journal. reconcileReserves
// compares two books.

import { FI_SETTLEMENT_ACCOUNT, cbReserveAccount } from './accounts.ts';
import { CIRCULATION_TOTAL_MISMATCH_SQL } from './circulation_totals.ts';
import { rowBigint, type Db, type Row, type Tx } from '../db/adapter.ts';
import { readAccount } from './journal.ts';
import { AUDIT_ROWS_MAX } from '../limits.ts';
import { verifyAdminLog } from '../access/admin_log.ts';

export const ViolationCode = {
  transactionUnbalanced: 'TRANSACTION_UNBALANCED',
  transactionEmpty: 'TRANSACTION_EMPTY',
  journalUnbalanced: 'JOURNAL_UNBALANCED',
  balanceMismatch: 'BALANCE_MISMATCH',
  bookUnbalanced: 'BOOK_UNBALANCED',
  signRuleBroken: 'SIGN_RULE_BROKEN',
  nullifierDuplicated: 'NULLIFIER_DUPLICATED',
  entryOrphaned: 'ENTRY_ORPHANED',
  idempotencyUnanswered: 'IDEMPOTENCY_UNANSWERED',
  reserveMismatch: 'RESERVE_MISMATCH',
  adminLogBroken: 'ADMIN_LOG_BROKEN',
  circulationTotalMismatch: 'CIRCULATION_TOTAL_MISMATCH',
} as const;
export type ViolationCode = (typeof ViolationCode)[keyof typeof ViolationCode];

export interface Violation {
  code: ViolationCode;
  message: string;
  /** The offending rows (at most AUDIT_ROWS_MAX), as the database returned them. */
  rows: Row[];
}

export interface AuditReport {
  clean: boolean;
  checkedAtMs: number;
  accounts: bigint;
  journalTransactions: bigint;
  nullifiers: bigint;
  /** Double spends recorded in nullifier_conflicts: incidents, not ledger violations. */
  nullifierConflicts: bigint;
  /** Entries of the node's hash-chained admin log, and the newest hash (pin it elsewhere to fix the tail). */
  adminLog: { entries: bigint; headHash: string };
  violations: Violation[];
}

interface Check {
  code: ViolationCode;
  sql: string;
  message: (rows: Row[]) => string;
}

const LIMIT = ` LIMIT ${AUDIT_ROWS_MAX}`;

const CHECKS: readonly Check[] = [
  {
    code: ViolationCode.transactionUnbalanced,
    sql:
      'SELECT e.transaction_id, e.seq, e.account_id, e.amount_minor, t.total FROM journal_entries e JOIN ' +
      '(SELECT transaction_id, CAST(SUM(amount_minor) AS BIGINT) AS total FROM journal_entries GROUP BY transaction_id ' +
      'HAVING SUM(amount_minor) <> 0) t ON t.transaction_id = e.transaction_id ORDER BY e.transaction_id, e.seq' + LIMIT,
    message: (rows) => `Journal transactions whose entries do not sum to zero: ${distinct(rows, 'transaction_id')}`,
  },
  {
    code: ViolationCode.transactionEmpty,
    sql:
      'SELECT t.id, t.kind, t.idempotency_key FROM journal_transactions t WHERE NOT EXISTS ' +
      '(SELECT 1 FROM journal_entries e WHERE e.transaction_id = t.id) ORDER BY t.id' + LIMIT,
    message: (rows) => `Journal transactions with no entries: ${distinct(rows, 'id')}`,
  },
  {
    code: ViolationCode.journalUnbalanced,
    sql:
      'SELECT CAST(SUM(amount_minor) AS BIGINT) AS total, CAST(COUNT(*) AS BIGINT) AS entries FROM journal_entries ' +
      'HAVING SUM(amount_minor) <> 0',
    message: (rows) => `The journal as a whole sums to ${String(rows[0]?.['total'])}, expected 0`,
  },
  {
    code: ViolationCode.balanceMismatch,
    sql:
      'SELECT a.id, a.kind, a.balance_minor, CAST(COALESCE(s.total, 0) AS BIGINT) AS entries_total FROM accounts a ' +
      'LEFT JOIN (SELECT account_id, SUM(amount_minor) AS total FROM journal_entries GROUP BY account_id) s ' +
      'ON s.account_id = a.id WHERE a.balance_minor <> COALESCE(s.total, 0) ORDER BY a.id' + LIMIT,
    message: (rows) => `Accounts whose balance differs from the sum of their entries: ${distinct(rows, 'id')}`,
  },
  {
    code: ViolationCode.bookUnbalanced,
    sql: 'SELECT CAST(SUM(balance_minor) AS BIGINT) AS total FROM accounts HAVING SUM(balance_minor) <> 0',
    message: (rows) => `The balances of this book sum to ${String(rows[0]?.['total'])}, expected 0`,
  },
  {
    code: ViolationCode.signRuleBroken,
    sql:
      "SELECT id, kind, sign_rule, balance_minor FROM accounts WHERE (sign_rule = 'non_negative' AND balance_minor < 0) " +
      "OR (sign_rule = 'non_positive' AND balance_minor > 0) ORDER BY id" + LIMIT,
    message: (rows) => `Accounts on the wrong side of zero for their kind: ${distinct(rows, 'id')}`,
  },
  {
    code: ViolationCode.nullifierDuplicated,
    sql:
      'SELECT n.epoch, n.nullifier, n.payment_hash, n.created_ms FROM nullifiers n JOIN ' +
      '(SELECT epoch, nullifier FROM nullifiers GROUP BY epoch, nullifier HAVING COUNT(*) > 1) d ' +
      'ON d.epoch = n.epoch AND d.nullifier = n.nullifier ORDER BY n.epoch, n.nullifier, n.created_ms' + LIMIT,
    message: (rows) => `Nullifiers settled more than once (${rows.length} rows involved)`,
  },
  {
    code: ViolationCode.entryOrphaned,
    sql:
      'SELECT e.transaction_id, e.seq, e.account_id, e.amount_minor FROM journal_entries e ' +
      'WHERE NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = e.transaction_id) ' +
      'OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id) ORDER BY e.transaction_id, e.seq' + LIMIT,
    message: (rows) => `Journal entries naming a missing transaction or account: ${distinct(rows, 'transaction_id')}`,
  },
  {
    code: ViolationCode.idempotencyUnanswered,
    sql: 'SELECT idem_key, request_hash, created_ms FROM idempotency_keys WHERE response IS NULL ORDER BY idem_key' + LIMIT,
    message: (rows) => `Idempotency keys committed without an answer: ${distinct(rows, 'idem_key')}`,
  },
  {
    code: ViolationCode.circulationTotalMismatch,
    sql: CIRCULATION_TOTAL_MISMATCH_SQL + LIMIT,
    message: (rows) => 'FI circulation totals that differ from the journal (the CB\'s in-flight share rule reads them): ' +
      rows.map((r) => `${String(r['fi_id'])} holds funded ${String(r['funded_minor'])} / returned ${String(r['returned_minor'])}, ` +
        `its reserve's journal legs say ${String(r['journal_funded_minor'])} / ${String(r['journal_returned_minor'])}`).join('; '),
  },
];

function distinct(rows: Row[], column: string): string {
  return [...new Set(rows.map((r) => String(r[column])))].join(', ');
}

async function count(tx: Tx, table: string): Promise<bigint> {
  const rows = await tx.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${table}`);
  return rowBigint(rows[0]!, 'n');
}

/** Runs every check on one book (CB or FI; checks on empty tables pass trivially). */
export async function auditBook(db: Db, nowMs: number): Promise<AuditReport> {
  return db.transaction(async (tx) => {
    const violations: Violation[] = [];
    for (const check of CHECKS) {
      const rows = await tx.query(check.sql);
      if (rows.length > 0) violations.push({ code: check.code, message: check.message(rows), rows });
    }
    const log = await verifyAdminLog(tx);
    if (log.broken !== null) {
      violations.push({ code: ViolationCode.adminLogBroken, message: `Admin log chain broken at entry ${log.broken.seq}: ${log.broken.reason}`, rows: [{ seq: log.broken.seq }] });
    }
    return {
      clean: violations.length === 0,
      checkedAtMs: nowMs,
      accounts: await count(tx, 'accounts'),
      journalTransactions: await count(tx, 'journal_transactions'),
      nullifiers: await count(tx, 'nullifiers'),
      nullifierConflicts: await count(tx, 'nullifier_conflicts'),
      adminLog: { entries: log.entries, headHash: log.headHash },
      violations,
    };
  });
}

/**
 * Cross-book check: each FI's settlement account must mirror its reserve at the CB. Only
 * meaningful when no FI→FI transfer is half-way through its steps (see transfer.ts).
 */
export async function reconcileReserves(cbDb: Db, fis: ReadonlyArray<{ fiId: string; db: Db }>): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const { fiId, db } of fis) {
    const reserve = (await readAccount(cbDb, cbReserveAccount(fiId)))?.balanceMinor ?? null;
    const settlement = (await readAccount(db, FI_SETTLEMENT_ACCOUNT))?.balanceMinor ?? null;
    if (reserve === null || settlement === null || reserve !== -settlement) {
      violations.push({
        code: ViolationCode.reserveMismatch,
        message: `FI ${fiId}: reserve at the CB is ${reserve ?? 'missing'}, the FI's settlement account says ${settlement === null ? 'missing' : -settlement}`,
        rows: [{ fiId, cbReserveMinor: reserve, fiSettlementMinor: settlement }],
      });
    }
  }
  return violations;
}
