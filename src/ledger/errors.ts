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
  /** A device this FI has not enrolled (or a record naming one). */
  unknownDevice: 'UNKNOWN_DEVICE',
  /** Attestation certificate from an unknown manufacturer CA, or a bad chain or signature. */
  attestationInvalid: 'ATTESTATION_INVALID',
  /** A device-signed message (report, unload record) does not verify or is not what the FI knows. */
  signatureInvalid: 'SIGNATURE_INVALID',
  /** A sync batch's balance report disagrees with the batch or with the FI's records. */
  reportInvalid: 'REPORT_INVALID',
  /** At least one payment proof of a batch does not verify (or does not decode). */
  proofInvalid: 'PROOF_INVALID',
  /** A batch's opening proof does not show that Σ C_a commits to the report's receivedMinor. */
  openingInvalid: 'OPENING_INVALID',
  /** A batch id or counter was used before with different content (e.g. a rolled-back SE). */
  replayConflict: 'REPLAY_CONFLICT',
  /** The customer was identified as a double spender: no new credentials. */
  blocked: 'BLOCKED',
  /** An unload record for more than the FI knows went into the device (vouchers + settled receipts). */
  unloadNotCovered: 'UNLOAD_NOT_COVERED',
  /** A policy version the CB never published (a payment names the version it was made under). */
  unknownPolicy: 'UNKNOWN_POLICY',
  /** A sync batch carries a receipt whose payment context names another payee than the uploader. */
  receiptNotForUploader: 'RECEIPT_NOT_FOR_UPLOADER',
  /** An issuance request's K is not the device key pinned at enrolment (or none is pinned). */
  deviceKeyMismatch: 'DEVICE_KEY_MISMATCH',
  /** A signed issuance request names another nonce, device, epoch, tier or class than this issuance. */
  issuanceMismatch: 'ISSUANCE_MISMATCH',
  /** The device already has a credential for this epoch from a different request. */
  alreadyIssued: 'ALREADY_ISSUED',
  /** An enrolling K is within δ·g_K (|δ| < L_max) of a registered one: the two could share nullifiers. */
  relatedDeviceKey: 'RELATED_DEVICE_KEY',
  /** A stored payment record a warrant names does not hash to its payment id or does not decode. */
  evidenceInvalid: 'EVIDENCE_INVALID',
  /** The warranted payment's escrow E1 is shared with another stored payment: a partial would open both. */
  escrowShared: 'ESCROW_SHARED',
  /**
   * No credential renewal: the device's last accepted sync is older than its newest credential
   * (DESIGN §3.4 Contain: a device that never syncs never renews), or the epoch asked for is not
   * the current or the next one.
   */
  syncRequired: 'SYNC_REQUIRED',
  /** A balance report's balance ≠ loaded + received + pending − spent − unloaded. */
  balanceIdentity: 'BALANCE_IDENTITY',
  /** A report's loaded total ≠ Σ of the vouchers this FI issued below its load counter. */
  loadedMismatch: 'LOADED_MISMATCH',
  /** A report's unloaded total disagrees with the unload records this FI applied. */
  unloadedMismatch: 'UNLOADED_MISMATCH',
  /** A report's received total ≠ the last accepted one + this batch's Σa (or claims pending receipts it cannot hold). */
  receivedMismatch: 'RECEIVED_MISMATCH',
  /** A running total went down since the last accepted report (a rolled-back or lying SE). */
  totalsDecreased: 'TOTALS_DECREASED',
  /** A reclaim asked for before the payment's settlement window is over (policy/settlement.ts). */
  reclaimTooEarly: 'RECLAIM_TOO_EARLY',
  /** A reclaim claim that does not check: wrong device, record, opening, proof, or a payee settled the payment. */
  reclaimRefused: 'RECLAIM_REFUSED',
  /** The request body is over HTTP_BODY_BYTES_MAX. */
  bodyTooLarge: 'BODY_TOO_LARGE',
  /** The request body's content type is not JSON. */
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  /** No route answers this method and path. */
  notFound: 'NOT_FOUND',
  /** No credential, or one this node does not know, cannot verify, or has revoked (access/gate.ts). */
  unauthenticated: 'UNAUTHENTICATED',
  /** A known caller that the route's access rule does not let in (wrong role, another FI, another device or customer). */
  forbidden: 'FORBIDDEN',
  /** A device request whose counter is not above the last one this FI accepted from it (a replay or a reordered request). */
  requestReplayed: 'REQUEST_REPLAYED',
  /**
   * A load voucher for the device's current load counter was issued already, for another amount, and
   * its SE has not applied it: apply that voucher first (GET /devices/:id/vouchers/:counter).
   */
  voucherOutstanding: 'VOUCHER_OUTSTANDING',
  /** The caller spent its budget for this kind of expensive route; retry after the delay the message names. */
  rateLimited: 'RATE_LIMITED',
  /** A hard AML/CFT rule (src/compliance) refuses the move; the message names the rule id. Nothing changed. */
  ruleRefused: 'RULE_REFUSED',
  /** A soft AML/CFT rule refuses the move until an operator overrides its alert with a reason. */
  ruleOverrideRequired: 'RULE_OVERRIDE_REQUIRED',
  /** Anything that is not one of the codes above (a bug or a broken invariant): logged, never described. */
  internal: 'INTERNAL',
  /** A node's answer does not have the shape its route promises: raised by a client decoding it, and answered (502) by a node relaying that client's call. */
  answerInvalid: 'ANSWER_INVALID',
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
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  REQUEST_REPLAYED: 401,
  VOUCHER_OUTSTANDING: 409,
  RATE_LIMITED: 429,
  RULE_REFUSED: 403,
  RULE_OVERRIDE_REQUIRED: 409,
  UNKNOWN_ACCOUNT: 404,
  INSUFFICIENT_FUNDS: 409,
  BALANCE_LIMIT: 409,
  IDEMPOTENCY_MISMATCH: 422,
  UNKNOWN_DEVICE: 404,
  ATTESTATION_INVALID: 403,
  SIGNATURE_INVALID: 403,
  REPORT_INVALID: 422,
  PROOF_INVALID: 422,
  OPENING_INVALID: 422,
  REPLAY_CONFLICT: 409,
  BLOCKED: 403,
  UNLOAD_NOT_COVERED: 422,
  UNKNOWN_POLICY: 404,
  RECEIPT_NOT_FOR_UPLOADER: 403,
  DEVICE_KEY_MISMATCH: 403,
  ISSUANCE_MISMATCH: 422,
  ALREADY_ISSUED: 409,
  RELATED_DEVICE_KEY: 409,
  EVIDENCE_INVALID: 409,
  ESCROW_SHARED: 409,
  SYNC_REQUIRED: 403,
  BALANCE_IDENTITY: 422,
  LOADED_MISMATCH: 422,
  UNLOADED_MISMATCH: 422,
  RECEIVED_MISMATCH: 422,
  TOTALS_DECREASED: 422,
  RECLAIM_TOO_EARLY: 409,
  RECLAIM_REFUSED: 422,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  INTERNAL: 500,
  ANSWER_INVALID: 502,
};
