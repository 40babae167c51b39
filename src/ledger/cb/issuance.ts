// The CB's side of SE-bound issuance (DESIGN §3.1), as defence against a dishonest FI as much as
// against a hostile host: at enrolment the CB pins each device's K and attestation key and refuses
// a K within δ·g_K (|δ| < L_max) of any registered K; at issuance it signs only a request the
// enrolled SE signed, for the pinned K, bound by its proof to that device, epoch, tier and class,
// and at most one per (device, epoch) — an identical request gets the first answer back.
//
// Why the related-key window: N = g_N(e)·1/(k+n), so keys k and k+δ with counters n+δ and n give
// one nullifier; with |δ| < L_max two devices could collide inside one epoch, hiding a double spend
// or blocking an honest payer. The check walks K ± δ·g_K by point additions and looks each up by the
// registry's primary key, under a lock that serialises enrolments (never a scan of the registry).

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../../crypto/assert.ts';
import {
  CryptoDecodeError,
  G1Point,
  decodeBlindIssuanceRequest,
  encodeBlindIssuanceResponse,
  gK,
  issueBlind,
  systemRng,
  type BlindIssuanceRequest,
} from '../../crypto/index.ts';
import { TIERS, limitsFor, type PolicyTable } from '../../policy/limits.ts';
import { equalBytes } from '../../se/bytes.ts';
import { openIssuanceRequest, signIssuerKeyCert } from '../../se/messages.ts';
import { checkName } from '../context.ts';
import { rowBytes, rowString, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { IssuerKeys } from './issuer_keys.ts';
import { RELATED_KEY_DISTANCE_MAX, RELATED_KEY_LOOKUP_CHUNK } from '../limits.ts';

/** pg_advisory_xact_lock id serialising enrolments, so two related keys cannot both pass the check. */
const ENROLMENT_LOCK_ID = 0x54414c4bn;
const DEVICE_ID_BYTES = 16;

export interface CbRegisterDeviceRequest {
  fiId: string;
  customerId: string;
  deviceId: Uint8Array;
  /** K = k·g_K from the device's attestation (compressed G1). */
  kPoint: Uint8Array;
  /** The device's certified P-256 attestation key, which signs its issuance requests. */
  attestationKey: Uint8Array;
}

export interface CbIssueRequest {
  fiId: string;
  customerId: string;
  deviceId: Uint8Array;
  tier: number;
  deviceClass: number;
  epoch: bigint;
  issuerNonce: Uint8Array;
  /** The SE-signed issuance request (src/se/messages.ts IssuanceRequest). */
  request: Uint8Array;
}

export interface CbIssueResult {
  epoch: bigint;
  tier: number;
  response: Uint8Array;
  issuerKeyCert: Uint8Array;
  /** The epoch's counter set for the tier's L (not stored: recomputed from the issuer key). */
  counterSet: Uint8Array;
  /** K = k·g_K from the request (the device's pinned key), for the FI's own registry. */
  kPoint: Uint8Array;
}

/** The largest L of the policy table: the related-key window. */
export function relatedKeyWindow(policy: PolicyTable): number {
  const lMax = Math.max(...TIERS.map((t) => limitsFor(policy, t).paymentsPerEpoch));
  if (lMax > RELATED_KEY_DISTANCE_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Policy L_max ${lMax} is above the related-key check's bound ${RELATED_KEY_DISTANCE_MAX}`);
  }
  return lMax;
}

function decodeK(bytes: Uint8Array): G1Point {
  try {
    return G1Point.fromBytes(bytes);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    throw new LedgerError(LedgerErrorCode.badRequest, `Device key K does not decode: ${e.message}`);
  }
}

/** K + δ·g_K for every 0 < |δ| < lMax, with δ, by point additions (2·(lMax − 1) of them). */
function relatedKeys(K: G1Point, lMax: number): Array<{ delta: number; bytes: Uint8Array }> {
  const out: Array<{ delta: number; bytes: Uint8Array }> = [];
  let up = K;
  let down = K;
  for (let d = 1; d < lMax; d++) {
    up = up.add(gK());
    down = down.sub(gK());
    out.push({ delta: d, bytes: up.toBytes() }, { delta: -d, bytes: down.toBytes() });
  }
  assert(out.length === 2 * Math.max(0, lMax - 1), 'relatedKeys: one key per non-zero δ');
  return out;
}

/** Refuses K if it, or any K ± δ·g_K with |δ| < lMax, is registered: one indexed query per chunk. */
async function refuseRelatedKeys(tx: Tx, K: G1Point, lMax: number): Promise<void> {
  const candidates = [{ delta: 0, bytes: K.toBytes() }, ...relatedKeys(K, lMax)];
  for (let i = 0; i < candidates.length; i += RELATED_KEY_LOOKUP_CHUNK) {
    const chunk = candidates.slice(i, i + RELATED_KEY_LOOKUP_CHUNK);
    const marks = chunk.map((_, j) => `$${j + 1}`).join(', ');
    const hits = await tx.query(`SELECT k_point FROM cb_device_keys WHERE k_point IN (${marks})`, chunk.map((c) => c.bytes));
    if (hits.length > 0) {
      const hit = rowBytes(hits[0]!, 'k_point');
      const delta = chunk.find((c) => equalBytes(c.bytes, hit))!.delta;
      throw new LedgerError(
        LedgerErrorCode.relatedDeviceKey,
        `Device key refused: it is K' + (${delta})·g_K for a registered K' (|δ| must be at least L_max = ${lMax}, or the two devices could share nullifiers)`,
      );
    }
  }
}

/** Pins a device's K and attestation key at the CB (inside the caller's idempotent transaction). */
export async function registerDeviceTx(tx: Tx, req: CbRegisterDeviceRequest, policy: PolicyTable, nowMs: number): Promise<{ deviceId: Uint8Array; kPoint: Uint8Array }> {
  const fiId = checkName(req.fiId, 'FI id');
  checkName(req.customerId, 'customer id');
  if (req.deviceId.length !== DEVICE_ID_BYTES) throw new LedgerError(LedgerErrorCode.badRequest, `Device id must be ${DEVICE_ID_BYTES} bytes (got ${req.deviceId.length})`);
  if (req.attestationKey.length !== 33) throw new LedgerError(LedgerErrorCode.badRequest, `Attestation key must be 33 bytes (got ${req.attestationKey.length})`);
  const K = decodeK(req.kPoint);
  if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [ENROLMENT_LOCK_ID]);
  const known = await tx.query('SELECT 1 AS one FROM cb_devices WHERE device_id = $1', [req.deviceId]);
  if (known.length > 0) throw new LedgerError(LedgerErrorCode.replayConflict, `Device ${bytesToHex(req.deviceId)} is already registered at the CB`);
  await refuseRelatedKeys(tx, K, relatedKeyWindow(policy));
  const kPoint = K.toBytes();
  await tx.run(
    'INSERT INTO cb_devices (device_id, fi_id, customer_id, k_point, attestation_key, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
    [req.deviceId, fiId, req.customerId, kPoint, req.attestationKey, BigInt(nowMs)],
  );
  await tx.run(
    'INSERT INTO cb_device_keys (k_point, fi_id, customer_id, device_id, epoch, created_ms) VALUES ($1, $2, $3, $4, $5, $6)',
    [kPoint, fiId, req.customerId, req.deviceId, 0n, BigInt(nowMs)],
  );
  return { deviceId: req.deviceId, kPoint };
}

