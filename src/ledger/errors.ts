// Typed operating errors of the ledger. Bad input, missing funds and conflicts are not bugs: they
// carry a stable code the HTTP layer maps to a status and clients switch on. Broken invariants use
// assert() instead and are never turned into one of these.

export const LedgerErrorCode = {
  /** Amount ≤ 0, above AMOUNT_MAX_MINOR, or not an integer. */
  amountInvalid: 'AMOUNT_INVALID',
  /** An account, customer or FI the request names does not exist in this book. */
  unknownAccount: 'UNKNOWN_ACCOUNT',
  /** The customer (or its account) is frozen. */
  frozen: 'FROZEN',
  /** The debit would take an account below what its sign rule allows. */
  insufficientFunds: 'INSUFFICIENT_FUNDS',
  /** The idempotency key was used before with a different request. */
  idempotencyMismatch: 'IDEMPOTENCY_MISMATCH',
  /** A balance would leave BALANCE_ABS_MAX_MINOR. */
  balanceLimit: 'BALANCE_LIMIT',
  /** Structurally bad request (bad key, bad id, bad bytes, bad tier, batch too large, ...). */
  badRequest: 'BAD_REQUEST',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

const CODES = new Set<string>(Object.values(LedgerErrorCode));

export function isLedgerErrorCode(x: unknown): x is LedgerErrorCode {
  return typeof x === 'string' && CODES.has(x);
}

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  constructor(code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}

/** HTTP status for each code (stable: clients and tests pin them). */
export const HTTP_STATUS: Readonly<Record<LedgerErrorCode, number>> = {
  AMOUNT_INVALID: 400,
  BAD_REQUEST: 400,
  FROZEN: 403,
  UNKNOWN_ACCOUNT: 404,
  INSUFFICIENT_FUNDS: 409,
  BALANCE_LIMIT: 409,
  IDEMPOTENCY_MISMATCH: 422,
};
