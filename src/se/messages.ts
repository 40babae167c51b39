// Signed messages between the SE and the institutions around it: the manufacturer's attestation
// certificate, the CB's issuer-key certificate, the FI's load voucher and sync acknowledgement,
// and the SE's own attestation (which carries K = k·g_K for enrolment), issuance request, unload
// record and balance report.
//
// Why this shape: each message is a plain data type with one body codec (canonical CBOR map with
// an exact key set, a `type` tag and a version), and travels in a signed envelope (signed.ts).
// `sign*` is what the signing party runs (manufacturer, CB, FI or the SE itself); `open*` checks
// the signature first, then the body, and returns a reason instead of throwing on bad input.

import { BLIND_REQUEST_BYTES, ISSUER_NONCE_BYTES_MAX, ISSUER_NONCE_BYTES_MIN } from '../crypto/blind_issuance.ts';
import { BATCH_OPENING_PROOF_BYTES } from '../crypto/batch_opening.ts';
import { G1_BYTES, G2_BYTES } from '../crypto/group.ts';
import { Fields, SeDecodeError } from './cbor.ts';
import { P256_PUBLIC_KEY_BYTES, openEnvelope, signEnvelope } from './signed.ts';

export const MESSAGE_VERSION = 1;
/** Every envelope here is small; 2 KiB bounds what a hostile one can make us decode. */
export const SIGNED_MESSAGE_BYTES_MAX = 2048;
export const DEVICE_ID_BYTES = 16;
export const DIGEST_BYTES = 32;
/** Names (manufacturer, FI id) are short ASCII identifiers. */
export const NAME_CHARS_MAX = 64;
const U64_MAX = (1n << 64n) - 1n;

export const MessageType = {
  attestationCert: 'tally/attestation-cert',
  issuerKeyCert: 'tally/issuer-key-cert',
  loadVoucher: 'tally/load-voucher',
  unloadRecord: 'tally/unload-record',
  balanceReport: 'tally/balance-report',
  syncAck: 'tally/sync-ack',
  attestation: 'tally/attestation',
  issuanceRequest: 'tally/issuance-request',
} as const;
/** Challenge bounds of ATTEST: 16 bytes make a replay 2^-128; 64 cap what a host makes us sign. */
export const CHALLENGE_BYTES_MIN = 16;
export const CHALLENGE_BYTES_MAX = 64;

export type OpenFailure = { ok: false; reason: 'MALFORMED' | 'SIGNATURE' };
export type Opened<T> = { ok: true; value: T } | OpenFailure;

/** Manufacturer CA → device: binds the attestation public key to a device id and class. */
export interface AttestationCert {
  deviceId: Uint8Array;
  publicKey: Uint8Array;
  deviceClass: number;
  manufacturer: string;
  issuedAtMs: bigint;
}
/** CB → device: the BBS issuer public key (G2) of one epoch. */
export interface IssuerKeyCert {
  epoch: bigint;
  publicKey: Uint8Array;
}
/** FI → device: credit `amountMinor` once, at load counter `loadCounter`. */
export interface LoadVoucher {
  devicePublicKey: Uint8Array;
  loadCounter: bigint;
  amountMinor: bigint;
  fiId: string;
}
/** Device → FI: `amountMinor` left the SE; credit the customer's account. */
export interface UnloadRecord {
  deviceId: Uint8Array;
  unloadCounter: bigint;
  amountMinor: bigint;
  fiId: string;
  timeMs: bigint;
}
/** Device → FI at sync: the SE's counters and the digest of the batch of receipts it uploads. */
export interface BalanceReport {
  deviceId: Uint8Array;
  batchId: bigint;
  balanceMinor: bigint;
  loadCounter: bigint;
  unloadCounter: bigint;
  epoch: bigint;
  paymentCounter: bigint;
  spentSinceSyncMinor: bigint;
  receiptCount: number;
  /** Σa over the batch: what the FI learns of the amounts (DESIGN §3.3), never one receipt's. */
  receivedMinor: bigint;
  /**
   * Zero-knowledge proof that Σ C_a − Σa·G is a multiple of H (crypto/batch_opening.ts): the
   * FI checks Σa without ever seeing Σ r_a, which for one receipt would open that payment's C_a.
   */
  openingProof: Uint8Array;
  logDigest: Uint8Array;
  /** Running totals since personalisation (DESIGN §3.4 Contain); the FI checks each at every sync. */
  loadedTotalMinor: bigint;
  /** Σa over every receipt in batches 1..batchId (this one included). */
  receivedTotalMinor: bigint;
  /** Σa over receipts the SE holds beyond this batch (logged after its last entry; later batches). */
  receivedPendingMinor: bigint;
  spentTotalMinor: bigint;
  unloadedTotalMinor: bigint;
  policyVersion: bigint;
  revocationVersion: bigint;
  timeMs: bigint;
}
/**
 * Device → verifier: a fresh statement, under the attestation key, of the SE's public counters and
 * of its device key K = k·g_K (compressed G1), which enrolment pins for every later issuance.
 */
