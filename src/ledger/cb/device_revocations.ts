// The CB's device revocation list (docs/compliance.md, Freeze): when an FI freezes a customer it
// reports the attestation keys of the customer's devices here, and removes them at unfreeze. The
// CB puts the newest REVOCATION_DEVICES_LIST_MAX of them on every signed revocation list
// (distribution.ts), where an SE that finds its own key stops paying, and refuses them credentials
// (issuance.ts). Each key added or removed appends one row to cb_device_revocation_log, whose count
// is part of the list version, so every change yields a list an SE will install.
//
// Why keys, checked against cb_devices: the list must name exactly the key the SE holds of itself,
// and an FI may only name devices it enrolled for that customer, never another FI's.

import { bytesToHex } from '@noble/hashes/utils.js';
import { checkName, newId, type RandomBytes } from '../context.ts';
import { rowBytes, rowString, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { REVOCATION_DEVICES_LIST_MAX } from '../limits.ts';

const DEVICE_KEY_BYTES = 33;

export interface CbDeviceRevocationRequest {
  fiId: string;
  customerId: string;
  /** true: freeze (put the keys on the list); false: unfreeze (take them off). */
  revoked: boolean;
  /** The customer's devices' compressed P-256 attestation keys, as enrolled at the CB. */
  deviceKeys: Uint8Array[];
}

export interface CbDeviceRevocationResult {
  /** Keys this call added or removed (0 on a repeat: the list already said so). */
  changed: number;
  /** The version of the revocation list that first reflects this call. */
  revocationVersion: bigint;
}

export interface DeviceRevocation {
  attestationKey: Uint8Array;
  deviceId: Uint8Array;
  fiId: string;
  customerId: string;
  createdMs: number;
}

/** Checks the request; every key must be a device the CB registered for this FI and customer. */
async function devicesOf(tx: Tx, req: CbDeviceRevocationRequest): Promise<Array<{ key: Uint8Array; deviceId: Uint8Array }>> {
  checkName(req.fiId, 'FI id');
  checkName(req.customerId, 'customer id');
  if (typeof req.revoked !== 'boolean') throw new LedgerError(LedgerErrorCode.badRequest, 'revoked must be true or false');
  if (!Array.isArray(req.deviceKeys) || req.deviceKeys.length === 0 || req.deviceKeys.length > REVOCATION_DEVICES_LIST_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `deviceKeys must list 1..${REVOCATION_DEVICES_LIST_MAX} keys`);
  }
  const out: Array<{ key: Uint8Array; deviceId: Uint8Array }> = [];
  for (const [i, key] of req.deviceKeys.entries()) {
    if (!(key instanceof Uint8Array) || key.length !== DEVICE_KEY_BYTES) {
      throw new LedgerError(LedgerErrorCode.badRequest, `deviceKeys[${i}] must be a ${DEVICE_KEY_BYTES}-byte compressed P-256 key`);
    }
    const rows = await tx.query('SELECT device_id FROM cb_devices WHERE attestation_key = $1 AND fi_id = $2 AND customer_id = $3', [key, req.fiId, req.customerId]);
    if (rows.length === 0) {
      throw new LedgerError(LedgerErrorCode.unknownDevice, `deviceKeys[${i}] ${bytesToHex(key).slice(0, 16)}… is not a device the CB registered for ${req.fiId}/${req.customerId}`);
    }
    out.push({ key, deviceId: rowBytes(rows[0]!, 'device_id') });
  }
  return out;
}

/** Adds (freeze) or removes (unfreeze) the keys, one log row per key that changed (inside the caller's idempotent transaction). */
export async function reportDeviceRevocationsTx(
  tx: Tx, req: CbDeviceRevocationRequest, ctx: { nowMs: number; rng: RandomBytes; version: (q: Queryable) => Promise<bigint> },
): Promise<CbDeviceRevocationResult> {
  const devices = await devicesOf(tx, req);
  let changed = 0;
  for (const d of devices) {
    const n = req.revoked
      ? await tx.run('INSERT INTO cb_device_revocations (attestation_key, device_id, fi_id, customer_id, created_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
        d.key, d.deviceId, req.fiId, req.customerId, BigInt(ctx.nowMs),
      ])
      : await tx.run('DELETE FROM cb_device_revocations WHERE attestation_key = $1', [d.key]);
    if (n === 0) continue;
    changed++;
    await tx.run('INSERT INTO cb_device_revocation_log (id, attestation_key, device_id, fi_id, customer_id, revoked, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      newId(ctx.rng, 'dvr'), d.key, d.deviceId, req.fiId, req.customerId, req.revoked ? 1n : 0n, BigInt(ctx.nowMs),
    ]);
  }
  return { changed, revocationVersion: await ctx.version(tx) };
}

/** The newest revoked device keys, as the signed list carries them. */
export async function revokedDeviceKeys(q: Queryable): Promise<Uint8Array[]> {
  const rows = await q.query(`SELECT attestation_key FROM cb_device_revocations ORDER BY created_ms DESC, attestation_key LIMIT ${REVOCATION_DEVICES_LIST_MAX}`);
  return rows.map((r) => rowBytes(r, 'attestation_key'));
}

/** Every revoked device (for the CB's operators), newest first. */
export async function listDeviceRevocations(q: Queryable): Promise<DeviceRevocation[]> {
  const rows = await q.query('SELECT attestation_key, device_id, fi_id, customer_id, created_ms FROM cb_device_revocations ORDER BY created_ms DESC, attestation_key');
  return rows.map((r) => ({
    attestationKey: rowBytes(r, 'attestation_key'), deviceId: rowBytes(r, 'device_id'), fiId: rowString(r, 'fi_id'),
    customerId: rowString(r, 'customer_id'), createdMs: Number(r['created_ms']),
  }));
}

/** FROZEN if the device is on the CB's revocation list (issuance refuses it). */
export async function refuseRevokedDevice(q: Queryable, deviceId: Uint8Array): Promise<void> {
  const rows = await q.query('SELECT fi_id, customer_id FROM cb_device_revocations WHERE device_id = $1', [deviceId]);
  if (rows.length > 0) {
    throw new LedgerError(
      LedgerErrorCode.frozen,
      `Device ${bytesToHex(deviceId)} is on the CB's device revocation list (customer ${rowString(rows[0]!, 'customer_id')} of ${rowString(rows[0]!, 'fi_id')} is frozen): no credential`,
    );
  }
}
