// The FI's side of SE-bound issuance (DESIGN §3.1). startIssuance hands out one nonce per (device,
// epoch) with the CB's certificate of that epoch's issuer key; issueCredential accepts only the
// request the device's SE signed with its enrolled attestation key, for that nonce, device, epoch,
// tier and class and the K pinned at enrolment, forwards it to the CB, and keeps one issuance per
// (device, epoch) under a PRIMARY KEY: an identical request gets the first answer back, any other
// is ALREADY_ISSUED. The host in between only moves bytes.
//
// Why one nonce per (device, epoch) instead of a fresh one per call: a host that lost an answer
// asks again, gets the same nonce, and its SE re-sends the very request it signed; a fresh nonce
// would make it a second request, and a second request is exactly what the FI must refuse.

import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes } from '../../se/bytes.ts';
import { checkSignedRequest, requestHashOf, type CbIssueResult } from '../cb/issuance.ts';
import type { CbOfflinePort } from '../cb/central_bank.ts';
import type { RandomBytes } from '../context.ts';
import { rowBigint, rowBytes, type Db, type Queryable } from '../db/adapter.ts';
import type { DeviceRow } from './devices.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';

/** Bytes of an issuance nonce (the SE accepts 16..64). */
export const ISSUER_NONCE_BYTES = 32;
/** Request-hash bytes in the CB idempotency key: 20 bytes keep it unique and the key under 128 chars. */
const CB_KEY_HASH_BYTES = 20;

export interface IssuanceDeps {
  db: Db;
  fiId: string;
  cb: CbOfflinePort;
  rng: RandomBytes;
  nowMs: number;
}

export interface IssuanceStart {
  epoch: bigint;
  tier: number;
  issuerNonce: Uint8Array;
  /** CB-signed certificate of the epoch's issuer key: the SE binds its proof to that key. */
  issuerKeyCert: Uint8Array;
}

export interface IssuedCredential {
  epoch: bigint;
  tier: number;
  response: Uint8Array;
  issuerKeyCert: Uint8Array;
  /** The tier's counter set under the epoch's issuer key (public; the SE checks it). */
  counterSet: Uint8Array;
}

async function issuerKeyCertFor(cb: CbOfflinePort, tier: number, epoch: bigint): Promise<Uint8Array> {
  const entry = (await cb.distribution(tier)).issuerKeys.find((k) => k.epoch === epoch);
  if (entry === undefined) throw new LedgerError(LedgerErrorCode.badRequest, `The CB publishes no issuer key for epoch ${epoch} (only the current and next epoch are issued)`);
  return entry.cert;
}

/** The nonce of this (device, epoch), made on first use. */
export async function startIssuanceFor(d: IssuanceDeps, device: DeviceRow, epoch: bigint): Promise<IssuanceStart> {
  const issuerKeyCert = await issuerKeyCertFor(d.cb, device.tier, epoch);
  const nonceOf = async (q: Queryable) => {
    const rows = await q.query('SELECT nonce FROM issuance_nonces WHERE device_id = $1 AND epoch = $2 ORDER BY created_ms, nonce LIMIT 1', [device.deviceId, epoch]);
    return rows.length === 0 ? null : rowBytes(rows[0]!, 'nonce');
  };
  const issuerNonce = await d.db.transaction(async (tx) => {
    const known = await nonceOf(tx);
    if (known !== null) return known;
    const fresh = d.rng(ISSUER_NONCE_BYTES);
    await tx.run('INSERT INTO issuance_nonces (nonce, device_id, epoch, created_ms) VALUES ($1, $2, $3, $4)', [fresh, device.deviceId, epoch, BigInt(d.nowMs)]);
    return fresh;
  });
  return { epoch, tier: device.tier, issuerNonce, issuerKeyCert };
}

/** The stored answer for (device, epoch) if `hash` is its request; ALREADY_ISSUED if another request has it. */
async function earlierAnswer(q: Queryable, device: DeviceRow, epoch: bigint, hash: Uint8Array): Promise<Omit<IssuedCredential, 'counterSet'> | null> {
  const rows = await q.query('SELECT request_hash, tier, response, issuer_key_cert FROM issuances WHERE device_id = $1 AND epoch = $2', [device.deviceId, epoch]);
  if (rows.length === 0) return null;
  if (!equalBytes(rowBytes(rows[0]!, 'request_hash'), hash)) {
    throw new LedgerError(LedgerErrorCode.alreadyIssued, `Device ${bytesToHex(device.deviceId)} already has a credential for epoch ${epoch} (from another request)`);
  }
  return { epoch, tier: Number(rowBigint(rows[0]!, 'tier')), response: rowBytes(rows[0]!, 'response'), issuerKeyCert: rowBytes(rows[0]!, 'issuer_key_cert') };
}

/**
 * Checks the SE-signed request against the device and the nonce's epoch, forwards it to the CB and
 * records the answer. `checkMayIssue` runs the KYC / freeze / block checks before the CB is asked.
 */
export async function issueCredentialFor(
  d: IssuanceDeps,
  device: DeviceRow,
  input: { issuerNonce: Uint8Array; request: Uint8Array; idempotencyKey: string },
  checkMayIssue: (epoch: bigint) => Promise<void>,
): Promise<IssuedCredential> {
  const nonces = await d.db.query('SELECT epoch FROM issuance_nonces WHERE nonce = $1 AND device_id = $2', [input.issuerNonce, device.deviceId]);
  if (nonces.length === 0) throw new LedgerError(LedgerErrorCode.badRequest, 'Issuance nonce was not given to this device');
  const epoch = rowBigint(nonces[0]!, 'epoch');
  checkSignedRequest(input.request, {
    attestationKey: device.publicKey, kPoint: device.kPoint, issuerNonce: input.issuerNonce, deviceId: device.deviceId,
    epoch, tier: device.tier, deviceClass: device.deviceClass,
  });
  const hash = requestHashOf(input.request);
  const askCb = (): Promise<CbIssueResult> => d.cb.issueCredential({
    fiId: d.fiId, customerId: device.customerId, deviceId: device.deviceId, tier: device.tier, deviceClass: device.deviceClass,
    epoch, issuerNonce: input.issuerNonce, request: input.request, idempotencyKey: `${d.fiId}/issue/${bytesToHex(hash.subarray(0, CB_KEY_HASH_BYTES))}`,
  });
  const earlier = await earlierAnswer(d.db, device, epoch, hash);
  // The counter set is not stored here; the CB answers an identical request again (idempotently).
  if (earlier !== null) return { ...earlier, counterSet: (await askCb()).counterSet };
  await checkMayIssue(epoch);
  const issued: CbIssueResult = await askCb();
  const r = await idempotent(d.db, d.nowMs, input.idempotencyKey, 'fi.recordIssuance', { device: bytesToHex(device.deviceId), epoch, hash: bytesToHex(hash) }, async (tx) => {
    await tx.run(
      'INSERT INTO issuances (device_id, epoch, request_hash, tier, response, issuer_key_cert, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
      [device.deviceId, epoch, hash, BigInt(issued.tier), issued.response, issued.issuerKeyCert, BigInt(d.nowMs)],
    );
    const stored = await earlierAnswer(tx, device, epoch, hash);
    if (stored === null) throw new LedgerError(LedgerErrorCode.alreadyIssued, `Issuance for epoch ${epoch} was not recorded`);
    return stored;
  });
  return { ...r.value, counterSet: issued.counterSet };
}
