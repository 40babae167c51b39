// Command-table entries of the payment commands (DESIGN §4, §5): the payee builds a request, the
// payer authorizes (pays) it, the payee accepts the payment; plus the payer's re-send of its last
// payment, the idle-time precomputation, and the manufacturer's storage configuration.
//
// Why apart from commands.ts: the same table shape, kept beside its handlers' bounds
// (payment_limits.ts) so the host-side client can import it without the applet or the handlers.
// INS values sit next to the payment block of commands.ts (0x40–0x44) and its life cycle (0x1X).

import {
  AMOUNT_MINOR_MAX, PAYMENT_BYTES_MAX, PAYMENT_REQUEST_BYTES_MAX, RECEIPT_BYTES_MAX, REQUEST_ID_BYTES, SEALED_OPENING_BYTES, SESSION_KEY_BYTES,
} from '../protocol/limits.ts';
import { G1_BYTES, G2_BYTES, SCALAR_BYTES } from '../crypto/group.ts';
import { POLICY_BYTES_MAX } from '../policy/policy_codec.ts';
import { Ins, type CommandSpec } from './commands.ts';
import { CREDENTIALS_MAX, RECEIPT_LOG_ENTRIES_MAX, SMALL_COMMAND_BYTES_MAX } from './constants.ts';
import {
  ACCEPT_COMMAND_BYTES_MAX, AMOUNT_RANGE_PROOF_BYTES_MAX, AUTHORIZE_COMMAND_BYTES_MAX, INSTALL_ISSUER_KEYS_BYTES_MAX, ISSUER_KEYS_MAX,
  ISSUER_KEY_CERT_BYTES_MAX, SPEND_TOKENS_MAX,
} from './payment_limits.ts';
import { EMPTY, big, bool, bytes, int, list, nullable, record, recordCodec } from './schema.ts';
import { Phase } from './state.ts';

export const PaymentIns = {
  BUILD_PAYMENT_REQUEST: Ins.BUILD_PAYMENT_REQUEST,
  AUTHORIZE_PAYMENT: Ins.AUTHORIZE_PAYMENT,
  ACCEPT_PAYMENT: Ins.ACCEPT_PAYMENT,
  GET_LAST_PAYMENT: 0x46,
  PRECOMPUTE_PAYMENT: 0x48,
  CONFIGURE_STORAGE: 0x18,
  INSTALL_ISSUER_KEYS: 0x5a,
} as const;

export interface BuildPaymentRequestRequest { amountMinor: bigint }
export interface BuildPaymentRequestResponse { request: Uint8Array }
export interface AuthorizePaymentRequest {
  /** The payee's encoded PaymentRequest, as received. */
  request: Uint8Array;
  /** The amount the host's user approved; must equal the request's amount. */
  amountMinor: bigint;
  /** C_a = a·G + r_a·H with r_a from PRECOMPUTE_PAYMENT: the SE refuses any other. */
  amountCommitment: Uint8Array;
  /** The host's range proof for C_a (crypto/payment.ts, proveAmountRange), encoded. */
  amountRange: Uint8Array;
  /** The host's X25519 session key for this payment (part of the context the SE signs for). */
  payerSessionKey: Uint8Array;
  /** (a, r_a) sealed by the host for the payee under that session. */
  sealedOpening: Uint8Array;
}
export interface AuthorizePaymentResponse {
  payment: Uint8Array;
  balanceMinor: bigint;
  /** True when this request was already paid: the stored payment is returned, nothing is debited. */
  resent: boolean;
}
export interface AcceptPaymentRequest { payment: Uint8Array }
export interface AcceptPaymentResponse {
  receipt: Uint8Array;
  amountMinor: bigint;
  balanceMinor: bigint;
  /** True when this exact payment was already accepted: its receipt again, nothing credited. */
  resent: boolean;
  /** The request this payment answered: the host compares it with the request it is serving now. */
  requestId: Uint8Array;
}
export interface LastPaymentResponse { payment: Uint8Array | null; requestId: Uint8Array | null }
export interface PrecomputeRequest {
  /** Tokens to have ready (1 … SPEND_TOKENS_MAX): 1 right before a payment, the whole pool while idle. */
  tokens: number;
}
export interface PrecomputeResponse {
  /** Spend tokens ready in NVM. */
  ready: number;
  /** Tokens this call made (the idle work it did). */
  made: number;
  /** r_a of the token the next payment uses, or null when no payment is possible now. */
  nextBlinding: Uint8Array | null;
  /** What the host needs for its part of a payment: the cap of this SE's tier ... */
  capMinor: bigint;
  /** ... and, to check the payee's credential proof, the SE's clock, policy and issuer keys. */
  nowMs: bigint;
  policy: Uint8Array;
  issuerKeys: Array<{ epoch: bigint; publicKey: Uint8Array }>;
}
export interface ConfigureStorageRequest { receiptLogCapacity: number }
export interface InstallIssuerKeysRequest { certs: Uint8Array[] }
export interface InstallIssuerKeysResponse { epochs: bigint[] }

