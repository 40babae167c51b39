// The SE command table: for each instruction, its request and response types with their codecs,
// the maximum command data length, and the applet phases it may run in. The applet dispatches
// by it, the client builds APDUs from it, and the CLI can list it; handlers live elsewhere
// (handlers_*.ts) so the host side never imports applet code.
//
// Why: one table keeps the three in step; an INS the applet has no handler for answers 6D00.

import { BLIND_RESPONSE_BYTES, ISSUER_NONCE_BYTES_MAX, ISSUER_NONCE_BYTES_MIN } from '../crypto/blind_issuance.ts';
import { G1_BYTES } from '../crypto/group.ts';
import { COUNTER_SET_SIZE_MAX, COUNTER_SIGNATURE_BYTES } from '../crypto/counter_set.ts';
import { SIGNED_POLICY_BYTES_MAX, SIGNED_REVOCATION_LIST_BYTES_MAX } from '../policy/policy_codec.ts';
import {
  CLA_TALLY,
  FINISH_ISSUANCE_BYTES_MAX,
  PERSONALIZE_BYTES_MAX,
  POLICY_COMMAND_BYTES_MAX,
  RECEIPT_LOG_ENTRIES_MAX,
  RECEIPT_PAYMENT_BYTES_MAX,
  REVOCATION_COMMAND_BYTES_MAX,
  SIGNED_COMMAND_BYTES_MAX,
  SMALL_COMMAND_BYTES_MAX,
  SYNC_PAGE_BYTES_MAX,
} from './constants.ts';
import { CHALLENGE_BYTES_MAX, CHALLENGE_BYTES_MIN, DEVICE_ID_BYTES, NAME_CHARS_MAX, SIGNED_MESSAGE_BYTES_MAX } from './messages.ts';
import { EMPTY, big, bool, bytes, int, list, nullable, recordCodec, text, type RecordCodec } from './schema.ts';
import { REQUEST_DIGEST_BYTES } from './request_signature.ts';
import { P256_PUBLIC_KEY_BYTES, P256_SIGNATURE_BYTES } from './signed.ts';
import { Phase } from './state.ts';

export { CLA_TALLY };

/** Instruction bytes (even, outside the ISO-reserved 6X/9X). */
export const Ins = {
  GET_INFO: 0x10,
  GENERATE_KEYS: 0x12,
  PERSONALIZE: 0x14,
  ATTEST: 0x16,
  SIGN_REQUEST: 0x1a,
  BEGIN_ISSUANCE: 0x20,
  FINISH_ISSUANCE: 0x22,
  APPLY_LOAD_VOUCHER: 0x30,
  MAKE_UNLOAD_RECORD: 0x32,
  GET_LAST_UNLOAD_RECORD: 0x34,
  // The three payment commands. Their table entries and handlers are added by the lead together
  // with src/crypto/payment.ts (see the report: `applet.register(spec, handler)`). Until then the
  // applet has no handler for them and answers 6D00, never a fake success.
  BUILD_PAYMENT_REQUEST: 0x40,
  AUTHORIZE_PAYMENT: 0x42,
  ACCEPT_PAYMENT: 0x44,
  EXPORT_SYNC_BATCH: 0x50,
  READ_SYNC_ENTRIES: 0x52,
  APPLY_SYNC_ACK: 0x54,
  INSTALL_POLICY: 0x56,
  INSTALL_REVOCATION_LIST: 0x58,
} as const;
export type Ins = (typeof Ins)[keyof typeof Ins];

export interface CommandSpec<Req, Res> {
  readonly ins: number;
  readonly name: string;
  /** Largest command data accepted (checked before decoding, and bounds chaining). */
  readonly maxDataBytes: number;
  /** Applet phases in which the command runs; elsewhere it answers BAD_STATE. */
  readonly phases: readonly Phase[];
  /** Set if the handler reads P1/P2; otherwise both must be 00 (else 6A86). */
  readonly usesP1P2?: boolean;
  readonly request: RecordCodec<Req>;
  readonly response: RecordCodec<Res>;
}
// The table is heterogeneous; the applet and client only need these members.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommandSpec = CommandSpec<any, any>;

