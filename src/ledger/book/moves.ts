// One balanced two-entry move inside a caller's transaction, shared by the offline operations
// (voucher and unload legs, circulation, incident booking). The books' own moves (cb/book.ts, fi/book.ts)
// predate it and keep their private copies; this is the same check order: accounts exist, funds,
// balance range, then one journal transaction whose key is the operation's idempotency key.

import { assert } from '../../crypto/assert.ts';
import { newId, type RandomBytes } from '../context.ts';
import type { Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { checkMove, lockAccounts, post } from './journal.ts';

export interface TwoLegMove {
  operation: string;
  from: string;
  to: string;
  amountMinor: bigint;
  /** Unique per journal transaction (the journal's own UNIQUE guard). */
  journalKey: string;
  reference?: string;
}

/** Posts `amountMinor` from → to; returns the journal id and both balances after. */
export async function postTwoLegMove(
  tx: Tx,
  rng: RandomBytes,
  nowMs: number,
  m: TwoLegMove,
): Promise<{ transactionId: string; fromBalanceMinor: bigint; toBalanceMinor: bigint }> {
  assert(m.amountMinor > 0n, `${m.operation}: amount must be positive (checked by the caller)`);
  const accounts = await lockAccounts(tx, [m.from, m.to]);
  for (const id of [m.from, m.to]) {
    if (!accounts.has(id)) throw new LedgerError(LedgerErrorCode.unknownAccount, `${m.operation}: account ${id} does not exist in this book`);
  }
  const entries = [
    { accountId: m.from, amountMinor: -m.amountMinor },
    { accountId: m.to, amountMinor: m.amountMinor },
  ];
  checkMove(accounts, entries);
  const transactionId = newId(rng, 'jtx');
  const after = await post(tx, { id: transactionId, kind: m.operation, idempotencyKey: m.journalKey, createdMs: nowMs, entries, reference: m.reference });
  const fromBalanceMinor = after.get(m.from);
  const toBalanceMinor = after.get(m.to);
  assert(fromBalanceMinor !== undefined && toBalanceMinor !== undefined, 'post() must report both balances');
  return { transactionId, fromBalanceMinor, toBalanceMinor };
}