const OPERATIONAL = [Phase.operational] as const;
const spec = <Req, Res>(s: CommandSpec<Req, Res>): CommandSpec<Req, Res> => s;

export const PAYMENT_COMMANDS = {
  buildPaymentRequest: spec<BuildPaymentRequestRequest, BuildPaymentRequestResponse>({
    ins: PaymentIns.BUILD_PAYMENT_REQUEST, name: 'BUILD_PAYMENT_REQUEST', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('build payment request', { amountMinor: big(AMOUNT_MINOR_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('payment request', { request: bytes(1, PAYMENT_REQUEST_BYTES_MAX) }, PAYMENT_REQUEST_BYTES_MAX + 64),
  }),
  authorizePayment: spec<AuthorizePaymentRequest, AuthorizePaymentResponse>({
    ins: PaymentIns.AUTHORIZE_PAYMENT, name: 'AUTHORIZE_PAYMENT', maxDataBytes: AUTHORIZE_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('authorize payment', {
      request: bytes(1, PAYMENT_REQUEST_BYTES_MAX), amountMinor: big(AMOUNT_MINOR_MAX), amountCommitment: bytes(G1_BYTES),
      amountRange: bytes(1, AMOUNT_RANGE_PROOF_BYTES_MAX), payerSessionKey: bytes(SESSION_KEY_BYTES), sealedOpening: bytes(SEALED_OPENING_BYTES),
    }, AUTHORIZE_COMMAND_BYTES_MAX),
    response: recordCodec('payment', { payment: bytes(1, PAYMENT_BYTES_MAX), balanceMinor: big(), resent: bool }, PAYMENT_BYTES_MAX + 64),
  }),
  acceptPayment: spec<AcceptPaymentRequest, AcceptPaymentResponse>({
    ins: PaymentIns.ACCEPT_PAYMENT, name: 'ACCEPT_PAYMENT', maxDataBytes: ACCEPT_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('accept payment', { payment: bytes(1, PAYMENT_BYTES_MAX) }, ACCEPT_COMMAND_BYTES_MAX),
    response: recordCodec('receipt', {
      receipt: bytes(1, RECEIPT_BYTES_MAX), amountMinor: big(), balanceMinor: big(), resent: bool, requestId: bytes(REQUEST_ID_BYTES),
    }, RECEIPT_BYTES_MAX + 64 + REQUEST_ID_BYTES + 2),
  }),
  getLastPayment: spec<Record<string, never>, LastPaymentResponse>({
    ins: PaymentIns.GET_LAST_PAYMENT, name: 'GET_LAST_PAYMENT', maxDataBytes: 0, phases: OPERATIONAL,
    request: EMPTY,
    response: recordCodec('last payment', {
      payment: nullable(bytes(1, PAYMENT_BYTES_MAX)), requestId: nullable(bytes(REQUEST_ID_BYTES)),
    }, PAYMENT_BYTES_MAX + 64),
  }),
  precomputePayment: spec<PrecomputeRequest, PrecomputeResponse>({
    ins: PaymentIns.PRECOMPUTE_PAYMENT, name: 'PRECOMPUTE_PAYMENT', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('precompute request', { tokens: int(SPEND_TOKENS_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('precompute', {
      ready: int(SPEND_TOKENS_MAX), made: int(SPEND_TOKENS_MAX), nextBlinding: nullable(bytes(SCALAR_BYTES)), capMinor: big(), nowMs: big(), policy: bytes(1, POLICY_BYTES_MAX),
      issuerKeys: list(record({ epoch: big(), publicKey: bytes(G2_BYTES) }), ISSUER_KEYS_MAX + CREDENTIALS_MAX),
    }, POLICY_BYTES_MAX + (ISSUER_KEYS_MAX + CREDENTIALS_MAX) * (G2_BYTES + 24) + 256),
  }),
  configureStorage: spec<ConfigureStorageRequest, Record<string, never>>({
    ins: PaymentIns.CONFIGURE_STORAGE, name: 'CONFIGURE_STORAGE', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: [Phase.keyed],
    request: recordCodec('configure storage', { receiptLogCapacity: int(RECEIPT_LOG_ENTRIES_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: EMPTY,
  }),
  installIssuerKeys: spec<InstallIssuerKeysRequest, InstallIssuerKeysResponse>({
    ins: PaymentIns.INSTALL_ISSUER_KEYS, name: 'INSTALL_ISSUER_KEYS', maxDataBytes: INSTALL_ISSUER_KEYS_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('install issuer keys', { certs: list(bytes(1, ISSUER_KEY_CERT_BYTES_MAX), ISSUER_KEYS_MAX) }, INSTALL_ISSUER_KEYS_BYTES_MAX),
    response: recordCodec('issuer keys', { epochs: list(big(), ISSUER_KEYS_MAX) }, 256),
  }),
} as const;
