// An FI's own incidents, found at sync before anything reaches the CB: a device that uploads a
// receipt whose payment context names another payee (it did not receive that payment: another
// device's record, replayed), or a receipt this FI already settled. Either would credit one
// payment twice. The batch is refused and nothing of it is written, but the incident is kept in a
// transaction of its own, so the refusal leaves a trace an operator can act on, and the customer
// gets no new credential (financial_intermediary.ts checks it with the CB's block list).

import { bytesToHex } from '@noble/hashes/utils.js';
import { rowBigint, rowBytes, rowString, type Db, type Queryable } from '../db/adapter.ts';

export const SyncIncidentKind = {
  /** The receipt's context names another payee than the uploading device. */
  receiptNotForUploader: 'RECEIPT_NOT_FOR_UPLOADER',
  /** The receipt was already settled (by this device or another). */
  receiptUploadedTwice: 'RECEIPT_UPLOADED_TWICE',
} as const;
export type SyncIncidentKind = (typeof SyncIncidentKind)[keyof typeof SyncIncidentKind];

export interface SyncIncident {
  id: string;
  deviceId: Uint8Array;
  customerId: string;
  kind: SyncIncidentKind;
  paymentHash: Uint8Array;
  detail: string;
  createdMs: bigint;
}

/** Records one incident (idempotent: the same device, kind and payment is one incident). */
export async function recordSyncIncident(
  db: Db,
  i: { deviceId: Uint8Array; customerId: string; kind: SyncIncidentKind; paymentHash: Uint8Array; detail: string; nowMs: number },
): Promise<void> {
  const id = `sinc_${bytesToHex(i.deviceId)}_${i.kind}_${bytesToHex(i.paymentHash).slice(0, 32)}`;
  await db.run(
    'INSERT INTO sync_incidents (id, device_id, customer_id, kind, payment_hash, detail, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
    [id, i.deviceId, i.customerId, i.kind, i.paymentHash, i.detail, BigInt(i.nowMs)],
  );
}

export async function listSyncIncidents(q: Queryable, customerId?: string): Promise<SyncIncident[]> {
  const rows = await q.query(
    `SELECT id, device_id, customer_id, kind, payment_hash, detail, created_ms FROM sync_incidents${customerId === undefined ? '' : ' WHERE customer_id = $1'} ORDER BY created_ms, id`,
    customerId === undefined ? [] : [customerId],
  );
  return rows.map((r) => ({
    id: rowString(r, 'id'),
    deviceId: rowBytes(r, 'device_id'),
    customerId: rowString(r, 'customer_id'),
    kind: rowString(r, 'kind') as SyncIncidentKind,
    paymentHash: rowBytes(r, 'payment_hash'),
    detail: rowString(r, 'detail'),
    createdMs: rowBigint(r, 'created_ms'),
  }));
}
