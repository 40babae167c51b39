// An FI's book: its settlement account (≤ 0, mirroring its reserve at the CB), its treasury
// (reserve not yet given to customers) and its customers' accounts, plus KYC records. Every
// change is one database transaction under one idempotency key. Check order for a move out of a
// customer account: key, amount, account exists, customer not frozen, funds, balance range.

import { assert } from '../../crypto/assert.ts';
import { AccountKind, FI_SETTLEMENT_ACCOUNT, FI_TREASURY_ACCOUNT } from '../book/accounts.ts';
import { auditBook, type AuditReport } from '../book/audit.ts';
import type { MoveResult } from '../cb/book.ts';
import { checkAmount, checkName, newId, systemClock, systemRandomBytes, type Clock, type NodeDeps, type RandomBytes } from '../context.ts';
import {
  checkKyc,
  insertCustomer,
  linkAccount,
  loadCustomer,
  ownerOfAccount,
  setCustomerFrozen,
  type Customer,
} from './customers.ts';
import { rowBigint, rowString, type Db, type Tx } from '../db/adapter.ts';
import { FREEZE_REASON_CHARS_MAX } from '../limits.ts';
import { migrate } from '../db/migrations.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { checkMove, ensureAccount, lockAccounts, post, readAccount } from '../book/journal.ts';
import { checkRules, DEFAULT_RULES, type RuleSet } from '../../compliance/index.ts';
import { recheckScreened, recordScreened, screenMove, type ComplianceDeps, type Screened } from './compliance.ts';
import { recordRegistration, screenRegistration } from './kyc_screen.ts';
import { appendComplianceLog, chainLegacyFreezes, freezeLogEntry } from './compliance_log.ts';

/** Customer moves the AML/CFT rules screen, and the event each one is. */
const SCREENED_MOVES: Readonly<Record<string, 'deposit' | 'withdraw'>> = { 'fi.deposit': 'deposit', 'fi.withdraw': 'withdraw' };

type Direction = 'in' | 'out';

/** pg_advisory_xact_lock id serialising fi_freeze_log numbering ("FRZL" in ASCII). */
const FREEZE_LOG_LOCK_ID = 0x46525a4cn;

export interface FreezeInput {
  customerId: string;
  frozen: boolean;
  /** Why (1..FREEZE_REASON_CHARS_MAX characters, not only blanks): kept in fi_freeze_log. */
  reason: string;
  /** The operator who decided it (default 'operator', for in-process callers). */
  operatorId?: string;
  idempotencyKey: string;
}

export interface FreezeLogEntry {
  customerId: string;
  frozen: boolean;
  reason: string;
  operatorId: string;
  atMs: number;
}

/** BAD_REQUEST unless `reason` is a string of 1..FREEZE_REASON_CHARS_MAX characters with something besides blanks. */
export function checkFreezeReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim().length === 0 || [...reason].length > FREEZE_REASON_CHARS_MAX) {
    const got = typeof reason === 'string' ? `${[...reason].length} characters${reason.trim().length === 0 ? ', all blank' : ''}` : typeof reason;
    throw new LedgerError(LedgerErrorCode.badRequest, `A freeze or unfreeze needs a reason of 1..${FREEZE_REASON_CHARS_MAX} characters (got ${got})`);
  }
  return reason;
}

interface MoveSpec {
  operation: string;
  /** The customer account, or undefined for treasury ↔ settlement moves. */
  accountId?: string;
  from: string;
  to: string;
  reference?: string;
}

export class FiLedger {
  readonly db: Db;
  readonly fiId: string;
  private readonly clock: Clock;
  private readonly rng: RandomBytes;
  /** The AML/CFT rules this FI enforces (compliance.ts); null: none (a book opened without them). */
  readonly rules: RuleSet | null;

  private constructor(deps: NodeDeps & { fiId: string; rules?: RuleSet | null }) {
    this.db = deps.db;
    this.rules = deps.rules === null ? null : checkRules(deps.rules ?? DEFAULT_RULES);
    this.fiId = checkName(deps.fiId, 'FI id');
    this.clock = deps.clock ?? systemClock;
    this.rng = deps.rng ?? systemRandomBytes;
  }

