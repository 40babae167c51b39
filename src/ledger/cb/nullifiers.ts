// The CB's nullifier registry. UNIQUE(epoch, nullifier) lives in the database and every insert is
// `INSERT ... ON CONFLICT DO NOTHING`: whichever transaction commits first wins, with no
// read-then-write window. A nullifier that is already there is either the same payment again (a
// retried sync: harmless, reported as a duplicate) or a different payment with the same nullifier
// (a double spend: recorded in nullifier_conflicts with both payment hashes and reported).

import { assert } from '../../crypto/assert.ts';
import { rowBytes, type Db, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { NULLIFIER_BATCH_MAX, NULLIFIER_BYTES, PAYMENT_HASH_BYTES, SQL_BIGINT_MAX } from '../limits.ts';

export interface NullifierRecord {
  epoch: bigint;
  /** Compressed G1 point, NULLIFIER_BYTES long. */
  nullifier: Uint8Array;
  /** Hash of the payment that spent it, PAYMENT_HASH_BYTES long. */
  paymentHash: Uint8Array;
}

export type NullifierOutcome = 'inserted' | 'duplicate' | 'conflict';

export interface NullifierConflict {
  /** Position in the batch. */
  index: number;
  epoch: bigint;
  nullifier: Uint8Array;
  /** The payment in this batch. */
  paymentHash: Uint8Array;
  /** The payment that registered the nullifier first. */
  existingPaymentHash: Uint8Array;
}

export interface NullifierInsertResult {
  /** One outcome per batch item, in batch order. */
  outcomes: NullifierOutcome[];
  inserted: number;
  duplicates: number;
  conflicts: NullifierConflict[];
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A test seam for the fleet simulator's planted-bug test (test/sim/): when set, a second payment
 * with a registered nullifier is waved through as a retried duplicate instead of being recorded
 * as a double spend. Nothing outside that test sets it; the simulator must notice the missing
 * incident and print the seed that shows it.
 */
export const nullifierTestSeam = { ignoreConflicts: false };

/** Refuses a malformed batch before anything is written (BAD_REQUEST). */
export function checkNullifierBatch(batch: readonly NullifierRecord[]): void {
  if (batch.length === 0 || batch.length > NULLIFIER_BATCH_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Nullifier batch must hold 1..${NULLIFIER_BATCH_MAX} items (got ${batch.length})`);
  }
  batch.forEach((r, i) => {
    const bad = (what: string): never => {
      throw new LedgerError(LedgerErrorCode.badRequest, `Nullifier batch item ${i}: ${what}`);
    };
    if (typeof r.epoch !== 'bigint' || r.epoch < 0n || r.epoch > SQL_BIGINT_MAX) bad(`epoch must be a bigint in 0..2^63-1 (got ${String(r.epoch)})`);
    if (!(r.nullifier instanceof Uint8Array) || r.nullifier.length !== NULLIFIER_BYTES) bad(`nullifier must be ${NULLIFIER_BYTES} bytes (got ${r.nullifier?.length})`);
    if (!(r.paymentHash instanceof Uint8Array) || r.paymentHash.length !== PAYMENT_HASH_BYTES) bad(`payment hash must be ${PAYMENT_HASH_BYTES} bytes (got ${r.paymentHash?.length})`);
  });
}

/** Inserts a checked batch inside the caller's transaction. */
export async function insertNullifiersTx(tx: Tx, nowMs: number, batch: readonly NullifierRecord[]): Promise<NullifierInsertResult> {
  checkNullifierBatch(batch);
  const result: NullifierInsertResult = { outcomes: [], inserted: 0, duplicates: 0, conflicts: [] };
  const now = BigInt(nowMs);
  for (const [index, r] of batch.entries()) {
    const changed = await tx.run(
      'INSERT INTO nullifiers (epoch, nullifier, payment_hash, created_ms) VALUES ($1, $2, $3, $4) ' +
        'ON CONFLICT (epoch, nullifier) DO NOTHING',
      [r.epoch, r.nullifier, r.paymentHash, now],
    );
    if (changed === 1) {
      result.outcomes.push('inserted');
      result.inserted++;
      continue;
    }
    const rows = await tx.query('SELECT payment_hash FROM nullifiers WHERE epoch = $1 AND nullifier = $2', [r.epoch, r.nullifier]);
    assert(rows.length === 1, `nullifier (epoch ${r.epoch}) conflicted but is not in the registry exactly once (${rows.length} rows)`);
    const existing = rowBytes(rows[0]!, 'payment_hash');
    if (equalBytes(existing, r.paymentHash) || nullifierTestSeam.ignoreConflicts) {
      result.outcomes.push('duplicate');
      result.duplicates++;
      continue;
    }
    await tx.run(
      'INSERT INTO nullifier_conflicts (epoch, nullifier, first_payment_hash, second_payment_hash, detected_ms) ' +
        'VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [r.epoch, r.nullifier, existing, r.paymentHash, now],
    );
    result.outcomes.push('conflict');
    result.conflicts.push({ index, epoch: r.epoch, nullifier: r.nullifier, paymentHash: r.paymentHash, existingPaymentHash: existing });
  }
  assert(result.outcomes.length === batch.length, 'one outcome per nullifier');
  assert(result.inserted + result.duplicates + result.conflicts.length === batch.length, 'outcome counts add up');
  return result;
}

/** Inserts a batch in one transaction (the fast path the benchmark measures). */
export function insertNullifiers(db: Db, nowMs: number, batch: readonly NullifierRecord[]): Promise<NullifierInsertResult> {
  checkNullifierBatch(batch);
  return db.transaction((tx) => insertNullifiersTx(tx, nowMs, batch));
}

export interface RecordedConflict {
  epoch: bigint;
  nullifier: Uint8Array;
  firstPaymentHash: Uint8Array;
  secondPaymentHash: Uint8Array;
}

/** Every double spend recorded so far (input to the incident handling that comes later). */
export async function listNullifierConflicts(db: Pick<Db, 'query'>): Promise<RecordedConflict[]> {
  const rows = await db.query(
    'SELECT epoch, nullifier, first_payment_hash, second_payment_hash FROM nullifier_conflicts ORDER BY epoch, nullifier, second_payment_hash',
  );
  return rows.map((row) => ({
    epoch: row['epoch'] as bigint,
    nullifier: rowBytes(row, 'nullifier'),
    firstPaymentHash: rowBytes(row, 'first_payment_hash'),
    secondPaymentHash: rowBytes(row, 'second_payment_hash'),
  }));
}
