// Double-spend incidents at the CB (DESIGN §3.4). When the registry reports a conflict (a second,
// different payment with a registered nullifier), the CB re-verifies both payments' proofs (so a
// forged record can never frame anyone), recovers K = (R2·T1 − R1·T2)/(R2 − R1) from their tags,
// maps K to the FI, customer and device through its registry, blocks the customer from new
// credentials, and puts the nullifier on the revocation list. The incident row keeps both payment
// hashes; payment_evidence keeps both records. One incident per (epoch, nullifier): a third spend
// of the same counter adds evidence, not a second incident.

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
} from '../crypto/index.ts';
import { limitsFor, worstCaseLossPerEpochMinor, type PolicyTable } from '../policy/limits.ts';
import { rowBigint, rowBytes, rowNullableString, rowString, type Queryable, type Tx } from './db/adapter.ts';
import type { IssuerKeys } from './issuer_keys.ts';
import { viewRecord } from './payment_records.ts';

export interface Incident {
  id: string;
  epoch: bigint;
  nullifier: Uint8Array;
  firstPaymentHash: Uint8Array;
  secondPaymentHash: Uint8Array;
  tier: number;
  /** L × cap(t): the most one broken SE of this tier can spend in the epoch. */
  exposureMinor: bigint;
  /** Recovered device key and who it belongs to; null when the proofs did not both verify. */
  kPoint: Uint8Array | null;
  fiId: string | null;
  customerId: string | null;
  deviceId: Uint8Array | null;
}

export interface IncidentContext {
  keys: IssuerKeys;
  regulatorKey: G1Point;
  policy: PolicyTable;
  nowMs: number;
}

async function evidenceRecord(tx: Tx, paymentHash: Uint8Array): Promise<Uint8Array | undefined> {
  const rows = await tx.query('SELECT record FROM payment_evidence WHERE payment_hash = $1', [paymentHash]);
  return rows.length === 0 ? undefined : rowBytes(rows[0]!, 'record');
}

/** Decodes and verifies one record under the CB's own keys and policy; undefined if it fails. */
function verifiedStatement(record: Uint8Array, c: IncidentContext): PaymentStatement | undefined {
  const v = viewRecord(record);
  if (!v.ok) return undefined;
  try {
    const { statement, proof } = decodePaymentProof(v.view.payment, v.view.context);
    const limits = limitsFor(c.policy, statement.tier);
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

/** Opens (or finds) the incident for a conflict inside the registering transaction. */
export async function openIncident(
  tx: Tx,
  conflict: { epoch: bigint; nullifier: Uint8Array; firstPaymentHash: Uint8Array; secondPaymentHash: Uint8Array },
  c: IncidentContext,
): Promise<Incident> {
  const id = `inc_${conflict.epoch}_${bytesToHex(conflict.nullifier).slice(0, 32)}`;
  const existing = await listIncidents(tx, id);
  if (existing.length === 1) return existing[0]!;
  const first = await evidenceRecord(tx, conflict.firstPaymentHash);
  const second = await evidenceRecord(tx, conflict.secondPaymentHash);
  const s1 = first === undefined ? undefined : verifiedStatement(first, c);
  const s2 = second === undefined ? undefined : verifiedStatement(second, c);
  let kPoint: Uint8Array | null = null;
  let owner: Awaited<ReturnType<typeof ownerOfKey>>;
  if (s1 !== undefined && s2 !== undefined) {
    const recovered = recoverDeviceKey({ T: s1.T, R: contextScalar(s1.context) }, { T: s2.T, R: contextScalar(s2.context) });
    if (recovered.ok) {
      kPoint = recovered.K.toBytes();
      owner = await ownerOfKey(tx, kPoint);
    }
  }
  const tier = s2?.tier ?? s1?.tier ?? viewTier(second) ?? 0;
  const exposureMinor = worstCaseLossPerEpochMinor(limitsFor(c.policy, tier));
  const now = BigInt(c.nowMs);
  await tx.run(
    'INSERT INTO incidents (id, epoch, nullifier, first_payment_hash, second_payment_hash, tier, exposure_minor, k_point, fi_id, customer_id, device_id, created_ms) ' +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING', // a racing registration may open it first
    [id, conflict.epoch, conflict.nullifier, conflict.firstPaymentHash, conflict.secondPaymentHash, BigInt(tier), exposureMinor,
      kPoint, owner?.fiId ?? null, owner?.customerId ?? null, owner?.deviceId ?? null, now],
  );
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
    'SELECT id, epoch, nullifier, first_payment_hash, second_payment_hash, tier, exposure_minor, k_point, fi_id, customer_id, device_id ' +
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
  }));
}