export interface Attestation {
  deviceId: Uint8Array;
  challenge: Uint8Array;
  kPoint: Uint8Array;
  balanceMinor: bigint;
  loadCounter: bigint;
  unloadCounter: bigint;
  policyVersion: bigint;
  timeMs: bigint;
}
/**
 * Device → FI → CB: the blind issuance request (K, C and the proof, `blind_issuance.ts`), built and
 * signed inside the SE for one FI nonce, device, epoch, tier and class (DESIGN §3.1).
 */
export interface IssuanceRequest {
  issuerNonce: Uint8Array;
  deviceId: Uint8Array;
  epoch: bigint;
  tier: number;
  deviceClass: number;
  blindRequest: Uint8Array;
}
/** FI → device: batch `batchId` is recorded; the device may free its log entries. */
export interface SyncAck {
  devicePublicKey: Uint8Array;
  batchId: bigint;
}

const head = (type: string) => ({ type, v: MESSAGE_VERSION });
function fields(body: unknown, type: string, keys: string[]): Fields {
  const f = new Fields(body, ['type', 'v', ...keys], type);
  f.tag('type', type);
  if (f.uint('v', 255) !== MESSAGE_VERSION) throw new SeDecodeError('FIELD', `${type}.v: expected ${MESSAGE_VERSION}`);
  return f;
}

export const attestationCertBody = (c: AttestationCert) => ({ ...head(MessageType.attestationCert), ...c });
export function decodeAttestationCert(body: unknown): AttestationCert {
  const f = fields(body, MessageType.attestationCert, ['deviceId', 'publicKey', 'deviceClass', 'manufacturer', 'issuedAtMs']);
  return {
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES),
    publicKey: f.bytes('publicKey', P256_PUBLIC_KEY_BYTES),
    deviceClass: f.uint('deviceClass', 255),
    manufacturer: f.text('manufacturer', NAME_CHARS_MAX),
    issuedAtMs: f.big('issuedAtMs'),
  };
}

export const issuerKeyCertBody = (c: IssuerKeyCert) => ({ ...head(MessageType.issuerKeyCert), ...c });
export function decodeIssuerKeyCert(body: unknown): IssuerKeyCert {
  const f = fields(body, MessageType.issuerKeyCert, ['epoch', 'publicKey']);
  return { epoch: f.big('epoch'), publicKey: f.bytes('publicKey', G2_BYTES) };
}

export const loadVoucherBody = (v: LoadVoucher) => ({ ...head(MessageType.loadVoucher), ...v });
export function decodeLoadVoucher(body: unknown): LoadVoucher {
  const f = fields(body, MessageType.loadVoucher, ['devicePublicKey', 'loadCounter', 'amountMinor', 'fiId']);
  return {
    devicePublicKey: f.bytes('devicePublicKey', P256_PUBLIC_KEY_BYTES),
    loadCounter: f.big('loadCounter'),
    amountMinor: f.big('amountMinor'),
    fiId: f.text('fiId', NAME_CHARS_MAX),
  };
}

export const unloadRecordBody = (r: UnloadRecord) => ({ ...head(MessageType.unloadRecord), ...r });
export function decodeUnloadRecord(body: unknown): UnloadRecord {
  const f = fields(body, MessageType.unloadRecord, ['deviceId', 'unloadCounter', 'amountMinor', 'fiId', 'timeMs']);
  return {
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES),
    unloadCounter: f.big('unloadCounter'),
    amountMinor: f.big('amountMinor'),
    fiId: f.text('fiId', NAME_CHARS_MAX),
    timeMs: f.big('timeMs'),
  };
}

const REPORT_KEYS = [
  'deviceId', 'batchId', 'balanceMinor', 'loadCounter', 'unloadCounter', 'epoch', 'paymentCounter',
  'spentSinceSyncMinor', 'receiptCount', 'receivedMinor', 'openingProof', 'logDigest', 'loadedTotalMinor',
  'receivedTotalMinor', 'receivedPendingMinor', 'spentTotalMinor', 'unloadedTotalMinor', 'policyVersion',
  'revocationVersion', 'timeMs',
];
export const balanceReportBody = (r: BalanceReport) => ({ ...head(MessageType.balanceReport), ...r });
export function decodeBalanceReport(body: unknown): BalanceReport {
  const f = fields(body, MessageType.balanceReport, REPORT_KEYS);
  return {
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES),
    batchId: f.big('batchId'),
    balanceMinor: f.big('balanceMinor'),
    loadCounter: f.big('loadCounter'),
    unloadCounter: f.big('unloadCounter'),
    epoch: f.big('epoch'),
    paymentCounter: f.big('paymentCounter'),
    spentSinceSyncMinor: f.big('spentSinceSyncMinor'),
    receiptCount: f.uint('receiptCount', 1 << 16),
    receivedMinor: f.big('receivedMinor', U64_MAX),
    openingProof: f.bytes('openingProof', BATCH_OPENING_PROOF_BYTES),
    logDigest: f.bytes('logDigest', DIGEST_BYTES),
    loadedTotalMinor: f.big('loadedTotalMinor', U64_MAX),
    receivedTotalMinor: f.big('receivedTotalMinor', U64_MAX),
    receivedPendingMinor: f.big('receivedPendingMinor', U64_MAX),
    spentTotalMinor: f.big('spentTotalMinor', U64_MAX),
    unloadedTotalMinor: f.big('unloadedTotalMinor', U64_MAX),
    policyVersion: f.big('policyVersion'),
    revocationVersion: f.big('revocationVersion'),
    timeMs: f.big('timeMs'),
  };
}

