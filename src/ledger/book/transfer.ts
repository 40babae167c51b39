// An FI→FI payment touches three books that share no database transaction: the payer's FI
// (customer → settlement), the CB (payer reserve → payee reserve) and the payee's FI (settlement
// → customer). Each leg is idempotent under a key derived from one transfer id, so the whole
// saga can be retried from the top after any crash and resumes where it stopped. If the payee
// leg is refused (unknown or wrong account) the CB leg is reversed and the payer refunded, each
// again under its own derived key. The ports are the books' own methods, so an HTTP client with
// the same shape can stand in for any of them.

import type { MoveResult, SettleResult } from '../cb/book.ts';
import { checkName } from '../context.ts';
import { LedgerError } from '../errors.ts';
import type { FiLedger } from '../fi/book.ts';
import type { CbLedger } from '../cb/book.ts';

export type CbPort = Pick<CbLedger, 'settleTransfer'>;
export type FiPort = Pick<FiLedger, 'fiId' | 'transferOut' | 'transferIn'>;

export interface TransferRequest {
  /** Caller-chosen id of this payment; every leg's idempotency key is derived from it. */
  transferId: string;
  fromAccountId: string;
  toAccountId: string;
  amountMinor: bigint;
}

export type TransferResult =
  | { status: 'completed'; out: MoveResult; settle: SettleResult; in: MoveResult }
  | { status: 'reversed'; reason: LedgerError; refund: MoveResult };

export const legKey = (transferId: string, leg: 'out' | 'settle' | 'in' | 'reverse' | 'refund'): string =>
  `xfer:${transferId}:${leg}`;

/** Runs (or resumes) one FI→FI payment. Refusals of the first leg are thrown unchanged. */
export async function transferBetweenFis(
  ports: { cb: CbPort; from: FiPort; to: FiPort },
  req: TransferRequest,
): Promise<TransferResult> {
  const id = checkName(req.transferId, 'transfer id');
  const { cb, from, to } = ports;
  const out = await from.transferOut({
    accountId: req.fromAccountId,
    toFiId: to.fiId,
    amountMinor: req.amountMinor,
    idempotencyKey: legKey(id, 'out'),
  });
  // The payer FI's settlement account mirrors its reserve, so when the books agree this cannot
  // be refused for funds; any refusal here is a broken mirror and must reach an operator.
  const settle = await cb.settleTransfer({
    fromFiId: from.fiId,
    toFiId: to.fiId,
    amountMinor: req.amountMinor,
    idempotencyKey: legKey(id, 'settle'),
  });
  try {
    const credited = await to.transferIn({
      accountId: req.toAccountId,
      fromFiId: from.fiId,
      amountMinor: req.amountMinor,
      idempotencyKey: legKey(id, 'in'),
    });
    return { status: 'completed', out, settle, in: credited };
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    await cb.settleTransfer({ fromFiId: to.fiId, toFiId: from.fiId, amountMinor: req.amountMinor, idempotencyKey: legKey(id, 'reverse') });
    const refund = await from.transferIn({
      accountId: req.fromAccountId,
      fromFiId: to.fiId,
      amountMinor: req.amountMinor,
      idempotencyKey: legKey(id, 'refund'),
    });
    return { status: 'reversed', reason: err, refund };
  }
}
