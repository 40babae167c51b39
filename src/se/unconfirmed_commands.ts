// Command-table entries of the payer's unconfirmed payments (issue 9, "a payment flow that never
// strands money"): CONFIRM_PAYMENT hands the SE the payee's receipt so it drops the kept payment,
// GET_UNCONFIRMED_PAYMENTS lists what is kept (for `tally device show` and a re-send).
//
// Why apart from payment_commands.ts: the payer's bookkeeping after the debit is its own concern
// (handlers_unconfirmed.ts) and changes independently of the tap-time payment commands. INS values
// continue the payment block (0x40–0x48).

import { assert } from '../crypto/assert.ts';
import { PAYEE_IDENTITY_BYTES, PAYMENT_BYTES_MAX, PAYMENT_HASH_BYTES, RECEIPT_BYTES_MAX, REQUEST_ID_BYTES } from '../protocol/limits.ts';
import type { CommandSpec } from './commands.ts';
import { EXTENDED_NE_MAX } from './apdu.ts';
import { SIGNED_COMMAND_BYTES_MAX, SMALL_COMMAND_BYTES_MAX } from './constants.ts';
import { SIGNED_MESSAGE_BYTES_MAX } from './messages.ts';
import { PAYMENT_CONTEXT_BYTES_MAX } from '../crypto/payment.ts';
import { UNCONFIRMED_PAYMENTS_MAX } from './payment_limits.ts';
import { EMPTY, big, bool, bytes, int, list, nullable, record, recordCodec } from './schema.ts';
import { Phase } from './state.ts';

export const UnconfirmedIns = {
  GET_UNCONFIRMED_PAYMENTS: 0x4c,
  CONFIRM_PAYMENT: 0x4e,
  /** Sync (next to INSTALL_ISSUER_KEYS 0x5a): the SE-signed reclaim claims, and the FI's signed outcomes. */
  EXPORT_RECLAIM_CLAIMS: 0x5c,
  APPLY_PAYMENT_OUTCOMES: 0x5e,
  /** Payee, at sync (next to the unload commands 0x30–0x34): reverse a reclaimed payment's credit. */
  APPLY_RECLAIM_REFUSAL: 0x36,
} as const;

export interface ConfirmPaymentRequest { receipt: Uint8Array }
export interface ConfirmPaymentResponse {
  /** False when the receipt names no kept payment (already confirmed, or settled at sync): a harmless repeat. */
  dropped: boolean;
  unconfirmedCount: number;
}
/** What the host may see of a kept payment (never r_a). */
export interface UnconfirmedSummary {
  requestId: Uint8Array;
  paymentHash: Uint8Array;
  payment: Uint8Array;
  amountMinor: bigint;
  epoch: bigint;
  payeeIdentity: Uint8Array;
  paidAtMs: bigint;
  /** End of its settlement window under this SE's policy: from then on its FI may credit it back (reclaim). */
  reclaimableAtMs: bigint;
}
export interface UnconfirmedPaymentsResponse { payments: UnconfirmedSummary[] }
/** One claim: the SE-signed claim (reclaim_messages.ts) and the payment record it names by hash. */
export interface ReclaimClaimExport { claim: Uint8Array; record: Uint8Array }
export interface ExportReclaimClaimsResponse { claims: ReclaimClaimExport[] }
export interface ApplyPaymentOutcomesRequest { outcomes: Uint8Array }
export interface ApplyPaymentOutcomesResponse { dropped: number; unconfirmedCount: number }
export interface ApplyReclaimRefusalRequest { refusal: Uint8Array }
export interface ApplyReclaimRefusalResponse {
  /** False for a refusal applied before: nothing reversed again. */
  applied: boolean;
  /** What the balance covered of the reclaimed amount, moved out by `unloadRecord` (null if 0). */
  reversedMinor: bigint;
  unloadRecord: Uint8Array | null;
  balanceMinor: bigint;
}

