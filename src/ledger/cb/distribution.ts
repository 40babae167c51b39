// What the CB signs and serves at every sync (DESIGN §2.4, §7): the policy table, the issuer-key
// certificates of the current and next epoch, and the revocation list. Policies live in the
// `policies` table and only move forward (a new version must be greater); the revocation list is
// built from `revocation_entries`, `reclaims` and `cb_device_revocations` (device_revocations.ts),
// its version is 1 + the rows of the three append-only tables behind them, so a
// later list always carries a greater version and the SE (which refuses a stale version) can
// install every list it is handed in order.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../../crypto/assert.ts';
import { DEFAULT_POLICY, TIERS, limitsFor, type PolicyTable } from '../../policy/limits.ts';
import { ISSUER_KEYS_MAX } from '../../se/payment_limits.ts';
import { decodePolicy, encodePolicy, encodeRevocationList, signPolicy, signRevocationList, type RevocationList } from '../../policy/policy_codec.ts';
import { signIssuerKeyCert } from '../../se/messages.ts';
import { rowBigint, rowBytes, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { IssuerKeys } from './issuer_keys.ts';
import { revokedDeviceKeys } from './device_revocations.ts';
import { REVOCATION_LIST_MAX, SQL_BIGINT_MAX } from '../limits.ts';

export interface IssuerKeyCertEntry {
  epoch: bigint;
  publicKey: Uint8Array;
  cert: Uint8Array;
}

export interface Distribution {
  tier: number;
  currentEpoch: bigint;
  policyVersion: bigint;
  signedPolicy: Uint8Array;
  /**
   * Issuer keys of the current and next epoch of EVERY tier, newest first: tiers count epochs in
   * different lengths, and a device must check credentials of any tier it pays or is paid by.
   */
  issuerKeys: IssuerKeyCertEntry[];
  revocationVersion: bigint;
  signedRevocationList: Uint8Array;
}

/** The newest policy, or undefined before the first is stored. */
export async function latestPolicy(q: Queryable): Promise<PolicyTable | undefined> {
  const rows = await q.query('SELECT body FROM policies ORDER BY version DESC LIMIT 1');
  return rows.length === 0 ? undefined : decodePolicy(rowBytes(rows[0]!, 'body'));
}

/** The policy of one version, or undefined if the CB never published it. Versions stay forever:
 *  a payment is verified under the version its context names, whenever it reaches the ledger. */
export async function policyByVersion(q: Queryable, version: bigint): Promise<PolicyTable | undefined> {
  if (version < 1n || version > SQL_BIGINT_MAX) return undefined;
  const rows = await q.query('SELECT body FROM policies WHERE version = $1', [version]);
  return rows.length === 0 ? undefined : decodePolicy(rowBytes(rows[0]!, 'body'));
}

/** Stores a policy whose version is above every stored one (BAD_REQUEST otherwise). */
export async function storePolicy(tx: Tx, table: PolicyTable, nowMs: number): Promise<void> {
  const current = await latestPolicy(tx);
  if (current !== undefined && table.version <= current.version) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Policy version ${table.version} is not above the current ${current.version}`);
  }
  if (table.version < 1n) throw new LedgerError(LedgerErrorCode.badRequest, 'Policy versions start at 1');
  const body = encodePolicy(table);
  decodePolicy(body); // the limits must relate as the codec requires (throws on a bad table)
  await tx.run('INSERT INTO policies (version, body, created_ms) VALUES ($1, $2, $3)', [table.version, body, BigInt(nowMs)]);
}

export async function ensurePolicy(tx: Tx, initial: PolicyTable | undefined, nowMs: number): Promise<void> {
  if ((await latestPolicy(tx)) === undefined) await storePolicy(tx, initial ?? DEFAULT_POLICY, nowMs);
}

export function currentEpoch(policy: PolicyTable, tier: number, nowMs: number): bigint {
  return BigInt(nowMs) / limitsFor(policy, tier).epochMs;
}

export async function revocationVersion(q: Queryable): Promise<bigint> {
  // Double spends (revocation_entries), reclaimed payments (reclaims, src/ledger/fi/reclaim.ts) and
  // device keys added or removed (cb_device_revocation_log, device_revocations.ts): all only grow.
  const rows = await q.query(
    'SELECT CAST((SELECT COUNT(*) FROM revocation_entries) + (SELECT COUNT(*) FROM reclaims) + (SELECT COUNT(*) FROM cb_device_revocation_log) AS BIGINT) AS n',
  );
  return 1n + rowBigint(rows[0]!, 'n');
}

/**
 * What the CB signed for a distribution, per signing key (by identity): the signatures are
 * deterministic (RFC 6979) over fixed bytes and the parts barely change from one sync to the next
 * (an epoch's issuer-key certificate, a policy version, a revocation list), so each is signed once
 * and served again byte for byte. Keyed by the SHA-256 of the exact bytes signed (a revocation list
 * runs to tens of kilobytes); emptied past SIGNED_PARTS_MAX.
 */
const signedParts = new WeakMap<Uint8Array, Map<string, Uint8Array>>();
const SIGNED_PARTS_MAX = 256;
const digest = (bytes: Uint8Array): string => bytesToHex(sha256(bytes));

function signedOnce(cbSecretKey: Uint8Array, what: string, sign: () => Uint8Array): Uint8Array {
  let parts = signedParts.get(cbSecretKey);
  if (parts === undefined) signedParts.set(cbSecretKey, (parts = new Map()));
  const known = parts.get(what);
  if (known !== undefined) return known;
  const signed = sign();
  if (parts.size >= SIGNED_PARTS_MAX) parts.clear();
  parts.set(what, signed);
  return signed;
}

/** The newest REVOCATION_LIST_MAX revoked nullifiers and newest revoked device keys, signed, for a device of `tier`. */
export async function buildDistribution(
  q: Queryable,
  args: { tier: number; nowMs: number; keys: IssuerKeys; cbSecretKey: Uint8Array },
): Promise<Distribution> {
  const policy = await latestPolicy(q);
  assert(policy !== undefined, 'distribution: the CB has no policy (open() stores one)');
  limitsFor(policy, args.tier);
  const epoch = currentEpoch(policy, args.tier, args.nowMs);
  const epochs = new Set<bigint>();
  for (const tier of TIERS) {
    const e = currentEpoch(policy, tier, args.nowMs);
    epochs.add(e).add(e + 1n);
  }
  const issuerKeys = [...epochs]
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .map((e) => {
      const publicKey = args.keys.forEpoch(e).publicKey.toBytes();
      const cert = signedOnce(args.cbSecretKey, `cert/${e}/${bytesToHex(publicKey)}`, () => signIssuerKeyCert(args.cbSecretKey, { epoch: e, publicKey }));
      return { epoch: e, publicKey, cert };
    });
  assert(issuerKeys.length <= ISSUER_KEYS_MAX, `distribution: ${issuerKeys.length} issuer keys, an SE holds ${ISSUER_KEYS_MAX}`);
  const rows = await q.query(
    `SELECT nullifier, created_ms FROM revocation_entries UNION ALL SELECT nullifier, created_ms FROM reclaims ORDER BY created_ms DESC, nullifier LIMIT ${REVOCATION_LIST_MAX}`,
  );
  const version = await revocationVersion(q);
  const nullifiers = rows.map((r) => rowBytes(r, 'nullifier'));
  const devices = await revokedDeviceKeys(q);
  const list: RevocationList = { version, epoch, nullifiers, devices };
  return {
    tier: args.tier,
    currentEpoch: epoch,
    policyVersion: policy.version,
    signedPolicy: signedOnce(args.cbSecretKey, `policy/${digest(encodePolicy(policy))}`, () => signPolicy(policy, args.cbSecretKey)),
    issuerKeys,
    revocationVersion: version,
    signedRevocationList: signedOnce(args.cbSecretKey, `revocation/${digest(encodeRevocationList(list))}`, () => signRevocationList(list, args.cbSecretKey)),
  };
}
