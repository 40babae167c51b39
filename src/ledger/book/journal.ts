// The double-entry journal: one balanced journal transaction per move of money. Callers lock the
// accounts they touch (in id order, so two moves never deadlock), check them with checkMove,
// then post. Posting asserts Σ entries = 0 before writing and Σ all balances = 0 in the book
// after, so a bug that would create or destroy money stops the transaction instead of committing.
// The UNIQUE idempotency_key on journal_transactions is a second guard: one key, one effect.
// Posting is also the one place that keeps the CB's running totals of each FI's moves into and
// out of circulation (circulation_totals.ts), so no move of those kinds can skip them.

import { assert } from '../../crypto/assert.ts';
import { rowBigint, rowString, type Tx } from '../db/adapter.ts';
import { AccountKind } from './accounts.ts';
import { addCirculationLeg, isCirculationKind } from './circulation_totals.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { BALANCE_ABS_MAX_MINOR, JOURNAL_ENTRIES_MAX } from '../limits.ts';

export type SignRule = 'non_negative' | 'non_positive';

export interface Account {
  id: string;
  kind: string;
  owner: string;
  signRule: SignRule;
  balanceMinor: bigint;
}

export interface Entry {
  accountId: string;
  amountMinor: bigint;
}

export interface Posting {
  id: string;
  kind: string;
  idempotencyKey: string;
  createdMs: number;
  entries: readonly Entry[];
  /** Free text for people reading the journal: counterparty FI, transfer id, ... */
  reference?: string;
}

function toAccount(row: Record<string, unknown>): Account {
  const signRule = rowString(row, 'sign_rule');
  assert(signRule === 'non_negative' || signRule === 'non_positive', `account has sign rule ${signRule}`);
  return {
    id: rowString(row, 'id'),
    kind: rowString(row, 'kind'),
    owner: rowString(row, 'owner'),
    signRule,
    balanceMinor: rowBigint(row, 'balance_minor'),
  };
}

/** Locks and returns the accounts that exist among ids (missing ones are simply absent). */
export async function lockAccounts(tx: Tx, ids: readonly string[]): Promise<Map<string, Account>> {
  const out = new Map<string, Account>();
  for (const id of [...new Set(ids)].sort()) {
    const rows = await tx.query(
      'SELECT id, kind, owner, sign_rule, balance_minor FROM accounts WHERE id = $1 FOR UPDATE',
      [id],
    );
    if (rows.length === 1) out.set(id, toAccount(rows[0]!));
  }
  return out;
}

export async function readAccount(tx: Pick<Tx, 'query'>, id: string): Promise<Account | undefined> {
  const rows = await tx.query('SELECT id, kind, owner, sign_rule, balance_minor FROM accounts WHERE id = $1', [id]);
  return rows.length === 1 ? toAccount(rows[0]!) : undefined;
}

/** Creates an account if it does not exist; returns whether it did. */
export async function ensureAccount(tx: Tx, id: string, kind: string, owner: string, createdMs: number): Promise<boolean> {
  const changed = await tx.run(
    'INSERT INTO accounts (id, kind, owner, sign_rule, balance_minor, created_ms) ' +
      'SELECT $1, kind, $2, sign_rule, 0, $3 FROM account_kinds WHERE kind = $4 ' +
      'ON CONFLICT (id) DO NOTHING',
    [id, owner, BigInt(createdMs), kind],
  );
  const account = await readAccount(tx, id);
  assert(account !== undefined && account.kind === kind, `account ${id} of kind ${kind} could not be created`);
  return changed === 1;
}

/**
 * Refuses a move that would break an account's sign rule (INSUFFICIENT_FUNDS) or leave the
 * balance range (BALANCE_LIMIT). `accounts` must hold every account the entries name.
 */
export function checkMove(accounts: ReadonlyMap<string, Account>, entries: readonly Entry[]): void {
  const delta = new Map<string, bigint>();
  for (const e of entries) delta.set(e.accountId, (delta.get(e.accountId) ?? 0n) + e.amountMinor);
  for (const [id, d] of delta) {
    const a = accounts.get(id);
    assert(a !== undefined, `checkMove: account ${id} was not locked`);
    const after = a.balanceMinor + d;
    const broken = a.signRule === 'non_negative' ? after < 0n : after > 0n;
    if (broken) {
      const have = a.signRule === 'non_negative' ? a.balanceMinor : -a.balanceMinor;
      throw new LedgerError(
        LedgerErrorCode.insufficientFunds,
        `Account ${id} (${a.kind}) has ${have} minor units available, the move needs ${d < 0n ? -d : d}`,
      );
    }
    if (after > BALANCE_ABS_MAX_MINOR || after < -BALANCE_ABS_MAX_MINOR) {
      throw new LedgerError(
        LedgerErrorCode.balanceLimit,
        `Account ${id} would reach ${after} minor units, beyond the limit of ±${BALANCE_ABS_MAX_MINOR}`,
      );
    }
  }
}

function checkPosting(p: Posting): void {
  assert(p.entries.length >= 2 && p.entries.length <= JOURNAL_ENTRIES_MAX, `journal transaction needs 2..${JOURNAL_ENTRIES_MAX} entries, found ${p.entries.length}`);
  let sum = 0n;
  for (const e of p.entries) {
    assert(e.amountMinor !== 0n, `journal entry on ${e.accountId} has amount 0`);
    sum += e.amountMinor;
  }
  assert(sum === 0n, `journal transaction ${p.id} is unbalanced: entries sum to ${sum}`);
}

/** Σ balances in this book; must be 0 after every committed transaction. */
export async function bookTotal(tx: Pick<Tx, 'query'>): Promise<bigint> {
  const rows = await tx.query('SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS total FROM accounts');
  return rowBigint(rows[0]!, 'total');
}

/** Writes one balanced journal transaction and applies it; returns each touched balance after. */
export async function post(tx: Tx, p: Posting): Promise<Map<string, bigint>> {
  checkPosting(p);
  await tx.run(
    'INSERT INTO journal_transactions (id, kind, idempotency_key, reference, created_ms) VALUES ($1, $2, $3, $4, $5)',
    [p.id, p.kind, p.idempotencyKey, p.reference ?? null, BigInt(p.createdMs)],
  );
  const after = new Map<string, bigint>();
  const circulation = isCirculationKind(p.kind);
  for (const [seq, e] of p.entries.entries()) {
    await tx.run('INSERT INTO journal_entries (transaction_id, seq, account_id, amount_minor) VALUES ($1, $2, $3, $4)', [
      p.id,
      BigInt(seq),
      e.accountId,
      e.amountMinor,
    ]);
    const rows = await tx.query(
      'UPDATE accounts SET balance_minor = balance_minor + $1 WHERE id = $2 RETURNING balance_minor, kind, owner',
      [e.amountMinor, e.accountId],
    );
    assert(rows.length === 1, `journal entry names account ${e.accountId}, which does not exist`);
    after.set(e.accountId, rowBigint(rows[0]!, 'balance_minor'));
    if (circulation && rowString(rows[0]!, 'kind') === AccountKind.fiReserve) await addCirculationLeg(tx, rowString(rows[0]!, 'owner'), e.amountMinor);
  }
  const total = await bookTotal(tx);
  assert(total === 0n, `book is unbalanced after journal transaction ${p.id}: Σ balances = ${total}`);
  return after;
}
