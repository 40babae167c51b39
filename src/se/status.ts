// Status words of the Tally SE applet and the host-side messages for them.
//
// Why this shape: a status word is the only thing a refusing SE says, so each refusal the issue
// and DESIGN §4 name gets its own word, and a test pins every value (changing one is a wire break).
// ISO 7816-4 words keep their ISO meaning (9000, 61xx, 6700, 6982, 6985, 6A80, 6A84, 6D00, …).
// Tally's own refusals sit in ranges ISO leaves to applications, grouped by kind:
//   63C0        counter exhausted (ISO 63Cx = "counter x"): no spending counter left this epoch
//   69A1–69A8   value limits, credential validity and device revocation
//   69B1–69B2   nullifier checks
//   69C1–69C9   signatures and proofs that did not verify (security status, like 6982, but each its own)
//   69D1–69D8   freshness and replay (counters, versions, batch ids, payment requests)
//   6A90–6A92   storage full (like 6A84, but for the named bounded logs)

export const SW = {
  OK: 0x9000,
  /** Base of 61xx: xx more response bytes are waiting for GET RESPONSE (00 = 256 or more). */
  BYTES_REMAINING: 0x6100,
  WRONG_LENGTH: 0x6700,
  CHAIN_ERROR: 0x6883,
  SECURITY_STATUS: 0x6982,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  BAD_STATE: 0x6986,
  WRONG_DATA: 0x6a80,
  NOT_ENOUGH_MEMORY: 0x6a84,
  WRONG_P1P2: 0x6a86,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  INTERNAL_ERROR: 0x6f00,

  EPOCH_PAYMENTS_EXHAUSTED: 0x63c0,

  CAP_EXCEEDED: 0x69a1,
  HOLDING_LIMIT: 0x69a2,
  OFFLINE_SPEND_SYNC_REQUIRED: 0x69a3,
  CREDENTIAL_EXPIRED: 0x69a4,
  NO_CREDENTIAL: 0x69a5,
  INSUFFICIENT_BALANCE: 0x69a6,
  RECEIVE_ONLY: 0x69a7,
  /** The installed revocation list names this device (its customer is frozen): it may receive, sync and defund, not pay. */
  DEVICE_REVOKED: 0x69a8,

  NULLIFIER_SEEN: 0x69b1,
  NULLIFIER_REVOKED: 0x69b2,

  BAD_VOUCHER_SIGNATURE: 0x69c1,
  BAD_POLICY_SIGNATURE: 0x69c2,
  BAD_REVOCATION_SIGNATURE: 0x69c3,
  BAD_ACK_SIGNATURE: 0x69c4,
  BAD_CERTIFICATE: 0x69c5,
  BAD_ISSUANCE_RESPONSE: 0x69c6,
  /** For ACCEPT_PAYMENT (lead): the payment proof does not verify. */
  BAD_PAYMENT_PROOF: 0x69c7,
  /** For ACCEPT_PAYMENT (lead): (a, r_a) from the session does not open C_a. */
  BAD_PAYMENT_OPENING: 0x69c8,
  /** The payee's credential proof fails or its credential is not live (checked by the payer's host, payer_host.ts). */
  BAD_PAYEE_CREDENTIAL: 0x69c9,
  /** For CONFIRM_PAYMENT: the receipt's signature fails or its key is not the kept payment's payee. */
  BAD_RECEIPT: 0x69ca,

  VOUCHER_REPLAY: 0x69d1,
  VOUCHER_OUT_OF_ORDER: 0x69d2,
  VOUCHER_WRONG_DEVICE: 0x69d3,
  STALE_POLICY: 0x69d4,
  STALE_REVOCATION_LIST: 0x69d5,
  UNKNOWN_BATCH: 0x69d6,
  /** A payment request that was already paid (payer) or already answered by another payment (payee). */
  REQUEST_ALREADY_PAID: 0x69d7,
  /** A payment that answers no request this SE holds (another payee's, or an evicted one). */
  UNKNOWN_REQUEST: 0x69d8,
  /** The payee asks for a payment under another policy version than this SE holds: one of them must sync. */
  POLICY_VERSION_MISMATCH: 0x69e1,

  LOG_FULL: 0x6a90,
  NULLIFIER_SET_FULL: 0x6a91,
  /** For AUTHORIZE_PAYMENT: every slot for payments awaiting a receipt is taken. */
  UNCONFIRMED_PAYMENTS_FULL: 0x6a92,
} as const;
export type SwName = keyof typeof SW;
export type StatusWord = (typeof SW)[SwName];