  /** Applies migrations and creates the settlement and treasury accounts; safe on every start. */
  static async open(deps: NodeDeps & { fiId: string; rules?: RuleSet | null }): Promise<FiLedger> {
    const fi = new FiLedger(deps);
    await migrate(fi.db, () => fi.clock.nowMs());
    await fi.db.transaction(async (tx) => {
      await ensureAccount(tx, FI_SETTLEMENT_ACCOUNT, AccountKind.fiSettlement, fi.fiId, fi.clock.nowMs());
      await ensureAccount(tx, FI_TREASURY_ACCOUNT, AccountKind.fiTreasury, fi.fiId, fi.clock.nowMs());
      // Freezes from before freezes were chained (migration 019), chained once.
      await chainLegacyFreezes(tx);
    });
    return fi;
  }

  /** KYC: registers a customer with a policy tier and an identity record. */
  async registerCustomer(input: { tier: number; identity: Record<string, unknown>; idempotencyKey: string }): Promise<{ customerId: string }> {
    const now = this.clock.nowMs();
    const request = { tier: input.tier, identity: input.identity };
    const d = this.complianceDeps(now);
    // KYC screening against the watchlist (kyc_screen.ts): a well-formed record only, before the key is taken.
    const screened = d === null ? null : (checkKyc(input.tier, input.identity), await screenRegistration(d, input.idempotencyKey, input.identity));
    const r = await idempotent(this.db, now, input.idempotencyKey, 'fi.registerCustomer', request, async (tx) => {
      const { tier, identityJson } = checkKyc(input.tier, input.identity);
      const customerId = newId(this.rng, 'cus');
      await insertCustomer(tx, { id: customerId, fiId: this.fiId, tier, identityJson, createdMs: now });
      if (screened !== null) await recordRegistration(tx, d!, screened, customerId);
      return { customerId };
    });
    return r.value;
  }

