// The FI's devices screen (docs/compliance.md, Freeze): per enrolled device, its customer (and
// whether they are frozen), its last sync as each tier saw it (the time its SE signed its last
// balance report, the time the FI accepted its last batch), its newest credential epoch, and the
// latest moment it can still pay offline: (newest credential epoch + 1)·epochMs + graceMs of its
// tier (DESIGN §3.1, §7; se/enforce.ts credentialValidUntilMs), or, once the CB's signed
// revocation list names its key, "revoked at first sync": the list reaches the SE at its next
// sync, and that same bound holds until then.
//
// Why read the CB's distribution: the list is what devices are handed; a key the FI reported
// but the CB has not listed yet would not stop the SE, so only the list counts here.

import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../../crypto/assert.ts';
import { verifyRevocationList } from '../../policy/policy_codec.ts';
import { limitsFor } from '../../policy/limits.ts';
import { rowBigint, rowBytes, rowString, type Row, type SqlValue } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { CONSOLE_ROWS_MAX } from './views.ts';

export interface DeviceOfflineView {
  deviceId: string;
  customerId: string;
  customerName: string | null;
  frozen: boolean;
  tier: number;
  deviceClass: number;
  /** When its SE signed the last balance report the FI accepted (the device's own clock); null: never synced. */
  deviceReportMs: number | null;
  /** When the FI accepted its last sync batch; null: never. */
  fiSyncMs: number | null;
  /** Newest epoch the FI granted it a credential for; null: none. */
  newestCredentialEpoch: string | null;
  /** (newest credential epoch + 1)·epochMs + graceMs: after this it cannot pay offline; null: no credential. */
  offlineUntilMs: number | null;
  /** The CB's current signed list names its key: it stops paying at its first sync. */
  revoked: boolean;
  /** The version of that list (null: not revoked). */
  revocationVersion: string | null;
}

const nullableMs = (r: Row, key: string): number | null => (r[key] === null || r[key] === undefined ? null : Number(rowBigint(r, key)));

function nameOf(identityJson: string): string | null {
  const identity = JSON.parse(identityJson) as Record<string, unknown>;
  return typeof identity['name'] === 'string' ? identity['name'] : null;
}

interface Listed {
  version: bigint;
  keys: Set<string>;
  /** Why the list an SE would be handed does not verify (an SE would refuse it too), or null. */
  problem: string | null;
}

/** Device keys (hex) on the CB's current list for `tier`, and the list's version. */
async function listedKeys(fi: FinancialIntermediary, tier: number): Promise<Listed> {
  const d = await fi.cb.distribution(tier);
  const v = verifyRevocationList(d.signedRevocationList, fi.cb.publicKey);
  if (!v.ok) return { version: d.revocationVersion, keys: new Set(), problem: `the CB's revocation list v${d.revocationVersion} for tier ${tier} does not verify (${v.reason}): no device installs it` };
  return { version: v.value.version, keys: new Set((v.value.devices ?? []).map((k) => bytesToHex(k))), problem: null };
}

/**
 * The FI's devices, oldest enrolment first: `limit` of them (1..CONSOLE_ROWS_MAX, default
 * CONSOLE_ROWS_MAX) after the device `after` (hex id) when given; `more` when devices follow.
 */
export async function devicesView(fi: FinancialIntermediary, page: { limit?: number; after?: Uint8Array } = {}): Promise<{ fiId: string; devices: DeviceOfflineView[]; more: boolean; listProblems: string[] }> {
  const limit = page.limit ?? CONSOLE_ROWS_MAX;
  if (!Number.isInteger(limit) || limit < 1 || limit > CONSOLE_ROWS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `limit must be 1..${CONSOLE_ROWS_MAX}`);
  let cursor = '';
  const params: SqlValue[] = [BigInt(limit + 1)];
  if (page.after !== undefined) {
    const at = (await fi.db.query('SELECT created_ms FROM devices WHERE device_id = $1', [page.after]))[0];
    if (at === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No device ${bytesToHex(page.after)} to page from`);
    cursor = 'WHERE (d.created_ms > $2 OR (d.created_ms = $2 AND d.device_id > $3)) ';
    params.push(rowBigint(at, 'created_ms'), page.after);
  }
  const read = await fi.db.query(
    'SELECT d.device_id, d.customer_id, d.public_key, d.tier, d.device_class, d.reported_at_ms, c.identity_json, c.frozen, ' +
      '(SELECT MAX(s.created_ms) FROM sync_batches s WHERE s.device_id = d.device_id) AS fi_sync_ms, ' +
      '(SELECT MAX(g.epoch) FROM credential_grants g WHERE g.device_id = d.device_id) AS newest_epoch ' +
      `FROM devices d JOIN customers c ON c.id = d.customer_id ${cursor}ORDER BY d.created_ms, d.device_id LIMIT $1`,
    params,
  );
  const rows = read.slice(0, limit);
  const policy = await fi.cb.currentPolicy();
  const lists = new Map<number, Listed>();
  const devices: DeviceOfflineView[] = [];
  for (const r of rows) {
    const tier = Number(rowBigint(r, 'tier'));
    if (!lists.has(tier)) lists.set(tier, await listedKeys(fi, tier));
    const list = lists.get(tier)!;
    const epoch = r['newest_epoch'] === null || r['newest_epoch'] === undefined ? null : rowBigint(r, 'newest_epoch');
    const limits = limitsFor(policy, tier);
    const revoked = list.keys.has(bytesToHex(rowBytes(r, 'public_key')));
    devices.push({
      deviceId: bytesToHex(rowBytes(r, 'device_id')),
      customerId: rowString(r, 'customer_id'),
      customerName: nameOf(rowString(r, 'identity_json')),
      frozen: rowBigint(r, 'frozen') === 1n,
      tier,
      deviceClass: Number(rowBigint(r, 'device_class')),
      deviceReportMs: nullableMs(r, 'reported_at_ms'),
      fiSyncMs: nullableMs(r, 'fi_sync_ms'),
      newestCredentialEpoch: epoch === null ? null : epoch.toString(),
      offlineUntilMs: epoch === null ? null : Number((epoch + 1n) * limits.epochMs + limits.graceMs),
      revoked,
      revocationVersion: revoked ? list.version.toString() : null,
    });
  }
  const listProblems = [...lists.values()].map((l) => l.problem).filter((p): p is string => p !== null);
  assert(devices.length <= CONSOLE_ROWS_MAX, 'devicesView: bounded by CONSOLE_ROWS_MAX');
  return { fiId: fi.fiId, devices, more: read.length > limit, listProblems };
}