const MESSAGES: Record<SwName, string> = {
  OK: 'success',
  BYTES_REMAINING: 'more response bytes are available (GET RESPONSE)',
  WRONG_LENGTH: 'wrong length: the command data is longer than this command allows',
  CHAIN_ERROR: 'command chaining error: a chained part did not continue the current chain',
  SECURITY_STATUS: 'security status not satisfied',
  CONDITIONS_NOT_SATISFIED: 'conditions of use not satisfied',
  BAD_STATE: 'command not allowed in the applet state (e.g. not personalized, or no issuance pending)',
  WRONG_DATA: 'wrong data: the command data did not decode as the expected message',
  NOT_ENOUGH_MEMORY: 'not enough memory in the secure element',
  WRONG_P1P2: 'incorrect parameters P1-P2',
  INS_NOT_SUPPORTED: 'instruction not supported by this applet',
  CLA_NOT_SUPPORTED: 'class not supported',
  INTERNAL_ERROR: 'internal error in the secure element; no state was changed',
  EPOCH_PAYMENTS_EXHAUSTED: 'payments per epoch exhausted: every spending counter of this epoch is used',
  CAP_EXCEEDED: 'payment amount is above the per-payment cap of this tier',
  HOLDING_LIMIT: 'receiving this amount would take the balance above the holding limit of this tier',
  OFFLINE_SPEND_SYNC_REQUIRED: 'offline spending limit reached: sync with the ledger before paying again',
  CREDENTIAL_EXPIRED: 'credential expired (epoch and grace period are over): sync for a new credential',
  NO_CREDENTIAL: 'no credential for the current epoch',
  INSUFFICIENT_BALANCE: 'insufficient balance',
  RECEIVE_ONLY: 'this tier may only receive (merchant terminal): it cannot pay offline',
  DEVICE_REVOKED: 'payment not made: the revocation list names this device (its owner is frozen); it may still receive, sync and defund',
  NULLIFIER_SEEN: 'payment refused: its nullifier was already seen by this device (double spend)',
  NULLIFIER_REVOKED: 'payment refused: its nullifier is on the revocation list',
  BAD_VOUCHER_SIGNATURE: 'load voucher signature does not verify under the intermediary key',
  BAD_POLICY_SIGNATURE: 'policy table signature does not verify under the central bank key',
  BAD_REVOCATION_SIGNATURE: 'revocation list signature does not verify under the central bank key',
  BAD_ACK_SIGNATURE: 'sync acknowledgement signature does not verify under the intermediary key',
  BAD_CERTIFICATE: 'certificate or key certificate does not verify or does not match this device',
  BAD_ISSUANCE_RESPONSE: 'credential issuance response does not verify',
  BAD_PAYMENT_PROOF: 'payment refused: its proof does not verify',
  BAD_PAYMENT_OPENING: 'payment refused: the amount opening does not match the amount commitment',
  BAD_PAYEE_CREDENTIAL: 'payment not made: the payee is not a genuine device with a live credential, or the request was altered',
  BAD_RECEIPT: 'receipt refused: its signature does not verify, or it is not signed by the payee of the kept payment',
  VOUCHER_REPLAY: 'load voucher already applied (its load counter is used)',
  VOUCHER_OUT_OF_ORDER: 'load voucher counter is ahead of the device load counter',
  VOUCHER_WRONG_DEVICE: 'load voucher is bound to another device or another intermediary',
  STALE_POLICY: 'policy table version is not newer than the installed one',
  STALE_REVOCATION_LIST: 'revocation list version is not newer than the installed one',
  UNKNOWN_BATCH: 'sync acknowledgement names a batch this device has not exported',
  REQUEST_ALREADY_PAID: 'payment request already paid: one request is never paid twice',
  UNKNOWN_REQUEST: 'payment answers no request this device holds',
  POLICY_VERSION_MISMATCH: 'payment not made: payer and payee hold different policy versions; the older one must sync first',
  LOG_FULL: 'receipt log full: sync before receiving more payments',
  NULLIFIER_SET_FULL: 'seen-nullifier set full: sync before receiving more payments',
  UNCONFIRMED_PAYMENTS_FULL: 'payment not made: too many earlier payments await a receipt; a receipt from their payee or a sync frees one',
};

const NAMES = new Map<number, SwName>(Object.entries(SW).map(([k, v]) => [v, k as SwName]));

/** The name of a status word, or null for an unknown word (61xx maps to BYTES_REMAINING). */
export function swName(sw: number): SwName | null {
  if ((sw & 0xff00) === SW.BYTES_REMAINING) return 'BYTES_REMAINING';
  return NAMES.get(sw) ?? null;
}

/** The host-side message for a status word, with its hex value. */
export function swMessage(sw: number): string {
  const name = swName(sw);
  const word = sw.toString(16).padStart(4, '0').toUpperCase();
  return name ? `${MESSAGES[name]} (SW ${word})` : `unknown status word ${word}`;
}

/** Host-side error for any status word other than 9000: the client throws it. */
export class SeError extends Error {
  readonly code: SwName | 'UNKNOWN';
  constructor(
    readonly sw: number,
    readonly detail = '',
  ) {
    super(`${swMessage(sw)}${detail ? `: ${detail}` : ''}`);
    this.name = 'SeError';
    this.code = swName(sw) ?? 'UNKNOWN';
  }
}

/**
 * Applet-side refusal: a handler throws it to abort its transaction and answer with `sw`.
 * `detail` stays inside the SE (it helps tests and logs); the host sees only the word.
 */
export class SeRefusal extends Error {
  constructor(
    readonly sw: StatusWord,
    readonly detail: string,
  ) {
    super(`${swMessage(sw)}: ${detail}`);
    this.name = 'SeRefusal';
  }
}
