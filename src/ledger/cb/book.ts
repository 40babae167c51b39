// The central bank's book: one issuance account (allowed to go negative: its balance is minus
// the money in existence), one reserve account per FI, and the nullifier registry. Issuing,
// redeeming and settling an FI→FI transfer are each one balanced journal transaction under one
// idempotency key. Check order for every move: key, amount, accounts exist, funds, balance range.

import { assert } from '../../crypto/assert.ts';
import { AccountKind, CB_ISSUANCE_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import { auditBook, type AuditReport } from '../book/audit.ts';
import { checkAmount, checkFiId, checkName, newId, systemClock, systemRandomBytes, type Clock, type NodeDeps, type RandomBytes } from '../context.ts';
import type { Db, Tx } from '../db/adapter.ts';
import { migrate } from '../db/migrations.ts';
import { partitionNullifierRegistry } from '../db/partition.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { checkMove, ensureAccount, lockAccounts, post, readAccount, type Account } from '../book/journal.ts';
import {
  insertNullifiersTx,
  listNullifierConflicts,
  type NullifierInsertResult,
  type NullifierRecord,
  type RecordedConflict,
} from './nullifiers.ts';


/** How the CB lays out its storage beyond the migrations. */
export interface CbStorageOptions {
  /** Hash partitions of the nullifier registry (PostgreSQL only; absent: plain tables). */
  nullifierPartitions?: number;
}

export interface MoveResult {
  transactionId: string;
  /** Balance after the move of the account the operation is about (the FI reserve, or the destination). */
  balanceMinor: bigint;
}

export interface SettleResult {
  transactionId: string;
  fromBalanceMinor: bigint;
  toBalanceMinor: bigint;
}

/** Screens an issuance before it is made; returns what to run inside its transaction, or null. */
export type IssueScreen = (input: { fiId: string; amountMinor: bigint; idempotencyKey: string }) => Promise<((tx: Tx) => Promise<void>) | null>;

export class CbLedger {
  readonly db: Db;
  private readonly clock: Clock;
  private readonly rng: RandomBytes;
  /** Runs after an issuance or redemption (the CB's aggregate rules, aggregate_rules.ts); none by default. */
  private afterFiMove: (fiId: string) => Promise<void> = async () => {};
  /** Screens an issuance before it is made (aggregate_rules.ts screenIssue); none by default. */
  private screenIssue: IssueScreen = async () => null;

  private constructor(deps: NodeDeps) {
    this.db = deps.db;
    this.clock = deps.clock ?? systemClock;
    this.rng = deps.rng ?? systemRandomBytes;
  }

  /**
   * Applies migrations and creates the issuance account; safe to call on every start. With
   * `nullifierPartitions` (PostgreSQL only) the nullifier registry is laid out as that many hash
   * partitions (db/partition.ts): converted on first open, checked on every later one.
   */
  static async open(deps: NodeDeps & CbStorageOptions): Promise<CbLedger> {
    const cb = new CbLedger(deps);
    await migrate(cb.db, () => cb.clock.nowMs());
    if (deps.nullifierPartitions !== undefined) await partitionNullifierRegistry(cb.db, { partitions: deps.nullifierPartitions });
    await cb.db.transaction((tx) => ensureAccount(tx, CB_ISSUANCE_ACCOUNT, AccountKind.cbIssuance, 'cb', cb.clock.nowMs()));
    return cb;
  }

  /** Names what runs after each issuance or redemption of an FI (CentralBank.open screens its aggregates). */
  onFiMove(hook: (fiId: string) => Promise<void>): void {
    this.afterFiMove = hook;
  }

  /**
   * Names what screens an issuance before it is made (CentralBank.open: the hard and soft
   * fi.net_issuance rules). It throws to refuse, with the key still free; what it returns runs in
   * the issuance's own transaction after the money moved (a recheck under the reserve's lock, the
   * use of an override), where a throw is a refusal stored under the key.
   */
  onIssue(hook: IssueScreen): void {
    this.screenIssue = hook;
  }

  /** Opens the reserve account of an FI (a second call with a new key is harmless). */
  async registerFi(input: { fiId: string; idempotencyKey: string }): Promise<{ accountId: string; created: boolean }> {
    const fiId = checkFiId(input.fiId);
    const now = this.clock.nowMs();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'cb.registerFi', { fiId }, async (tx) => {
      const accountId = cbReserveAccount(fiId);
      return { accountId, created: await ensureAccount(tx, accountId, AccountKind.fiReserve, fiId, now) };
    });
    return r.value;
  }

  /** Creates money: the FI's reserve grows, the issuance account goes negative by as much. */
  async issue(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const inMove = await this.screenIssue(input);
    const r = await this.move('cb.issue', input, { fiId: input.fiId }, (req) => ({
      from: CB_ISSUANCE_ACCOUNT,
      to: cbReserveAccount(checkName(req.fiId, 'FI id')),
    }), inMove ?? undefined);
    await this.afterFiMove(input.fiId);
    return { transactionId: r.transactionId, balanceMinor: r.toBalanceMinor };
  }

  /** Destroys money: the FI hands reserve back (e.g. cash withdrawn from circulation). */
  async redeem(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const r = await this.move('cb.redeem', input, { fiId: input.fiId }, (req) => ({
      from: cbReserveAccount(checkName(req.fiId, 'FI id')),
      to: CB_ISSUANCE_ACCOUNT,
    }));
    await this.afterFiMove(input.fiId);
    return { transactionId: r.transactionId, balanceMinor: r.fromBalanceMinor };
  }

  /** Settles an FI→FI payment: the payer FI's reserve falls and the payee FI's rises, at once. */
  settleTransfer(input: { fromFiId: string; toFiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<SettleResult> {
    const req = { fromFiId: input.fromFiId, toFiId: input.toFiId };
    return this.move('cb.settleTransfer', input, req, () => {
      const from = cbReserveAccount(checkName(req.fromFiId, 'payer FI id'));
      const to = cbReserveAccount(checkName(req.toFiId, 'payee FI id'));
      if (from === to) throw new LedgerError(LedgerErrorCode.badRequest, `Cannot settle a transfer from FI ${req.fromFiId} to itself`);
      return { from, to };
    });
  }

  /** Shared body of every two-account move of this book. */
  private async move<R extends Record<string, string>>(
    operation: string,
    input: { amountMinor: bigint; idempotencyKey: string },
    request: R,
    route: (req: R) => { from: string; to: string },
    inMove?: (tx: Tx) => Promise<void>,
  ): Promise<SettleResult> {
    const now = this.clock.nowMs();
    const wire = { ...request, amountMinor: input.amountMinor };
    const r = await idempotent(this.db, now, input.idempotencyKey, operation, wire, async (tx) => {
      const amount = checkAmount(input.amountMinor);
      const { from, to } = route(request);
      const accounts = await lockAccounts(tx, [from, to]);
      for (const id of [from, to]) {
        if (!accounts.has(id)) throw new LedgerError(LedgerErrorCode.unknownAccount, `Account ${id} does not exist in the CB book`);
      }
      const entries = [
        { accountId: from, amountMinor: -amount },
        { accountId: to, amountMinor: amount },
      ];
      checkMove(accounts, entries);
      const transactionId = newId(this.rng, 'jtx');
      const after = await post(tx, { id: transactionId, kind: operation, idempotencyKey: input.idempotencyKey, createdMs: now, entries });
      if (inMove !== undefined) await inMove(tx);
      const toBalance = after.get(to);
      const fromBalance = after.get(from);
      assert(toBalance !== undefined && fromBalance !== undefined, 'post() must report both balances');
      return { transactionId, fromBalanceMinor: fromBalance, toBalanceMinor: toBalance };
    });
    return r.value;
  }

  /** Balance of an FI's reserve; UNKNOWN_ACCOUNT if the FI is not registered. */
  async reserveBalance(fiId: string): Promise<bigint> {
    const a = await this.account(cbReserveAccount(checkName(fiId, 'FI id')));
    return a.balanceMinor;
  }

  /** Money in existence: minus the issuance account's balance. */
  async issuedTotal(): Promise<bigint> {
    const a = await this.account(CB_ISSUANCE_ACCOUNT);
    assert(a.balanceMinor <= 0n, `issuance account is positive: ${a.balanceMinor}`);
    return -a.balanceMinor;
  }

  private async account(id: string): Promise<Account> {
    const a = await readAccount(this.db, id);
    if (a === undefined) throw new LedgerError(LedgerErrorCode.unknownAccount, `Account ${id} does not exist in the CB book`);
    return a;
  }

  /**
   * Registers spent nullifiers in one transaction; see nullifiers.ts for the outcomes. A retry
   * under the same key returns the first answer (items first reported `inserted` stay so).
   */
  async insertNullifiers(input: { items: readonly NullifierRecord[]; idempotencyKey: string }): Promise<NullifierInsertResult> {
    const now = this.clock.nowMs();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'cb.insertNullifiers', { items: input.items }, (tx) =>
      insertNullifiersTx(tx, now, input.items),
    );
    return r.value;
  }

  /** Every double spend recorded so far, with both payment hashes. */
  nullifierConflicts(): Promise<RecordedConflict[]> {
    return listNullifierConflicts(this.db);
  }

  audit(): Promise<AuditReport> {
    return auditBook(this.db, this.clock.nowMs());
  }
}
