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
import { SMALL_COMMAND_BYTES_MAX } from './constants.ts';
import { UNCONFIRMED_PAYMENTS_MAX } from './payment_limits.ts';
import { EMPTY, big, bool, bytes, int, list, record, recordCodec } from './schema.ts';
import { Phase } from './state.ts';

export const UnconfirmedIns = {
  GET_UNCONFIRMED_PAYMENTS: 0x4c,
  CONFIRM_PAYMENT: 0x4e,
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

/** One summary on the wire: the payment plus ≈ 150 B of ids, hashes and integers. */
const SUMMARY_BYTES_MAX = PAYMENT_BYTES_MAX + 192;
export const UNCONFIRMED_RESPONSE_BYTES_MAX = UNCONFIRMED_PAYMENTS_MAX * SUMMARY_BYTES_MAX + 64;
assert(UNCONFIRMED_RESPONSE_BYTES_MAX <= EXTENDED_NE_MAX, 'every kept payment fits one extended response');

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
} as const;
