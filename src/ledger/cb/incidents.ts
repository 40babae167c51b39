// Double-spend incidents at the CB (DESIGN §3.4). When the registry reports a conflict (a second,
// different payment with a registered nullifier, or the same payment from another uploader), the
// CB re-verifies every payment recorded for that nullifier, each under the policy version its own
// context names (so a later policy change cannot make old proofs fail), and tries the recovery
// K = (R2·T1 − R1·T2)/(R2 − R1) on every pair of verified records with different contexts until
// one K maps, through the registry, to an FI, customer and device. It then blocks the customer from
// new credentials and puts the nullifier on the revocation list. Why every pair and every time: a
// first conflict that names no one (two payments under one context, a record that no longer
// verifies) must never decide the incident for good; the next record for that N tries again and
// the incident is updated once it succeeds. A forged record never frames anyone: only verified
// records enter recovery. A same-context pair names the payee that uploaded it instead, since an
// honest payee SE never issues one context twice. One incident per (epoch, nullifier).

import { bytesToHex } from '@noble/hashes/utils.js';
import {
  CryptoDecodeError,
  G1Point,
  contextScalar,
  decodePaymentProof,
  recoverDeviceKey,
  systemRng,
  verifyPayment,
  type PaymentStatement,
} from '../../crypto/index.ts';
import { limitsFor, worstCaseLossPerEpochMinor, type PolicyTable } from '../../policy/limits.ts';
import { parsePaymentContext } from '../../protocol/session.ts';
import { rowBigint, rowBytes, rowNullableString, rowString, type Queryable, type Tx } from '../db/adapter.ts';
import type { IssuerKeys } from './issuer_keys.ts';
import { viewRecord } from '../fi/payment_records.ts';

export interface Incident {
  id: string;
  epoch: bigint;
  nullifier: Uint8Array;
  /** The pair of payments that decided the incident (that named the payer, when one did). */
  firstPaymentHash: Uint8Array;
  secondPaymentHash: Uint8Array;
  tier: number;
  /** L × cap(t): the most one broken SE of this tier can spend in the epoch. */
  exposureMinor: bigint;
  /** Recovered device key and who it belongs to; null while no verified pair names anyone. */
  kPoint: Uint8Array | null;
  fiId: string | null;
  customerId: string | null;
  deviceId: Uint8Array | null;
  /** The payee device that uploaded a same-context pair or another device's payment; else null. */
  uploaderFiId: string | null;
  uploaderDeviceId: Uint8Array | null;
}

export interface IncidentContext {
  keys: IssuerKeys;
  regulatorKey: G1Point;
  /** The policy in force now (the exposure an incident reports). */
  policy: PolicyTable;
  /** The published policy of a version, or undefined if there is none (each proof is checked under its own). */
  policyAt: (version: bigint) => Promise<PolicyTable | undefined>;
  nowMs: number;
}

export interface Uploader {
  fiId: string;
  deviceId: Uint8Array | null;
}

interface Evidence extends Uploader {
  paymentHash: Uint8Array;
  record: Uint8Array;
}

interface Verified extends Evidence {
  statement: PaymentStatement;
  R: bigint;
}

async function evidenceOf(tx: Tx, epoch: bigint, nullifier: Uint8Array): Promise<Evidence[]> {
  const rows = await tx.query(
    'SELECT payment_hash, record, fi_id, device_id FROM payment_evidence WHERE epoch = $1 AND nullifier = $2 ORDER BY created_ms, payment_hash',
    [epoch, nullifier],
  );
  return rows.map((r) => ({
    paymentHash: rowBytes(r, 'payment_hash'),
    record: rowBytes(r, 'record'),
    fiId: rowString(r, 'fi_id'),
    deviceId: r['device_id'] === null ? null : rowBytes(r, 'device_id'),
  }));
}

