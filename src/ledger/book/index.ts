// The double-entry book both nodes keep (book/): accounts, the journal of balanced transactions,
// idempotent requests, the moves a transaction is made of, the audit that re-adds every balance,
// and the FI→FI transfer saga. What other parts may use; inside src/ledger files import by path.

export {
  AccountKind, CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, CB_ISSUANCE_ACCOUNT, FI_SETTLEMENT_ACCOUNT,
  FI_TREASURY_ACCOUNT, cbReserveAccount,
} from './accounts.ts';
export {
  bookTotal, checkMove, ensureAccount, lockAccounts, post, readAccount, type Account, type Entry,
  type Posting, type SignRule,
} from './journal.ts';
export { checkIdempotencyKey, idempotent, type IdempotentResult } from './idempotency.ts';
export { postTwoLegMove, type TwoLegMove } from './moves.ts';
export { ViolationCode, auditBook, reconcileReserves, type AuditReport, type Violation } from './audit.ts';
export {
  legKey, transferBetweenFis, type CbPort, type FiPort, type TransferRequest, type TransferResult,
} from './transfer.ts';
