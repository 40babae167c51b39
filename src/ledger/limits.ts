// Every bound the ledger enforces, in one place, with what it costs. Money is bigint minor units;
// the limits keep every balance well inside SQL BIGINT (signed 64-bit) so no sum can overflow in
// either engine (SQLite silently turns an overflowing integer sum into a float; PostgreSQL raises).

import { assert } from '../crypto/assert.ts';

/** Largest amount one request may move: 10^13 currency units at 100 minor units each. */
export const AMOUNT_MAX_MINOR = 10n ** 15n;

/** Largest absolute balance any account may reach (2^62): leaves head-room below BIGINT for sums. */
export const BALANCE_ABS_MAX_MINOR = 2n ** 62n;

/**
 * Largest running total of one FI's moves into (or out of) circulation at the CB
 * (book/circulation_totals.ts, CHECKed by migration 020): lifetime sums, so 2^62 minor units
 * (~4.6·10^16 currency units) is centuries of any FI's funding; one more leg cannot overflow BIGINT.
 */
export const CIRCULATION_TOTAL_MAX_MINOR = 2n ** 62n;

/** SQL BIGINT range; every stored integer must fit. */
export const SQL_BIGINT_MIN = -(2n ** 63n);
export const SQL_BIGINT_MAX = 2n ** 63n - 1n;

/** Idempotency keys: printable ASCII, 1..128 bytes (a UUID is 36; a derived saga key ~80). */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 128;

/** Attempts for a transaction that lost a serialization race or deadlock before giving up. */
export const TRANSACTION_ATTEMPTS_MAX = 8;

/** First back-off after a serialization failure; doubles per attempt (8 attempts ≤ ~0.3 s). */
export const TRANSACTION_BACKOFF_MS = 2;

/** Nullifiers per insertNullifiers call: one SQLite transaction of this many rows takes ~20 ms. */
export const NULLIFIER_BATCH_MAX = 4096;

/** A nullifier is a compressed G1 point (48 bytes); a payment hash is SHA-256 (32 bytes). */
export const NULLIFIER_BYTES = 48;
export const PAYMENT_HASH_BYTES = 32;

/** KYC identity record: JSON text, bounded so a customer row stays small. */
export const IDENTITY_JSON_BYTES_MAX = 4096;

/** Free-text identifiers (FI ids, references): 1..64 chars of [A-Za-z0-9_.:-]. */
export const NAME_LENGTH_MAX = 64;

/** Entries per journal transaction: the operations here post 2; sync batches may post more. */
export const JOURNAL_ENTRIES_MAX = 64;

/** Violations an audit returns per category (the counts are always complete). */
export const AUDIT_ROWS_MAX = 100;

assert(AMOUNT_MAX_MINOR < BALANCE_ABS_MAX_MINOR, 'one amount must fit in a balance');
assert(BALANCE_ABS_MAX_MINOR * 2n <= SQL_BIGINT_MAX + 1n, 'two balances must sum inside BIGINT');
assert(CIRCULATION_TOTAL_MAX_MINOR + AMOUNT_MAX_MINOR <= SQL_BIGINT_MAX, 'a circulation total plus one leg must fit in BIGINT (the CHECK refuses it, no overflow)');
assert(JOURNAL_ENTRIES_MAX >= 2, 'a journal transaction needs at least two entries');

/** HTTP request bodies: a full nullifier batch in hex JSON is ~0.8 MB. */
export const HTTP_BODY_BYTES_MAX = 2 * 1024 * 1024;

/**
 * An answer the FI's TLS client of its CB reads (tls/client.ts): a node answers at most an echo of
 * a full request plus its own fields, so 4× a request body is ample; a longer answer is dropped
 * unread rather than buffered without end.
 */
export const HTTP_ANSWER_BYTES_MAX = 4 * HTTP_BODY_BYTES_MAX;

/**
 * Array/object nesting of a request body: the deepest route body (sync's reclaim claims) is 3; a
 * KYC identity record may nest a little. Checked on the raw text before parsing, so a body of a
 * million brackets is refused in one pass and never reaches a recursive walk.
 */
