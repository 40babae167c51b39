// The FI's device registry. Enrolment checks the attestation chain: the certificate must verify
// under the CA key of the manufacturer it names (an unknown manufacturer or a bad signature is
// refused), and a fresh ATTEST statement signed by the certified device key must answer this
// enrolment's challenge (binding the key's possession to this customer and account), and names the
// device key K = k·g_K the FI pins for every later issuance (DESIGN §3.1). The row then
// carries the device's counters: vouchers issued, unload records applied, last sync batch and the
// last balance its SE reported, which the network audit sums.

import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from '../../crypto/assert.ts';
import { CryptoDecodeError, G1Point } from '../../crypto/group.ts';
import { Tier } from '../../policy/limits.ts';
import { SeDecodeError } from '../../se/cbor.ts';
import {
  SIGNED_MESSAGE_BYTES_MAX,
  decodeAttestationCert,
  openAttestation,
  openAttestationCert,
  type AttestationCert,
} from '../../se/messages.ts';
import { equalBytes, concat } from '../../se/bytes.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import { rowBigint, rowBytes, rowString, type Queryable } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

const CHALLENGE_DST = new TextEncoder().encode('TALLY-V1/ledger/enrolment-challenge');
export const DEVICE_ID_BYTES = 16;

export interface DeviceRow {
  deviceId: Uint8Array;
  customerId: string;
  accountId: string;
  publicKey: Uint8Array;
  deviceClass: number;
  tier: number;
  vouchersIssued: bigint;
  unloadsApplied: bigint;
  lastBatchId: bigint;
  reportedBalanceMinor: bigint;
  /** K = k·g_K pinned at enrolment; null only for a device enrolled before migration 006. */
  kPoint: Uint8Array | null;
}

const COLUMNS =
  'device_id, customer_id, account_id, public_key, device_class, tier, vouchers_issued, unloads_applied, last_batch_id, reported_balance_minor, k_point';

function toDevice(r: Record<string, unknown>): DeviceRow {
  return {
    deviceId: rowBytes(r, 'device_id'),
    customerId: rowString(r, 'customer_id'),
    accountId: rowString(r, 'account_id'),
    publicKey: rowBytes(r, 'public_key'),
    deviceClass: Number(rowBigint(r, 'device_class')),
    tier: Number(rowBigint(r, 'tier')),
    vouchersIssued: rowBigint(r, 'vouchers_issued'),
    unloadsApplied: rowBigint(r, 'unloads_applied'),
    lastBatchId: rowBigint(r, 'last_batch_id'),
    reportedBalanceMinor: rowBigint(r, 'reported_balance_minor'),
    kPoint: r['k_point'] === null || r['k_point'] === undefined ? null : rowBytes(r, 'k_point'),
  };
}

/** Reads a device (FOR UPDATE when `lock`), or throws UNKNOWN_DEVICE. */
export async function loadDevice(q: Queryable, deviceId: Uint8Array, lock = false): Promise<DeviceRow> {
  if (!(deviceId instanceof Uint8Array) || deviceId.length !== DEVICE_ID_BYTES) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Device id must be ${DEVICE_ID_BYTES} bytes`);
  }
  const rows = await q.query(`SELECT ${COLUMNS} FROM devices WHERE device_id = $1${lock ? ' FOR UPDATE' : ''}`, [deviceId]);
  if (rows.length === 0) throw new LedgerError(LedgerErrorCode.unknownDevice, `Device ${Buffer.from(deviceId).toString('hex')} is not enrolled at this FI`);
  return toDevice(rows[0]!);
}

export async function listDevices(q: Queryable): Promise<DeviceRow[]> {
  return (await q.query(`SELECT ${COLUMNS} FROM devices ORDER BY device_id`)).map(toDevice);
}

/** The challenge an enrolling device's ATTEST must sign: binds its key to this FI, customer and account. */
export function enrolmentChallenge(fiId: string, customerId: string, accountId: string, certificate: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  return sha256(concat(CHALLENGE_DST, enc.encode(`${fiId}\n${customerId}\n${accountId}\n`), sha256(certificate)));
}

/** Verifies certificate → CA and attestation → certified key; returns the certificate body and K. */
export function checkAttestation(args: {
  certificate: Uint8Array;
  attestation: Uint8Array;
  challenge: Uint8Array;
  manufacturers: Readonly<Record<string, Uint8Array>>;
}): AttestationCert & { kPoint: Uint8Array } {
  const refuse = (why: string): never => {
    throw new LedgerError(LedgerErrorCode.attestationInvalid, `Device attestation refused: ${why}`);
  };
  let claimed: AttestationCert;
  try {
    claimed = decodeAttestationCert(peekEnvelopeBody(args.certificate, SIGNED_MESSAGE_BYTES_MAX, 'attestation cert'));
  } catch (e) {
    if (!(e instanceof SeDecodeError)) throw e;
    return refuse(`certificate does not decode (${e.message})`);
  }
  const caKey = Object.hasOwn(args.manufacturers, claimed.manufacturer) ? args.manufacturers[claimed.manufacturer] : undefined;
  if (caKey === undefined) refuse(`manufacturer CA "${claimed.manufacturer}" is not trusted by this FI`);
  const cert = openAttestationCert(args.certificate, caKey!);
  if (!cert.ok) return refuse(`certificate does not verify under the ${claimed.manufacturer} CA (${cert.reason})`);
  const att = openAttestation(args.attestation, cert.value.publicKey);
  if (!att.ok) return refuse(`attestation statement does not verify under the certified key (${att.reason})`);
  if (!equalBytes(att.value.deviceId, cert.value.deviceId)) refuse('attestation names another device than its certificate');
  if (!equalBytes(att.value.challenge, args.challenge)) refuse('attestation answers another challenge');
  assert(cert.value.deviceId.length === DEVICE_ID_BYTES, 'attestation cert decoder must bound the device id');
  try {
    G1Point.fromBytes(att.value.kPoint);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    refuse(`device key K is not a valid G1 point (${e.message})`);
  }
  return { ...cert.value, kPoint: att.value.kPoint };
}

/** A device may carry its customer's KYC tier, or the delegated IoT tier. */
export function checkDeviceTier(customerTier: number, requested: number | undefined): number {
  const tier = requested ?? customerTier;
  if (tier !== customerTier && tier !== Tier.iot) {
    throw new LedgerError(LedgerErrorCode.badRequest, `A device of a tier-${customerTier} customer may be tier ${customerTier} or ${Tier.iot} (asked ${tier})`);
  }
  return tier;
}