/**
 * Opens an SE-signed issuance request under `attestationKey` and checks it is for exactly this
 * issuance and the pinned K. Shared by the FI and the CB, which each check it on their own.
 */
export function checkSignedRequest(
  signed: Uint8Array,
  expected: { attestationKey: Uint8Array; kPoint: Uint8Array | null; issuerNonce: Uint8Array; deviceId: Uint8Array; epoch: bigint; tier: number; deviceClass: number },
): BlindIssuanceRequest {
  const opened = openIssuanceRequest(signed, expected.attestationKey);
  if (!opened.ok) {
    throw new LedgerError(LedgerErrorCode.signatureInvalid, `Issuance request is not signed by the SE enrolled as device ${bytesToHex(expected.deviceId)} (${opened.reason})`);
  }
  const b = opened.value;
  const mismatch = [
    ['nonce', bytesToHex(expected.issuerNonce), bytesToHex(b.issuerNonce)],
    ['device', bytesToHex(expected.deviceId), bytesToHex(b.deviceId)],
    ['epoch', String(expected.epoch), String(b.epoch)],
    ['tier', String(expected.tier), String(b.tier)],
    ['device class', String(expected.deviceClass), String(b.deviceClass)],
  ].find(([, want, got]) => want !== got);
  if (mismatch) {
    throw new LedgerError(LedgerErrorCode.issuanceMismatch, `Issuance request is for another ${mismatch[0]}: expected ${mismatch[1]}, found ${mismatch[2]}`);
  }
  let request: BlindIssuanceRequest;
  try {
    request = decodeBlindIssuanceRequest(b.blindRequest);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    throw new LedgerError(LedgerErrorCode.badRequest, `Blind issuance request does not decode: ${e.message}`);
  }
  if (expected.kPoint === null || !equalBytes(request.K.toBytes(), expected.kPoint)) {
    const pinned = expected.kPoint === null ? 'none' : bytesToHex(expected.kPoint).slice(0, 16);
    throw new LedgerError(LedgerErrorCode.deviceKeyMismatch, `Issuance request carries K ${bytesToHex(request.K.toBytes()).slice(0, 16)}…, the device's pinned K is ${pinned}…`);
  }
  return request;
}

