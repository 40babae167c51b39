// Exactly-once compliance desk writes (cases, notes, alert assignments and resolutions): the same
// Idempotency-Key and the same request answer the first answer again and write nothing; the same
// key with another request is IDEMPOTENCY_MISMATCH (book/idempotency.ts). The desk's functions
// open their own transaction on a Db; here they run inside the key's transaction instead, through
// a Db whose transaction() is that transaction, so the key row, the change and its compliance log
// entry commit together or not at all.

import { AssertionError } from '../../crypto/assert.ts';
import { idempotent } from '../book/idempotency.ts';
import type { Db, Tx } from '../db/adapter.ts';

/** A Db view of an open transaction: transaction(fn) runs fn in it (a retry reruns the outer one). */
export function withinTransaction(tx: Tx): Db {
  return {
    dialect: tx.dialect,
    query: (sql, params) => tx.query(sql, params),
    run: (sql, params) => tx.run(sql, params),
    transaction: (fn) => fn(tx),
    exec: () => Promise.reject(new AssertionError('exec inside a keyed desk write')),
    close: () => Promise.reject(new AssertionError('close inside a keyed desk write')),
  };
}

/**
 * Runs a desk write once per key: `request` is everything that decides the write (the actor too,
 * so another operator's request under the same key is refused, not answered).
 */
export async function keyed<T>(db: Db, nowMs: number, key: string, operation: string, request: unknown, body: (db: Db) => Promise<T>): Promise<T> {
  return (await idempotent(db, nowMs, key, operation, request, (tx) => body(withinTransaction(tx)))).value;
}