/** Decodes and verifies one record under the CB's keys and the policy its context names. */
async function verifiedStatement(record: Uint8Array, c: IncidentContext): Promise<PaymentStatement | undefined> {
  const v = viewRecord(record);
  if (!v.ok) return undefined;
  const fields = parsePaymentContext(v.view.context);
  const policy = fields === undefined ? undefined : await c.policyAt(fields.policyVersion);
  if (policy === undefined) return undefined;
  try {
    const { statement, proof } = decodePaymentProof(v.view.payment, v.view.context);
    if (!(policy.tiers as Record<number, unknown>)[statement.tier]) return undefined;
    const limits = limitsFor(policy, statement.tier);
    const params = {
      issuerKey: c.keys.forEpoch(statement.epoch).publicKey,
      regulatorKey: c.regulatorKey,
      capMinor: limits.capMinor,
      paymentsPerEpoch: limits.paymentsPerEpoch,
    };
    return verifyPayment(params, statement, proof, systemRng).ok ? statement : undefined;
  } catch (e) {
    if (e instanceof CryptoDecodeError) return undefined;
    throw e;
  }
}

async function ownerOfKey(tx: Tx, K: Uint8Array): Promise<{ fiId: string; customerId: string; deviceId: Uint8Array } | undefined> {
  const rows = await tx.query('SELECT fi_id, customer_id, device_id FROM cb_device_keys WHERE k_point = $1', [K]);
  if (rows.length === 0) return undefined;
  return { fiId: rowString(rows[0]!, 'fi_id'), customerId: rowString(rows[0]!, 'customer_id'), deviceId: rowBytes(rows[0]!, 'device_id') };
}

type Attribution =
  | { kind: 'payer'; first: Verified; second: Verified; kPoint: Uint8Array; owner: NonNullable<Awaited<ReturnType<typeof ownerOfKey>>> }
  | { kind: 'payee'; first: Verified; second: Verified }
  | { kind: 'none' };

/** Every pair of verified records: the first whose recovered K is registered names the payer. */
async function attribute(tx: Tx, verified: readonly Verified[]): Promise<Attribution> {
  let sameContext: Attribution = { kind: 'none' };
  for (let j = 1; j < verified.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [verified[i]!, verified[j]!];
      const rec = recoverDeviceKey({ T: a.statement.T, R: a.R }, { T: b.statement.T, R: b.R });
      if (!rec.ok) {
        if (sameContext.kind === 'none') sameContext = { kind: 'payee', first: a, second: b };
        continue;
      }
      const kPoint = rec.K.toBytes();
      const owner = await ownerOfKey(tx, kPoint);
      if (owner !== undefined) return { kind: 'payer', first: a, second: b, kPoint, owner };
    }
  }
  return sameContext;
}

interface IncidentRow {
  pair: { first: Uint8Array; second: Uint8Array };
  kPoint: Uint8Array | null;
  owner: { fiId: string; customerId: string; deviceId: Uint8Array } | undefined;
  uploader: Uploader | undefined;
  tier: number;
}

/** Re-verifies every record of the nullifier and tries every pair (see the file comment). */
async function attributeConflict(
  tx: Tx,
  conflict: { epoch: bigint; nullifier: Uint8Array; paymentHash: Uint8Array; foreignUpload?: Uploader },
  c: IncidentContext,
): Promise<IncidentRow> {
  const evidence = await evidenceOf(tx, conflict.epoch, conflict.nullifier);
  const verified: Verified[] = [];
  for (const e of evidence) {
    const statement = await verifiedStatement(e.record, c);
    if (statement !== undefined) verified.push({ ...e, statement, R: contextScalar(statement.context) });
  }
  const found = await attribute(tx, verified);
  const newest = evidence.find((e) => bytesToHex(e.paymentHash) === bytesToHex(conflict.paymentHash)) ?? evidence.at(-1);
  const pair = found.kind === 'none' ? { first: evidence[0], second: newest } : found;
  return {
    pair: { first: pair.first?.paymentHash ?? conflict.paymentHash, second: pair.second?.paymentHash ?? conflict.paymentHash },
    kPoint: found.kind === 'payer' ? found.kPoint : null,
    owner: found.kind === 'payer' ? found.owner : undefined,
    uploader: found.kind === 'payee' ? found.second : found.kind === 'none' ? conflict.foreignUpload : undefined,
    tier: verified[0]?.statement.tier ?? viewTier(newest?.record) ?? 0,
  };
}

/**
 * Opens the incident for a conflict on (epoch, nullifier), or retries attribution on the one that
 * is open and names no payer yet, inside the registering transaction. `foreignUpload` names the
 * uploader of a payment that another device had already uploaded.
 */