export const attestationBody = (a: Attestation) => ({ ...head(MessageType.attestation), ...a });
export function decodeAttestation(body: unknown): Attestation {
  const f = fields(body, MessageType.attestation, ['deviceId', 'challenge', 'kPoint', 'balanceMinor', 'loadCounter', 'unloadCounter', 'policyVersion', 'timeMs']);
  return {
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES),
    challenge: f.bytes('challenge', CHALLENGE_BYTES_MIN, CHALLENGE_BYTES_MAX),
    kPoint: f.bytes('kPoint', G1_BYTES),
    balanceMinor: f.big('balanceMinor'),
    loadCounter: f.big('loadCounter'),
    unloadCounter: f.big('unloadCounter'),
    policyVersion: f.big('policyVersion'),
    timeMs: f.big('timeMs'),
  };
}

export const issuanceRequestBody = (r: IssuanceRequest) => ({ ...head(MessageType.issuanceRequest), ...r });
export function decodeIssuanceRequest(body: unknown): IssuanceRequest {
  const f = fields(body, MessageType.issuanceRequest, ['issuerNonce', 'deviceId', 'epoch', 'tier', 'deviceClass', 'blindRequest']);
  return {
    issuerNonce: f.bytes('issuerNonce', ISSUER_NONCE_BYTES_MIN, ISSUER_NONCE_BYTES_MAX),
    deviceId: f.bytes('deviceId', DEVICE_ID_BYTES),
    epoch: f.big('epoch'),
    tier: f.uint('tier', 255),
    deviceClass: f.uint('deviceClass', 255),
    blindRequest: f.bytes('blindRequest', BLIND_REQUEST_BYTES),
  };
}

export const syncAckBody = (a: SyncAck) => ({ ...head(MessageType.syncAck), ...a });
export function decodeSyncAck(body: unknown): SyncAck {
  const f = fields(body, MessageType.syncAck, ['devicePublicKey', 'batchId']);
  return { devicePublicKey: f.bytes('devicePublicKey', P256_PUBLIC_KEY_BYTES), batchId: f.big('batchId') };
}

/** Verifies an envelope under `publicKey` and decodes its body with `decodeBody`. */
export function openMessage<T>(bytes: Uint8Array, publicKey: Uint8Array, decodeBody: (b: unknown) => T, what: string): Opened<T> {
  const opened = openEnvelope(bytes, publicKey, SIGNED_MESSAGE_BYTES_MAX, what);
  if (!opened.ok) return opened;
  try {
    return { ok: true, value: decodeBody(opened.body) };
  } catch (e) {
    if (e instanceof SeDecodeError) return { ok: false, reason: 'MALFORMED' };
    throw e;
  }
}

// What each signing party runs.
export const signAttestationCert = (caSecretKey: Uint8Array, c: AttestationCert) => signEnvelope(caSecretKey, attestationCertBody(c));
export const signIssuerKeyCert = (cbSecretKey: Uint8Array, c: IssuerKeyCert) => signEnvelope(cbSecretKey, issuerKeyCertBody(c));
export const signLoadVoucher = (fiSecretKey: Uint8Array, v: LoadVoucher) => signEnvelope(fiSecretKey, loadVoucherBody(v));
export const signSyncAck = (fiSecretKey: Uint8Array, a: SyncAck) => signEnvelope(fiSecretKey, syncAckBody(a));

// What each verifying party runs.
export const openAttestationCert = (b: Uint8Array, caPublicKey: Uint8Array) => openMessage(b, caPublicKey, decodeAttestationCert, 'attestation cert');
export const openIssuerKeyCert = (b: Uint8Array, cbPublicKey: Uint8Array) => openMessage(b, cbPublicKey, decodeIssuerKeyCert, 'issuer key cert');
export const openLoadVoucher = (b: Uint8Array, fiPublicKey: Uint8Array) => openMessage(b, fiPublicKey, decodeLoadVoucher, 'load voucher');
export const openSyncAck = (b: Uint8Array, fiPublicKey: Uint8Array) => openMessage(b, fiPublicKey, decodeSyncAck, 'sync ack');
export const openUnloadRecord = (b: Uint8Array, devicePublicKey: Uint8Array) => openMessage(b, devicePublicKey, decodeUnloadRecord, 'unload record');
export const openAttestation = (b: Uint8Array, devicePublicKey: Uint8Array) => openMessage(b, devicePublicKey, decodeAttestation, 'attestation');
export const openIssuanceRequest = (b: Uint8Array, devicePublicKey: Uint8Array) => openMessage(b, devicePublicKey, decodeIssuanceRequest, 'issuance request');
export const openBalanceReport = (b: Uint8Array, devicePublicKey: Uint8Array) => openMessage(b, devicePublicKey, decodeBalanceReport, 'balance report');