  /**
   * Freezes or unfreezes a customer (AML): a frozen customer cannot move money out. Every accepted
   * call is appended to fi_freeze_log with its reason and operator, in the same transaction. The
   * offline effect (the CB's device revocation list) is FinancialIntermediary.setFrozen's.
   */
  async setFrozen(input: FreezeInput): Promise<{ customerId: string; frozen: boolean }> {
    const now = this.clock.nowMs();
    const operatorId = input.operatorId ?? 'operator';
    const request = { customerId: input.customerId, frozen: input.frozen, reason: input.reason, operatorId };
    const r = await idempotent(this.db, now, input.idempotencyKey, 'fi.setFrozen', request, async (tx) => {
      const customerId = checkName(input.customerId, 'customer id');
      if (typeof input.frozen !== 'boolean') throw new LedgerError(LedgerErrorCode.badRequest, 'frozen must be true or false');
      const reason = checkFreezeReason(input.reason);
      await loadCustomer(tx, customerId, true);
      await setCustomerFrozen(tx, customerId, input.frozen);
      // Numbered under a lock (PostgreSQL; SQLite's writer is alone anyway) so the log reads in order.
      if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [FREEZE_LOG_LOCK_ID]);
      const seq = rowBigint((await tx.query('SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) AS seq FROM fi_freeze_log'))[0]!, 'seq');
      const operator = checkName(operatorId, 'operator id');
      await tx.run('INSERT INTO fi_freeze_log (seq, customer_id, frozen, reason, operator_id, at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
        seq, customerId, input.frozen ? 1n : 0n, reason, operator, BigInt(now),
      ]);
      // The same event in the chained compliance log: verifyComplianceLog checks each freeze row against it.
      await appendComplianceLog(tx, freezeLogEntry({ seq, customerId, frozen: input.frozen, reason, operatorId: operator, atMs: now }));
      return { customerId, frozen: input.frozen };
    });
    return r.value;
  }

  /** The freeze log of one customer (or all), oldest first. */
  async freezeLog(customerId?: string): Promise<FreezeLogEntry[]> {
    const rows = customerId === undefined
      ? await this.db.query('SELECT customer_id, frozen, reason, operator_id, at_ms FROM fi_freeze_log ORDER BY seq')
      : await this.db.query('SELECT customer_id, frozen, reason, operator_id, at_ms FROM fi_freeze_log WHERE customer_id = $1 ORDER BY seq', [customerId]);
    return rows.map((r) => ({
      customerId: rowString(r, 'customer_id'), frozen: rowBigint(r, 'frozen') === 1n, reason: rowString(r, 'reason'),
      operatorId: rowString(r, 'operator_id'), atMs: Number(rowBigint(r, 'at_ms')),
    }));
  }

  /** Opens a (zero-balance) account for a registered, unfrozen customer. */
  async openAccount(input: { customerId: string; idempotencyKey: string }): Promise<{ accountId: string }> {
    const now = this.clock.nowMs();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'fi.openAccount', { customerId: input.customerId }, async (tx) => {
      const customer = await loadCustomer(tx, checkName(input.customerId, 'customer id'), true);
      if (customer.frozen) throw new LedgerError(LedgerErrorCode.frozen, `Customer ${customer.id} is frozen: no new accounts`);
      const accountId = newId(this.rng, 'acc');
      assert(await ensureAccount(tx, accountId, AccountKind.customer, customer.id, now), `account id ${accountId} collided`);
      await linkAccount(tx, accountId, customer.id);
      return { accountId };
    });
    return r.value;
  }

  /** The FI's reserve at the CB grew (issue, or an inbound settlement credited to the treasury). */
  creditTreasury(input: { amountMinor: bigint; reference?: string; idempotencyKey: string }): Promise<MoveResult> {
    return this.move(input, { operation: 'fi.creditTreasury', from: FI_SETTLEMENT_ACCOUNT, to: FI_TREASURY_ACCOUNT, reference: input.reference });
  }

  /** The FI's reserve at the CB shrank (redeemed); INSUFFICIENT_FUNDS if the treasury is short. */
  debitTreasury(input: { amountMinor: bigint; reference?: string; idempotencyKey: string }): Promise<MoveResult> {
    return this.move(input, { operation: 'fi.debitTreasury', from: FI_TREASURY_ACCOUNT, to: FI_SETTLEMENT_ACCOUNT, reference: input.reference });
  }

  /** Credits a customer from the FI's treasury (cash in, salary, ...). */
  deposit(input: { accountId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.customerMove(input, 'fi.deposit', 'in', FI_TREASURY_ACCOUNT);
  }

  /** Debits a customer back to the treasury (cash out, ...). */
  withdraw(input: { accountId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.customerMove(input, 'fi.withdraw', 'out', FI_TREASURY_ACCOUNT);
  }

  /** First leg of an FI→FI payment: the customer pays out through this FI's reserve at the CB. */
  transferOut(input: { accountId: string; toFiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.customerMove(input, 'fi.transferOut', 'out', FI_SETTLEMENT_ACCOUNT, checkName(input.toFiId, 'payee FI id'));
  }

  /** Last leg of an FI→FI payment: the CB has settled it into this FI's reserve. */
  transferIn(input: { accountId: string; fromFiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.customerMove(input, 'fi.transferIn', 'in', FI_SETTLEMENT_ACCOUNT, checkName(input.fromFiId, 'payer FI id'));
  }

  private customerMove(
    input: { accountId: string; amountMinor: bigint; idempotencyKey: string },
    operation: string,
    direction: Direction,
    counterparty: string,
    reference?: string,
  ): Promise<MoveResult> {
    const accountId = input.accountId;
    const spec: MoveSpec =
      direction === 'out'
        ? { operation, accountId, from: accountId, to: counterparty, reference }
        : { operation, accountId, from: counterparty, to: accountId, reference };
    return this.move(input, spec);
  }

  /** The compliance context of this book at `nowMs` (rules, storage, ids). */
  complianceDeps(nowMs: number): ComplianceDeps | null {
    return this.rules === null ? null : { db: this.db, rules: this.rules, rng: this.rng, nowMs };
  }

  /** Screens a deposit or withdrawal before its key is taken (compliance.ts); null for other moves. */
  private async screen(input: { amountMinor: bigint; idempotencyKey: string }, spec: MoveSpec, nowMs: number): Promise<Screened | null> {
    const kind = SCREENED_MOVES[spec.operation];
    const d = this.complianceDeps(nowMs);
    if (kind === undefined || d === null || spec.accountId === undefined) return null;
    const owner = await ownerOfAccount(this.db, spec.accountId);
    if (owner === undefined) return null;
    return screenMove(d, input.idempotencyKey, { kind, customerId: owner.customerId, amountMinor: input.amountMinor, atMs: nowMs });
  }

  private async move(input: { amountMinor: bigint; idempotencyKey: string }, spec: MoveSpec): Promise<MoveResult> {
    const now = this.clock.nowMs();
    const request = { from: spec.from, to: spec.to, amountMinor: input.amountMinor, reference: spec.reference };
    const screened = await this.screen(input, spec, now);
    const r = await idempotent(this.db, now, input.idempotencyKey, spec.operation, request, async (tx) => {
      const amount = checkAmount(input.amountMinor);
      if (spec.accountId !== undefined) await this.checkCustomerAccount(tx, spec.accountId, spec.from === spec.accountId);
      const checked = screened === null ? null : await recheckScreened(tx, this.complianceDeps(now)!, screened);
      const accounts = await lockAccounts(tx, [spec.from, spec.to]);
      assert(accounts.size === 2, `${spec.operation}: FI system accounts must exist`);
      const entries = [
        { accountId: spec.from, amountMinor: -amount },
        { accountId: spec.to, amountMinor: amount },
      ];
      checkMove(accounts, entries);
      const transactionId = newId(this.rng, 'jtx');
      const after = await post(tx, {
        id: transactionId,
        kind: spec.operation,
        idempotencyKey: input.idempotencyKey,
        createdMs: now,
        entries,
        reference: spec.reference,
      });
      if (checked !== null) await recordScreened(tx, this.complianceDeps(now)!, checked, transactionId);
      const balance = after.get(spec.accountId ?? spec.to);
      assert(balance !== undefined, 'post() must report the balance of the account moved');
      return { transactionId, balanceMinor: balance };
    });
    return r.value;
  }

  /** UNKNOWN_ACCOUNT unless accountId is a customer account; FROZEN if money would leave a frozen one. */
  private async checkCustomerAccount(tx: Tx, accountId: string, debit: boolean): Promise<void> {
    checkName(accountId, 'account id');
    const owner = await ownerOfAccount(tx, accountId);
    if (owner === undefined) throw new LedgerError(LedgerErrorCode.unknownAccount, `Account ${accountId} is not a customer account at FI ${this.fiId}`);
    if (debit && owner.frozen) throw new LedgerError(LedgerErrorCode.frozen, `Customer ${owner.customerId} is frozen: no money may leave account ${accountId}`);
  }

  /** Balance of a customer account (or of `fi:treasury` / `fi:settlement`). */
  /** The customer who owns a customer account (null for an FI account or none). */
  async accountOwner(accountId: string): Promise<string | null> {
    const r = (await this.db.query('SELECT customer_id FROM customer_accounts WHERE account_id = $1', [accountId]))[0];
    return r === undefined ? null : rowString(r, 'customer_id');
  }

  async balance(accountId: string): Promise<bigint> {
    const a = await readAccount(this.db, checkName(accountId, 'account id'));
    if (a === undefined) throw new LedgerError(LedgerErrorCode.unknownAccount, `Account ${accountId} does not exist at FI ${this.fiId}`);
    return a.balanceMinor;
  }

  customer(customerId: string): Promise<Customer> {
    return loadCustomer(this.db, checkName(customerId, 'customer id'));
  }

  audit(): Promise<AuditReport> {
    return auditBook(this.db, this.clock.nowMs());
  }
}