export const HTTP_JSON_DEPTH_MAX = 16;

/** Payments per sync batch: the SE's whole receipt log (RECEIPT_LOG_ENTRIES_MAX, DESIGN §8). */
export const SYNC_PAYMENTS_MAX = 256;

/** Unload records a sync may carry before its batch (a terminal defunds once per sync). */
export const SYNC_UNLOADS_MAX = 16;

/** Verification worker threads per FI: one per core of the 2-core target machine. */
export const VERIFY_WORKERS_DEFAULT = 2;

/** Payments one worker verifies per message: one MSM + one multi-pairing per chunk. */
export const VERIFY_CHUNK_MAX = 128;
/**
 * Chunks a batch is cut into per worker, so a worker that finishes early (the other shares its core
 * with the main thread or another process) takes the next chunk instead of idling at the end.
 * Each chunk pays ~70 shared MSM bases, one final exponentiation and one cofactor clearing: at 32
 * payments that is ~2 % of the chunk.
 */
export const VERIFY_CHUNKS_PER_WORKER = 4;
/** Smallest chunk worth a message (below it the per-chunk costs above pass ~5 %). */
export const VERIFY_CHUNK_MIN = 16;

/** Revoked nullifiers per published list (the SE's list bound, policy_codec REVOCATION_NULLIFIERS_MAX). */
export const REVOCATION_LIST_MAX = 1024;
/**
 * Revoked device keys per published list and per freeze report (policy_codec REVOCATION_DEVICES_MAX):
 * the newest are listed; an older one beyond it still gets no credential and stops at its expiry.
 */
export const REVOCATION_DEVICES_LIST_MAX = 256;
/** A freeze or unfreeze reason: 1..500 characters, kept in fi_freeze_log for the supervisor. */
export const FREEZE_REASON_CHARS_MAX = 500;

assert(SYNC_PAYMENTS_MAX <= NULLIFIER_BATCH_MAX, 'one sync batch must fit one nullifier batch');
assert(VERIFY_CHUNK_MIN >= 1 && VERIFY_CHUNK_MIN <= VERIFY_CHUNK_MAX, 'verification chunk bounds must be ordered');

/**
 * Hash partitions of the CB's nullifier-keyed tables on PostgreSQL (db/partition.ts), when a
 * deployment opts in. Every registry statement names its nullifier, so it touches one partition
 * (and that partition's index); a registration of a full sync batch touches up to
 * min(SYNC_PAYMENTS_MAX, N) of them and holds about two locks per partition touched until it
 * commits. 16 keeps each partition's index a sixteenth of the registry's (vacuum and index builds
 * run per partition) while a full batch holds ~32 relation locks.
 */
export const NULLIFIER_PARTITIONS_DEFAULT = 16;
/**
 * Upper bound on N: a batch spread over 128 partitions holds ~260 locks, so POSTGRES_POOL_MAX (8)
 * registrations at once stay near 2 100 entries of PostgreSQL's default shared lock table
 * (max_locks_per_transaction 64 × max_connections 100 = 6 400).
 */
export const NULLIFIER_PARTITIONS_MAX = 128;

assert(NULLIFIER_PARTITIONS_DEFAULT >= 2 && NULLIFIER_PARTITIONS_DEFAULT <= NULLIFIER_PARTITIONS_MAX, 'the default partition count must be allowed');

/**
 * Largest L_max (the policy's largest L) the CB's related-key check at enrolment supports: it makes
 * 2·(L_max − 1) point additions and as many primary-key lookups, ~1 ms and one indexed query per
 * RELATED_KEY_LOOKUP_CHUNK keys; a policy above this bound is refused at enrolment, never skipped.
 */
export const RELATED_KEY_DISTANCE_MAX = 4096;
/** Keys per `k_point IN (...)` lookup (well under both engines' bound-parameter limits). */
export const RELATED_KEY_LOOKUP_CHUNK = 256;