export async function recordConflict(
  tx: Tx,
  conflict: { epoch: bigint; nullifier: Uint8Array; paymentHash: Uint8Array; foreignUpload?: Uploader },
  c: IncidentContext,
): Promise<Incident> {
  const id = `inc_${conflict.epoch}_${bytesToHex(conflict.nullifier).slice(0, 32)}`;
  const [existing] = await listIncidents(tx, id);
  if (existing !== undefined && existing.customerId !== null) return existing;
  const row = await attributeConflict(tx, conflict, c);
  const { owner, uploader } = row;
  const now = BigInt(c.nowMs);
  const values = [
    row.pair.first, row.pair.second, row.kPoint, owner?.fiId ?? null, owner?.customerId ?? null, owner?.deviceId ?? null,
    uploader?.fiId ?? existing?.uploaderFiId ?? null, uploader?.deviceId ?? existing?.uploaderDeviceId ?? null,
  ];
  if (existing === undefined) {
    const tiers = c.policy.tiers as Record<number, unknown>;
    const exposureMinor = tiers[row.tier] ? worstCaseLossPerEpochMinor(limitsFor(c.policy, row.tier)) : 0n;
    await tx.run(
      'INSERT INTO incidents (id, epoch, nullifier, tier, exposure_minor, created_ms, first_payment_hash, second_payment_hash, ' +
        'k_point, fi_id, customer_id, device_id, uploader_fi_id, uploader_device_id) ' +
        'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING', // a racing registration may open it first
      [id, conflict.epoch, conflict.nullifier, BigInt(row.tier), exposureMinor, now, ...values],
    );
  } else if (owner !== undefined || uploader !== undefined) {
    await tx.run(
      'UPDATE incidents SET first_payment_hash = $2, second_payment_hash = $3, k_point = $4, fi_id = $5, customer_id = $6, device_id = $7, ' +
        'uploader_fi_id = $8, uploader_device_id = $9 WHERE id = $1 AND customer_id IS NULL',
      [id, ...values],
    );
  }
  if (owner !== undefined) {
    await tx.run(
      'INSERT INTO blocked_customers (fi_id, customer_id, incident_id, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (fi_id, customer_id) DO NOTHING',
      [owner.fiId, owner.customerId, id, now],
    );
  }
  await tx.run(
    'INSERT INTO revocation_entries (epoch, nullifier, incident_id, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (epoch, nullifier) DO NOTHING',
    [conflict.epoch, conflict.nullifier, id, now],
  );
  const [incident] = await listIncidents(tx, id);
  return incident!;
}

function viewTier(record: Uint8Array | undefined): number | undefined {
  if (record === undefined) return undefined;
  const v = viewRecord(record);
  return v.ok ? v.view.tier : undefined;
}

export async function listIncidents(q: Queryable, id?: string): Promise<Incident[]> {
  const rows = await q.query(
    'SELECT id, epoch, nullifier, first_payment_hash, second_payment_hash, tier, exposure_minor, k_point, fi_id, customer_id, device_id, ' +
      'uploader_fi_id, uploader_device_id ' +
      `FROM incidents${id === undefined ? '' : ' WHERE id = $1'} ORDER BY created_ms, id`,
    id === undefined ? [] : [id],
  );
  return rows.map((r) => ({
    id: rowString(r, 'id'),
    epoch: rowBigint(r, 'epoch'),
    nullifier: rowBytes(r, 'nullifier'),
    firstPaymentHash: rowBytes(r, 'first_payment_hash'),
    secondPaymentHash: rowBytes(r, 'second_payment_hash'),
    tier: Number(rowBigint(r, 'tier')),
    exposureMinor: rowBigint(r, 'exposure_minor'),
    kPoint: r['k_point'] === null ? null : rowBytes(r, 'k_point'),
    fiId: rowNullableString(r, 'fi_id'),
    customerId: rowNullableString(r, 'customer_id'),
    deviceId: r['device_id'] === null ? null : rowBytes(r, 'device_id'),
    uploaderFiId: rowNullableString(r, 'uploader_fi_id'),
    uploaderDeviceId: r['uploader_device_id'] === null ? null : rowBytes(r, 'uploader_device_id'),
  }));
}