const OPERATIONAL = [Phase.operational] as const;
const pub = bytes(P256_PUBLIC_KEY_BYTES);
const signed = bytes(1, SIGNED_MESSAGE_BYTES_MAX);
const RESPONSE_BYTES_MAX = SYNC_PAGE_BYTES_MAX + 1024;

export interface InfoResponse {
  phase: number;
  deviceId: Uint8Array | null;
  deviceClass: number | null;
  attestationPublicKey: Uint8Array | null;
  certificate: Uint8Array | null;
  tier: number | null;
  balanceMinor: bigint;
  loadCounter: bigint;
  unloadCounter: bigint;
  spentSinceSyncMinor: bigint;
  spendingEpoch: bigint;
  paymentCounter: bigint;
  policyVersion: bigint;
  revocationVersion: bigint;
  credentialEpochs: bigint[];
  receiptCount: number;
  pendingBatchId: bigint | null;
  issuancePending: boolean;
  /** The installed revocation list names this device: it refuses to pay (SW DEVICE_REVOKED). */
  deviceRevoked: boolean;
}
export interface GenerateKeysRequest { deviceClass: number; manufacturerCaPublicKey: Uint8Array }
export interface GenerateKeysResponse { deviceId: Uint8Array; attestationPublicKey: Uint8Array }
export interface PersonalizeRequest {
  certificate: Uint8Array;
  cbPublicKey: Uint8Array;
  fiId: string;
  fiPublicKey: Uint8Array;
  regulatorKey: Uint8Array;
  tier: number;
  signedPolicy: Uint8Array;
}
export interface AttestRequest { challenge: Uint8Array }
export interface AttestResponse { attestation: Uint8Array }
/** `digest`: SHA-256 of the host's HTTP request to the FI (ledger/access/device_requests.ts requestDigest). */
export interface SignRequestRequest { digest: Uint8Array }
/** The counter the SE spent on this request and its signature (request_signature.ts). */
export interface SignRequestResponse { counter: bigint; signature: Uint8Array }
/** The FI's nonce and what it issues (startIssuance's answer); the SE checks the key certificate. */
export interface BeginIssuanceRequest { issuerNonce: Uint8Array; epoch: bigint; tier: number; issuerKeyCert: Uint8Array }
/** `request`: the blind request signed by the SE's attestation key (messages.ts IssuanceRequest). */
export interface BeginIssuanceResponse { request: Uint8Array }
export interface FinishIssuanceRequest {
  epoch: bigint;
  tier: number;
  issuerKeyCert: Uint8Array;
  response: Uint8Array;
  /** The issuer's signatures on counters 0 … L−1 of the tier (crypto/counter_set.ts), checked by the SE. */
  counterSet: Uint8Array;
}
export interface FinishIssuanceResponse { epoch: bigint; tier: number; deviceClass: number }
export interface ApplyLoadVoucherRequest { voucher: Uint8Array }
export interface BalanceResponse { balanceMinor: bigint; loadCounter: bigint }
export interface UnloadRequest { amountMinor: bigint }
export interface UnloadResponse { record: Uint8Array; balanceMinor: bigint }
export interface LastUnloadResponse { record: Uint8Array | null }
export interface ExportSyncResponse { batchId: bigint; report: Uint8Array; entryCount: number }
export interface ReadSyncEntriesRequest { batchId: bigint; from: number }
export interface ReadSyncEntriesResponse { payments: Uint8Array[]; next: number; done: boolean }
export interface SyncAckRequest { ack: Uint8Array }
export interface SyncAckResponse { freed: number; receiptCount: number }
export interface InstallPolicyRequest { signedPolicy: Uint8Array }
export interface InstallRevocationRequest { signedList: Uint8Array }
export interface VersionResponse { version: bigint }

const spec = <Req, Res>(s: CommandSpec<Req, Res>): CommandSpec<Req, Res> => s;