export const requestHashOf = (signed: Uint8Array): Uint8Array => sha256(signed);

/** The CB's issuance transaction: device, signature, K, one per (device, epoch), then the blind signature. */
export async function issueTx(
  tx: Tx,
  req: CbIssueRequest,
  ctx: { keys: IssuerKeys; cbSecretKey: Uint8Array; epochNow: bigint; nowMs: number },
): Promise<Omit<CbIssueResult, 'counterSet'>> {
  const fiId = checkName(req.fiId, 'FI id');
  if (req.epoch !== ctx.epochNow && req.epoch !== ctx.epochNow + 1n) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Credentials are issued for epoch ${ctx.epochNow} or ${ctx.epochNow + 1n} only (asked ${req.epoch})`);
  }
  const rows = await tx.query('SELECT fi_id, customer_id, k_point, attestation_key FROM cb_devices WHERE device_id = $1', [req.deviceId]);
  if (rows.length === 0 || rowString(rows[0]!, 'fi_id') !== fiId || rowString(rows[0]!, 'customer_id') !== req.customerId) {
    throw new LedgerError(LedgerErrorCode.unknownDevice, `Device ${bytesToHex(req.deviceId)} is not registered at the CB for ${fiId}/${req.customerId}`);
  }
  const kPoint = rowBytes(rows[0]!, 'k_point');
  const request = checkSignedRequest(req.request, { ...req, attestationKey: rowBytes(rows[0]!, 'attestation_key'), kPoint });
  const hash = requestHashOf(req.request);
  const earlier = await tx.query('SELECT request_hash, response, issuer_key_cert FROM cb_issuances WHERE device_id = $1 AND epoch = $2', [req.deviceId, req.epoch]);
  if (earlier.length > 0) {
    if (!equalBytes(rowBytes(earlier[0]!, 'request_hash'), hash)) {
      throw new LedgerError(LedgerErrorCode.alreadyIssued, `Device ${bytesToHex(req.deviceId)} already has a credential for epoch ${req.epoch} (from another request)`);
    }
    return { epoch: req.epoch, tier: req.tier, response: rowBytes(earlier[0]!, 'response'), issuerKeyCert: rowBytes(earlier[0]!, 'issuer_key_cert'), kPoint };
  }
  const key = ctx.keys.forEpoch(req.epoch);
  const issued = issueBlind({
    secretKey: key.secretKey, publicKey: key.publicKey, request, issuerNonce: req.issuerNonce, deviceId: req.deviceId, rng: systemRng,
    epoch: req.epoch, tier: BigInt(req.tier), deviceClass: BigInt(req.deviceClass),
  });
  if (!issued.ok) throw new LedgerError(LedgerErrorCode.badRequest, `Blind issuance refused: ${issued.reason}`);
  const response = encodeBlindIssuanceResponse(issued.response);
  const issuerKeyCert = signIssuerKeyCert(ctx.cbSecretKey, { epoch: req.epoch, publicKey: key.publicKey.toBytes() });
  const inserted = await tx.run(
    'INSERT INTO cb_issuances (device_id, epoch, fi_id, request_hash, response, issuer_key_cert, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
    [req.deviceId, req.epoch, fiId, hash, response, issuerKeyCert, BigInt(ctx.nowMs)],
  );
  if (inserted !== 1) throw new LedgerError(LedgerErrorCode.alreadyIssued, `Device ${bytesToHex(req.deviceId)} was issued a credential for epoch ${req.epoch} concurrently`);
  assert((TIERS as readonly number[]).includes(req.tier), 'issueTx: tier checked by the caller');
  return { epoch: req.epoch, tier: req.tier, response, issuerKeyCert, kPoint };
}