/** One summary on the wire: the payment plus ≈ 150 B of ids, hashes and integers. */
const SUMMARY_BYTES_MAX = PAYMENT_BYTES_MAX + 192;
export const UNCONFIRMED_RESPONSE_BYTES_MAX = UNCONFIRMED_PAYMENTS_MAX * SUMMARY_BYTES_MAX + 64;
/** One payment record on the wire: 3 + context + proof (payment_record.ts). */
const RECORD_BYTES_MAX = 3 + PAYMENT_CONTEXT_BYTES_MAX + PAYMENT_BYTES_MAX;
export const RECLAIM_CLAIMS_RESPONSE_BYTES_MAX = UNCONFIRMED_PAYMENTS_MAX * (RECORD_BYTES_MAX + SIGNED_MESSAGE_BYTES_MAX + 16) + 64;
assert(UNCONFIRMED_RESPONSE_BYTES_MAX <= EXTENDED_NE_MAX, 'every kept payment fits one extended response');
assert(RECLAIM_CLAIMS_RESPONSE_BYTES_MAX <= EXTENDED_NE_MAX, 'every claim fits one extended response');

const OPERATIONAL = [Phase.operational] as const;
const spec = <Req, Res>(s: CommandSpec<Req, Res>): CommandSpec<Req, Res> => s;

export const UNCONFIRMED_COMMANDS = {
  confirmPayment: spec<ConfirmPaymentRequest, ConfirmPaymentResponse>({
    ins: UnconfirmedIns.CONFIRM_PAYMENT, name: 'CONFIRM_PAYMENT', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('confirm payment', { receipt: bytes(1, RECEIPT_BYTES_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('confirm payment response', { dropped: bool, unconfirmedCount: int(UNCONFIRMED_PAYMENTS_MAX) }, 64),
  }),
  getUnconfirmedPayments: spec<Record<string, never>, UnconfirmedPaymentsResponse>({
    ins: UnconfirmedIns.GET_UNCONFIRMED_PAYMENTS, name: 'GET_UNCONFIRMED_PAYMENTS', maxDataBytes: 0, phases: OPERATIONAL,
    request: EMPTY,
    response: recordCodec('unconfirmed payments', {
      payments: list(record({
        requestId: bytes(REQUEST_ID_BYTES), paymentHash: bytes(PAYMENT_HASH_BYTES), payment: bytes(1, PAYMENT_BYTES_MAX), amountMinor: big(),
        epoch: big(), payeeIdentity: bytes(PAYEE_IDENTITY_BYTES), paidAtMs: big(), reclaimableAtMs: big(),
      }), UNCONFIRMED_PAYMENTS_MAX),
    }, UNCONFIRMED_RESPONSE_BYTES_MAX),
  }),
  exportReclaimClaims: spec<Record<string, never>, ExportReclaimClaimsResponse>({
    ins: UnconfirmedIns.EXPORT_RECLAIM_CLAIMS, name: 'EXPORT_RECLAIM_CLAIMS', maxDataBytes: 0, phases: OPERATIONAL,
    request: EMPTY,
    response: recordCodec('reclaim claims', {
      claims: list(record({ claim: bytes(1, SIGNED_MESSAGE_BYTES_MAX), record: bytes(1, RECORD_BYTES_MAX) }), UNCONFIRMED_PAYMENTS_MAX),
    }, RECLAIM_CLAIMS_RESPONSE_BYTES_MAX),
  }),
  applyPaymentOutcomes: spec<ApplyPaymentOutcomesRequest, ApplyPaymentOutcomesResponse>({
    ins: UnconfirmedIns.APPLY_PAYMENT_OUTCOMES, name: 'APPLY_PAYMENT_OUTCOMES', maxDataBytes: SIGNED_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('apply payment outcomes', { outcomes: bytes(1, SIGNED_MESSAGE_BYTES_MAX) }, SIGNED_COMMAND_BYTES_MAX),
    response: recordCodec('payment outcomes response', { dropped: int(UNCONFIRMED_PAYMENTS_MAX), unconfirmedCount: int(UNCONFIRMED_PAYMENTS_MAX) }, 64),
  }),
  applyReclaimRefusal: spec<ApplyReclaimRefusalRequest, ApplyReclaimRefusalResponse>({
    ins: UnconfirmedIns.APPLY_RECLAIM_REFUSAL, name: 'APPLY_RECLAIM_REFUSAL', maxDataBytes: SIGNED_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('apply reclaim refusal', { refusal: bytes(1, SIGNED_MESSAGE_BYTES_MAX) }, SIGNED_COMMAND_BYTES_MAX),
    response: recordCodec('reclaim refusal response', {
      applied: bool, reversedMinor: big(), unloadRecord: nullable(bytes(1, SIGNED_MESSAGE_BYTES_MAX)), balanceMinor: big(),
    }, SIGNED_COMMAND_BYTES_MAX),
  }),
} as const;
