// Renewal only after a consistent sync (DESIGN §3.4 Contain). The FI records every credential it
// grants per (device, epoch) and, per device, whether a sync was accepted since the newest grant.
// A device may get a credential when: it has none yet (the first after enrolment), or it already
// holds the one of that epoch (an identical retry gets the first response, another request
// ALREADY_ISSUED: no new exposure either way), or its last accepted sync came after its newest
// credential. The epoch must be the current or the next one, so a device
// that stops syncing holds credentials for at most those two epochs: its exposure is at most
// 2 × L × cap(t) (exposure.ts), not L × cap(t) for every epoch to come.
//
// Kept apart from the issuance code so that changes to issuance and to this rule merge cleanly:
// issuance calls checkRenewalGate before it signs and recordCredentialGrant after; sync calls
// markSyncAccepted inside the transaction that accepts a batch.

import { bytesToHex } from '@noble/hashes/utils.js';
import { rowBigint, type Queryable } from '../db/adapter.ts';
import type { DeviceRow } from './devices.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

/** Epochs ahead of the current one a credential may be issued for (the next one only). */
export const RENEWAL_EPOCHS_AHEAD = 1n;

export async function checkRenewalGate(
  q: Queryable,
  device: DeviceRow,
  at: { epoch: bigint; currentEpoch: bigint },
): Promise<void> {
  const { epoch, currentEpoch } = at;
  const id = bytesToHex(device.deviceId);
  if (epoch < currentEpoch || epoch > currentEpoch + RENEWAL_EPOCHS_AHEAD) {
    throw new LedgerError(LedgerErrorCode.syncRequired, `Device ${id}: a credential for epoch ${epoch} is not offered (current ${currentEpoch}, next ${currentEpoch + RENEWAL_EPOCHS_AHEAD})`);
  }
  const grants = await q.query('SELECT epoch, issuer_nonce FROM credential_grants WHERE device_id = $1', [device.deviceId]);
  if (grants.length === 0) return;
  // A grant of this very epoch opens no new exposure: issuance answers an identical request with
  // its first response and any other with ALREADY_ISSUED (issuance.ts).
  if (grants.some((g) => rowBigint(g, 'epoch') === epoch)) return;
  const gate = await q.query('SELECT synced_since_grant FROM renewal_gate WHERE device_id = $1', [device.deviceId]);
  if (gate.length > 0 && rowBigint(gate[0]!, 'synced_since_grant') === 1n) return;
  const newest = grants.map((g) => rowBigint(g, 'epoch')).reduce((a, b) => (b > a ? b : a));
  throw new LedgerError(
    LedgerErrorCode.syncRequired,
    `Device ${id} has not synced consistently since its credential for epoch ${newest}: sync before renewing for epoch ${epoch}`,
  );
}

/** After a credential is granted: a new epoch closes the gate until the next accepted sync. */
export async function recordCredentialGrant(q: Queryable, grant: { deviceId: Uint8Array; epoch: bigint; issuerNonce: Uint8Array }, nowMs: number): Promise<void> {
  const inserted = await q.run('INSERT INTO credential_grants (device_id, epoch, issuer_nonce, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
    grant.deviceId, grant.epoch, grant.issuerNonce, BigInt(nowMs),
  ]);
  const deviceId = grant.deviceId;
  if (inserted > 0) await setGate(q, deviceId, 0n, nowMs);
}

/** Inside the transaction that accepts a sync batch (all its totals consistent). */
export async function markSyncAccepted(q: Queryable, deviceId: Uint8Array, nowMs: number): Promise<void> {
  await setGate(q, deviceId, 1n, nowMs);
}

async function setGate(q: Queryable, deviceId: Uint8Array, synced: bigint, nowMs: number): Promise<void> {
  await q.run(
    'INSERT INTO renewal_gate (device_id, synced_since_grant, updated_ms) VALUES ($1, $2, $3) ' +
      'ON CONFLICT (device_id) DO UPDATE SET synced_since_grant = excluded.synced_since_grant, updated_ms = excluded.updated_ms',
    [deviceId, synced, BigInt(nowMs)],
  );
}
