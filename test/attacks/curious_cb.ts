// The curious CB of the threat model: it holds every settled payment record (payment_evidence)
// and its K registry (cb_device_keys), and tries to name payers without any double spend. The
// attack is the tag-line recovery of DESIGN §3.4 run on every pair of records: if two tags lie on
// one line (same w and the same tag base), (R2·T1 − R1·T2)/(R2 − R1) is the payer's K, which the
// registry maps to a customer. Shared by the linking attack and the privacy measurement.

import { bytesToHex } from '@noble/hashes/utils.js';
import { contextScalar, decodePaymentProof, recoverDeviceKey, type G1Point } from '../../src/crypto/index.ts';
import { rowBytes, rowString, type Queryable } from '../../src/ledger/db/adapter.ts';
import { viewRecord } from '../../src/ledger/fi/payment_records.ts';

export interface EvidenceRow {
  paymentHash: string;
  epoch: bigint;
  N: string;
  T: G1Point;
  R: bigint;
}

/** Every payment record the CB keeps, decoded to the values the tag attack needs. */
export async function readEvidence(db: Queryable): Promise<EvidenceRow[]> {
  const rows = await db.query('SELECT record FROM payment_evidence ORDER BY payment_hash');
  return rows.map((r) => {
    const v = viewRecord(rowBytes(r, 'record'));
    if (!v.ok) throw new Error(`evidence does not decode: ${v.reason}`);
    const { statement } = decodePaymentProof(v.view.payment, v.view.context);
    return {
      paymentHash: bytesToHex(v.view.paymentHash),
      epoch: statement.epoch,
      N: bytesToHex(statement.N.toBytes()),
      T: statement.T,
      R: contextScalar(statement.context),
    };
  });
}

/** K point (hex) → customer, from the CB's registry. */
export async function readKeyRegistry(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.query('SELECT k_point, customer_id FROM cb_device_keys');
  return new Map(rows.map((r) => [bytesToHex(rowBytes(r, 'k_point')), rowString(r, 'customer_id')]));
}

/** payment hash → customer the tag-line attack names for it (pairs with different N only: no double spend). */
export function nameByTagLines(evidence: readonly EvidenceRow[], registry: ReadonlyMap<string, string>): Map<string, string> {
  const named = new Map<string, string>();
  for (let i = 0; i < evidence.length; i++) {
    for (let j = i + 1; j < evidence.length; j++) {
      const a = evidence[i]!;
      const b = evidence[j]!;
      if (a.N === b.N) continue; // a real double spend is the ledger's business, not an attack on privacy
      const rec = recoverDeviceKey({ T: a.T, R: a.R }, { T: b.T, R: b.R });
      if (!rec.ok) continue;
      const owner = registry.get(bytesToHex(rec.K.toBytes()));
      if (owner === undefined) continue;
      named.set(a.paymentHash, owner);
      named.set(b.paymentHash, owner);
    }
  }
  return named;
}