export const COMMANDS = {
  getInfo: spec<Record<string, never>, InfoResponse>({
    ins: Ins.GET_INFO, name: 'GET_INFO', maxDataBytes: 0, phases: [Phase.blank, Phase.keyed, Phase.operational],
    request: EMPTY,
    response: recordCodec('info', {
      phase: int(2), deviceId: nullable(bytes(DEVICE_ID_BYTES)), deviceClass: nullable(int(255)),
      attestationPublicKey: nullable(pub), certificate: nullable(signed), tier: nullable(int(255)), balanceMinor: big(),
      loadCounter: big(), unloadCounter: big(), spentSinceSyncMinor: big(), spendingEpoch: big(), paymentCounter: big(),
      policyVersion: big(), revocationVersion: big(), credentialEpochs: list(big(), 16),
      receiptCount: int(RECEIPT_LOG_ENTRIES_MAX), pendingBatchId: nullable(big()), issuancePending: bool, deviceRevoked: bool,
    }, 4096),
  }),
  generateKeys: spec<GenerateKeysRequest, GenerateKeysResponse>({
    ins: Ins.GENERATE_KEYS, name: 'GENERATE_KEYS', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: [Phase.blank],
    request: recordCodec('generate keys', { deviceClass: int(255), manufacturerCaPublicKey: pub }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('generate keys response', { deviceId: bytes(DEVICE_ID_BYTES), attestationPublicKey: pub }, 256),
  }),
  personalize: spec<PersonalizeRequest, Record<string, never>>({
    ins: Ins.PERSONALIZE, name: 'PERSONALIZE', maxDataBytes: PERSONALIZE_BYTES_MAX, phases: [Phase.keyed],
    request: recordCodec('personalize', {
      certificate: signed, cbPublicKey: pub, fiId: text(NAME_CHARS_MAX), fiPublicKey: pub, regulatorKey: bytes(G1_BYTES),
      tier: int(255), signedPolicy: bytes(1, SIGNED_POLICY_BYTES_MAX),
    }, PERSONALIZE_BYTES_MAX),
    response: EMPTY,
  }),
  attest: spec<AttestRequest, AttestResponse>({
    ins: Ins.ATTEST, name: 'ATTEST', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('attest', { challenge: bytes(CHALLENGE_BYTES_MIN, CHALLENGE_BYTES_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('attest response', { attestation: signed }, SIGNED_COMMAND_BYTES_MAX),
  }),
  signRequest: spec<SignRequestRequest, SignRequestResponse>({
    ins: Ins.SIGN_REQUEST, name: 'SIGN_REQUEST', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('sign request', { digest: bytes(REQUEST_DIGEST_BYTES) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('sign request response', { counter: big(), signature: bytes(P256_SIGNATURE_BYTES) }, 128),
  }),
  beginIssuance: spec<BeginIssuanceRequest, BeginIssuanceResponse>({
    ins: Ins.BEGIN_ISSUANCE, name: 'BEGIN_ISSUANCE', maxDataBytes: SIGNED_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('begin issuance', {
      issuerNonce: bytes(ISSUER_NONCE_BYTES_MIN, ISSUER_NONCE_BYTES_MAX), epoch: big(), tier: int(255), issuerKeyCert: signed,
    }, SIGNED_COMMAND_BYTES_MAX),
    response: recordCodec('begin issuance response', { request: signed }, SIGNED_COMMAND_BYTES_MAX),
  }),
  finishIssuance: spec<FinishIssuanceRequest, FinishIssuanceResponse>({
    ins: Ins.FINISH_ISSUANCE, name: 'FINISH_ISSUANCE', maxDataBytes: FINISH_ISSUANCE_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('finish issuance', {
      epoch: big(), tier: int(255), issuerKeyCert: signed, response: bytes(BLIND_RESPONSE_BYTES),
      counterSet: bytes(0, COUNTER_SET_SIZE_MAX * COUNTER_SIGNATURE_BYTES),
    }, FINISH_ISSUANCE_BYTES_MAX),
    response: recordCodec('finish issuance response', { epoch: big(), tier: int(255), deviceClass: int(255) }, 64),
  }),
  applyLoadVoucher: spec<ApplyLoadVoucherRequest, BalanceResponse>({
    ins: Ins.APPLY_LOAD_VOUCHER, name: 'APPLY_LOAD_VOUCHER', maxDataBytes: SIGNED_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('apply load voucher', { voucher: signed }, SIGNED_COMMAND_BYTES_MAX),
    response: recordCodec('balance', { balanceMinor: big(), loadCounter: big() }, 64),
  }),
  makeUnloadRecord: spec<UnloadRequest, UnloadResponse>({
    ins: Ins.MAKE_UNLOAD_RECORD, name: 'MAKE_UNLOAD_RECORD', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('unload', { amountMinor: big() }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('unload response', { record: signed, balanceMinor: big() }, SIGNED_COMMAND_BYTES_MAX),
  }),
  getLastUnloadRecord: spec<Record<string, never>, LastUnloadResponse>({
    ins: Ins.GET_LAST_UNLOAD_RECORD, name: 'GET_LAST_UNLOAD_RECORD', maxDataBytes: 0, phases: OPERATIONAL,
    request: EMPTY,
    response: recordCodec('last unload', { record: nullable(signed) }, SIGNED_COMMAND_BYTES_MAX),
  }),
  exportSyncBatch: spec<Record<string, never>, ExportSyncResponse>({
    ins: Ins.EXPORT_SYNC_BATCH, name: 'EXPORT_SYNC_BATCH', maxDataBytes: 0, phases: OPERATIONAL,
    request: EMPTY,
    response: recordCodec('export sync', { batchId: big(), report: signed, entryCount: int(RECEIPT_LOG_ENTRIES_MAX) }, SIGNED_COMMAND_BYTES_MAX),
  }),
  readSyncEntries: spec<ReadSyncEntriesRequest, ReadSyncEntriesResponse>({
    ins: Ins.READ_SYNC_ENTRIES, name: 'READ_SYNC_ENTRIES', maxDataBytes: SMALL_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('read sync entries', { batchId: big(), from: int(RECEIPT_LOG_ENTRIES_MAX) }, SMALL_COMMAND_BYTES_MAX),
    response: recordCodec('sync entries', {
      payments: list(bytes(1, RECEIPT_PAYMENT_BYTES_MAX), RECEIPT_LOG_ENTRIES_MAX), next: int(RECEIPT_LOG_ENTRIES_MAX), done: bool,
    }, RESPONSE_BYTES_MAX),
  }),
  applySyncAck: spec<SyncAckRequest, SyncAckResponse>({
    ins: Ins.APPLY_SYNC_ACK, name: 'APPLY_SYNC_ACK', maxDataBytes: SIGNED_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('sync ack', { ack: signed }, SIGNED_COMMAND_BYTES_MAX),
    response: recordCodec('sync ack response', { freed: int(RECEIPT_LOG_ENTRIES_MAX), receiptCount: int(RECEIPT_LOG_ENTRIES_MAX) }, 64),
  }),
  installPolicy: spec<InstallPolicyRequest, VersionResponse>({
    ins: Ins.INSTALL_POLICY, name: 'INSTALL_POLICY', maxDataBytes: POLICY_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('install policy', { signedPolicy: bytes(1, SIGNED_POLICY_BYTES_MAX) }, POLICY_COMMAND_BYTES_MAX),
    response: recordCodec('version', { version: big() }, 64),
  }),
  installRevocationList: spec<InstallRevocationRequest, VersionResponse>({
    ins: Ins.INSTALL_REVOCATION_LIST, name: 'INSTALL_REVOCATION_LIST', maxDataBytes: REVOCATION_COMMAND_BYTES_MAX, phases: OPERATIONAL,
    request: recordCodec('install revocation list', { signedList: bytes(1, SIGNED_REVOCATION_LIST_BYTES_MAX) }, REVOCATION_COMMAND_BYTES_MAX),
    response: recordCodec('version', { version: big() }, 64),
  }),
} as const;
