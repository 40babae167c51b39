// Verifies a chunk of payment records: canonical decode of every proof, one batched check
// (verifyPaymentBatch: one MSM and one multi-pairing, bisection on failure) and Σ C_a over the
// chunk. Runs inside a verification worker (verify_worker.ts) or in-thread when no pool is used;
// the inputs are plain bytes so they cross a worker boundary without copying objects.

import {
  CryptoDecodeError,
  G1Point,
  G2Point,
  decodePaymentProof,
  seededRng,
  systemRng,
  verifyPaymentBatch,
  warmUpPaymentVerifier,
  type PaymentBatchItem,
  type Rng,
} from '../../crypto/index.ts';
import { viewRecord } from '../fi/payment_records.ts';

export interface VerifyItem {
  record: Uint8Array;
  /** BBS issuer key (G2) of the payment's epoch, as the CB certified it. */
  issuerKey: Uint8Array;
  capMinor: bigint;
  paymentsPerEpoch: number;
}

export interface VerifyChunk {
  items: VerifyItem[];
  regulatorKey: Uint8Array;
  /** Optional seed for the batch weights (tests); production uses system randomness. */
  seed?: string;
}

export interface VerifyChunkResult {
  /** Indexes (in the chunk) of records that did not decode or did not verify. */
  failed: number[];
  /** Σ C_a over the chunk (compressed G1; the identity encoding when empty). */
  sumCa: Uint8Array;
}

const g2Cache = new Map<string, G2Point>();
function g2(bytes: Uint8Array): G2Point {
  const key = Buffer.from(bytes).toString('hex');
  let p = g2Cache.get(key);
  if (p === undefined) {
    p = G2Point.fromBytes(bytes);
    if (g2Cache.size > 64) g2Cache.clear();
    g2Cache.set(key, p);
  }
  return p;
}

export function verifyChunk(chunk: VerifyChunk): VerifyChunkResult {
  // An empty chunk is the pool's warm-up: hash the fixed generators now, not in the first batch.
  if (chunk.items.length === 0) warmUpPaymentVerifier();
  const rng: Rng = chunk.seed === undefined ? systemRng : seededRng(chunk.seed);
  const failed: number[] = [];
  const items: PaymentBatchItem[] = [];
  const positions: number[] = [];
  let sum = G1Point.IDENTITY;
  let regulatorKey: G1Point;
  try {
    regulatorKey = G1Point.fromBytes(chunk.regulatorKey);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    return { failed: chunk.items.map((_, i) => i), sumCa: G1Point.IDENTITY.toBytes() };
  }
  chunk.items.forEach((it, i) => {
    const v = viewRecord(it.record);
    if (!v.ok) return void failed.push(i);
    try {
      const { statement, proof } = decodePaymentProof(v.view.payment, v.view.context);
      const params = { issuerKey: g2(it.issuerKey), regulatorKey, capMinor: it.capMinor, paymentsPerEpoch: it.paymentsPerEpoch };
      items.push({ params, statement, proof });
      positions.push(i);
      sum = sum.add(statement.C_a);
    } catch (e) {
      if (!(e instanceof CryptoDecodeError)) throw e;
      failed.push(i);
    }
  });
  const checked = verifyPaymentBatch(items, rng);
  for (const j of checked.failed) failed.push(positions[j]!);
  failed.sort((a, b) => a - b);
  return { failed, sumCa: sum.toBytes() };
}
