// Bounds of the SE's payment commands, in one place with what each costs, and a start-up check of
// how they relate to the wire limits (src/protocol/limits.ts) and the SE's own bounds.
//
// Why a file of its own: state.ts (the sections that hold pending requests and the last payment)
// and payment_commands.ts (the command table entries) both need these, and neither may import the
// other without a cycle.

import { assert } from '../crypto/assert.ts';
import { PAYMENT_BYTES_MAX as PAYMENT_PROOF_MAX } from '../crypto/payment_codec.ts';
import { rangeProofBytes } from '../crypto/range_proof.ts';
import { PAYMENT_CONTEXT_BYTES_MAX } from '../crypto/payment.ts';
import { PAYMENT_BYTES_MAX, PAYMENT_REQUEST_BYTES_MAX, RECEIPT_BYTES_MAX, SEALED_OPENING_BYTES, SESSION_KEY_BYTES } from '../protocol/limits.ts';

/** The host's amount range proof at the widest payment width (2 × 32 bits). */
export const AMOUNT_RANGE_PROOF_BYTES_MAX = rangeProofBytes(2, 32);
import { CHAINED_COMMAND_BYTES_MAX, RECEIPT_LOG_ENTRIES_MAX, RECEIPT_PAYMENT_BYTES_MAX } from './constants.ts';

/**
 * Payment requests a payee SE keeps at once (each ≈ 200 B of NVM). An unpaid request holds the
 * session secret a late or re-sent payment needs, so evicting one can strand a payer's debit:
 * eviction takes the oldest *paid* request first, and only then the oldest unpaid one.
 */
export const PENDING_REQUESTS_MAX = 8;
/**
 * Request ids a payer SE remembers having paid (16 B each). Only the newest payment is kept whole
 * for a re-send; older ones are remembered so a confused host can never make the SE pay one
 * request twice.
 */
export const PAID_REQUEST_IDS_MAX = 32;
/**
 * Command data of AUTHORIZE_PAYMENT: the encoded PaymentRequest, the host's amount range proof
 * (at most 2 × 32 bits), the payer's session key and sealed opening, plus the CBOR wrapper.
 */
export const AUTHORIZE_COMMAND_BYTES_MAX = PAYMENT_REQUEST_BYTES_MAX + AMOUNT_RANGE_PROOF_BYTES_MAX + SESSION_KEY_BYTES + SEALED_OPENING_BYTES + 96;
/**
 * Spend tokens an SE keeps (≈ 1.9 KB each, crypto/spend_token.ts). The host asks for more while
 * the device is idle, and asks for one right before a payment when none is ready.
 */
export const SPEND_TOKENS_MAX = 4;
/**
 * Outgoing payments a payer SE keeps whole until receipted or reclaimed (each ≈ 3 KB of NVM: the
 * payment, its context, r_a and the bookkeeping). AUTHORIZE_PAYMENT refuses a new payment while
 * all are held (UNCONFIRMED_PAYMENTS_FULL), so no debit is ever made without its payment kept: a
 * receipt (CONFIRM_PAYMENT) or a sync that reports them settled or reclaimed frees slots. Eight
 * covers a day of taps whose receipts were lost, at ≈ 24 KiB, about a tenth of the receipt log.
 */
export const UNCONFIRMED_PAYMENTS_MAX = 8;
/** NVM one kept payment takes: payment, context, and ≈ 300 B of hashes, scalars and integers. */
export const UNCONFIRMED_ENTRY_NVM_BYTES = PAYMENT_BYTES_MAX + PAYMENT_CONTEXT_BYTES_MAX + 320;
/**
 * Reclaim refusals a payee SE remembers having applied (≈ 60 B each): the newest ones, enough for
 * every refusal one sync can carry several times over; an older one is not re-sent by the FI.
 */
export const RECLAIM_REFUSALS_MAX = 64;
/** Command data of ACCEPT_PAYMENT: one encoded Payment plus the CBOR wrapper. */
export const ACCEPT_COMMAND_BYTES_MAX = PAYMENT_BYTES_MAX + 64;
/**
 * CB-certified issuer keys an SE keeps for checking peers (≈ 110 B each): the current and next
 * epoch of every tier's epoch numbering (DESIGN §7 gives tiers different epoch lengths).
 */
export const ISSUER_KEYS_MAX = 8;
/** One issuer-key certificate on the wire (a 96-byte G2 key, epoch, type, 64-byte signature). */
export const ISSUER_KEY_CERT_BYTES_MAX = 512;
export const INSTALL_ISSUER_KEYS_BYTES_MAX = ISSUER_KEYS_MAX * (ISSUER_KEY_CERT_BYTES_MAX + 3) + 64;
/** Smallest receipt log a device may be configured with (a receive-only terminal needs at least one). */
export const RECEIPT_LOG_CAPACITY_MIN = 1;
/** NVM one receipt-log entry takes: the payment record (3 + context + proof) plus the entry's other fields. */
export const RECEIPT_ENTRY_NVM_BYTES = 3 + PAYMENT_CONTEXT_BYTES_MAX + PAYMENT_PROOF_MAX + 160;

assert(AUTHORIZE_COMMAND_BYTES_MAX <= CHAINED_COMMAND_BYTES_MAX, 'AUTHORIZE_PAYMENT data must fit the chaining bound');
assert(ACCEPT_COMMAND_BYTES_MAX <= CHAINED_COMMAND_BYTES_MAX, 'ACCEPT_PAYMENT data must fit the chaining bound');
assert(3 + PAYMENT_CONTEXT_BYTES_MAX + PAYMENT_PROOF_MAX <= RECEIPT_PAYMENT_BYTES_MAX, 'a payment record fits a receipt-log entry');
assert(INSTALL_ISSUER_KEYS_BYTES_MAX <= CHAINED_COMMAND_BYTES_MAX, 'INSTALL_ISSUER_KEYS data must fit the chaining bound');
assert(PENDING_REQUESTS_MAX >= 2, 'a payee must hold a re-sendable request while it issues the next');
assert(RECEIPT_LOG_CAPACITY_MIN <= RECEIPT_LOG_ENTRIES_MAX, 'capacity bounds are ordered');
assert(RECEIPT_BYTES_MAX < 256, 'a receipt fits a short response');
assert(UNCONFIRMED_PAYMENTS_MAX >= 1 && UNCONFIRMED_PAYMENTS_MAX <= PAID_REQUEST_IDS_MAX, 'every kept payment is also remembered as paid');
