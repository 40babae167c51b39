// Exactly-once effects for every state-changing request. The key row is inserted first, in the
// same transaction as the effect (`INSERT ... ON CONFLICT DO NOTHING` on a PRIMARY KEY, never a
// read-then-write): a concurrent copy of the request blocks on the key until the first commits,
// then finds its row and returns the stored answer. Typed refusals (insufficient funds, ...) are
// answers too and are stored, so a retry gets the same refusal; the effect itself runs under a
// savepoint so a refusal raised mid-way leaves nothing behind but the key and its answer.

import { assert } from '../../crypto/assert.ts';
import { decodeTagged, encodeTagged, requestHash } from '../codec.ts';
import { rowNullableString, rowString, type Db, type Tx } from '../db/adapter.ts';
import { isLedgerErrorCode, LedgerError, LedgerErrorCode } from '../errors.ts';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../limits.ts';

type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Thrown-away at the edge: tells the caller whether an answer was replayed. */
export interface IdempotentResult<T> {
  value: T;
  replayed: boolean;
}

export function checkIdempotencyKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX || !/^[\x21-\x7e]+$/.test(key)) {
    throw new LedgerError(
      LedgerErrorCode.badRequest,
      `Idempotency key must be 1..${IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters without spaces ` +
        `(got ${typeof key === 'string' ? `${key.length} characters` : typeof key})`,
    );
  }
  return key;
}

function fromOutcome<T>(outcome: Outcome): T {
  if (outcome.ok) return outcome.value as T;
  assert(isLedgerErrorCode(outcome.code), `stored answer has unknown error code ${outcome.code}`);
  throw new LedgerError(outcome.code, outcome.message);
}

async function runUnderSavepoint(tx: Tx, body: (tx: Tx) => Promise<unknown>): Promise<Outcome> {
  await tx.run('SAVEPOINT idempotent_effect');
  try {
    const value = await body(tx);
    await tx.run('RELEASE SAVEPOINT idempotent_effect');
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    await tx.run('ROLLBACK TO SAVEPOINT idempotent_effect');
    await tx.run('RELEASE SAVEPOINT idempotent_effect');
    return { ok: false, code: err.code, message: err.message };
  }
}

/**
 * Runs body at most once per key, in one transaction with the key's row. Same key and same
 * (operation, request) → the stored answer; same key and anything else → IDEMPOTENCY_MISMATCH.
 */
export async function idempotent<T>(
  db: Db,
  nowMs: number,
  key: string,
  operation: string,
  request: unknown,
  body: (tx: Tx) => Promise<T>,
): Promise<IdempotentResult<T>> {
  checkIdempotencyKey(key);
  const hash = requestHash(operation, request);
  const result = await db.transaction(async (tx) => {
    const inserted = await tx.run(
      'INSERT INTO idempotency_keys (idem_key, request_hash, response, created_ms) VALUES ($1, $2, NULL, $3) ' +
        'ON CONFLICT (idem_key) DO NOTHING',
      [key, hash, BigInt(nowMs)],
    );
    if (inserted === 0) {
      const rows = await tx.query('SELECT request_hash, response FROM idempotency_keys WHERE idem_key = $1', [key]);
      assert(rows.length === 1, `idempotency key ${key} conflicted but cannot be read back`);
      const response = rowNullableString(rows[0]!, 'response');
      assert(response !== null, `idempotency key ${key} is committed without an answer`);
      const mismatch = rowString(rows[0]!, 'request_hash') !== hash;
      return { outcome: decodeTagged(response) as Outcome, replayed: true, mismatch };
    }
    const outcome = await runUnderSavepoint(tx, body);
    const stored = await tx.run('UPDATE idempotency_keys SET response = $1 WHERE idem_key = $2', [encodeTagged(outcome), key]);
    assert(stored === 1, `answer for idempotency key ${key} was not stored`);
    return { outcome, replayed: false, mismatch: false };
  });
  if (result.mismatch) {
    throw new LedgerError(
      LedgerErrorCode.idempotencyMismatch,
      `Idempotency key ${key} was already used for a different ${operation} request (or another operation)`,
    );
  }
  return { value: fromOutcome<T>(result.outcome), replayed: result.replayed };
}
