// The one place disclosure reads a payment's escrow (E1, E2): from the CB's stored record that a
// warrant names by payment hash, never from whoever asks (DESIGN §7). A partial y_i·E1 opens every
// ciphertext with that E1, so two more checks come with the read:
//   - the stored record must hash to the payment id (a rewritten evidence row is refused, not
//     decrypted);
//   - no other stored payment may share the E1 with another E2: opening one would open the other,
//     which no warrant names. Sharing E1 takes a payer that knows the other escrow's randomness u
//     (the payment proof shows E1 = u·G), so an honest payment never shares it; two payers that
//     shared one u are refused, and the refusal names the other payments for investigation. The
//     same E1 with the same E2 is the same K under the same u: one broken SE that reused its
//     escrow randomness, whose other payments the warrant's answer opens anyway. Those are
//     disclosed, or a broken SE could put all its payments beyond any warrant by reusing u.
// escrow_index (migration 008) is derived data, brought up to date from payment_evidence here.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CryptoDecodeError, G1_BYTES, PAYMENT_ID_BYTES, equalBytes, type G1Point } from '../../crypto/index.ts';
import { decodePaymentRecordFull } from '../../protocol/payment_record.ts';
import type { Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

/** Evidence rows decoded into escrow_index per query round (bounds memory, not the total). */
const ESCROW_INDEX_BATCH_ROWS = 256;
/** How many other payment hashes a shared-E1 refusal lists in its message. */
const SHARED_LISTED_MAX = 4;
/** Payments sharing one E1 that a warrant's check reads: L × the epochs a credential spans, and then some. */
const SHARED_READ_MAX = 1024;

export interface StoredEscrow {
  readonly paymentId: Uint8Array;
  readonly E1: G1Point;
  readonly E2: G1Point;
}

const hex = bytesToHex;

/** Decodes a stored record's escrow; EVIDENCE_INVALID when it does not decode. */
function decodeEscrow(record: Uint8Array, paymentId: Uint8Array): { E1: G1Point; E2: G1Point } {
  try {
    const { statement } = decodePaymentRecordFull(record);
    return { E1: statement.E1, E2: statement.E2 };
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    throw new LedgerError(LedgerErrorCode.evidenceInvalid, `stored record of payment ${hex(paymentId)} does not decode: ${e.message}`);
  }
}

/**
 * (E1, E2) of a payment record that must hash to `paymentId` (EVIDENCE_INVALID otherwise, or when
 * it does not decode). Pure: a key holder's own node runs it on the record the CB sends, so what
 * it decrypts is bound to the warranted payment id whoever handed it the bytes.
 */
export function escrowOfRecord(paymentId: Uint8Array, record: Uint8Array): StoredEscrow {
  if (!(paymentId instanceof Uint8Array) || paymentId.length !== PAYMENT_ID_BYTES) {
    throw new LedgerError(LedgerErrorCode.badRequest, `payment id must be ${PAYMENT_ID_BYTES} bytes, got ${paymentId?.length}`);
  }
  if (!equalBytes(sha256(record), paymentId)) {
    throw new LedgerError(LedgerErrorCode.evidenceInvalid, `record of payment ${hex(paymentId)} hashes to ${hex(sha256(record))}`);
  }
  return { paymentId, ...decodeEscrow(record, paymentId) };
}

/** Indexes the E1 of every evidence row not yet in escrow_index. */
async function refreshEscrowIndex(tx: Tx): Promise<void> {
  for (;;) {
    const rows = await tx.query<{ payment_hash: Uint8Array; record: Uint8Array }>(
      `SELECT payment_hash, record FROM payment_evidence
        WHERE payment_hash NOT IN (SELECT payment_hash FROM escrow_index) ORDER BY payment_hash LIMIT ${ESCROW_INDEX_BATCH_ROWS}`,
    );
    for (const r of rows) {
      let e1: Uint8Array;
      try {
        e1 = decodeEscrow(r.record, r.payment_hash).E1.toBytes();
      } catch (e) {
        // A row that does not decode has no usable escrow; index it under an impossible E1 so it
        // is not decoded again, and refuse it only if a warrant names it (readWarrantedEscrow).
        if (!(e instanceof LedgerError)) throw e;
        e1 = new Uint8Array(G1_BYTES);
      }
      await tx.run('INSERT INTO escrow_index (payment_hash, e1) VALUES ($1, $2) ON CONFLICT (payment_hash) DO NOTHING', [r.payment_hash, e1]);
    }
    if (rows.length < ESCROW_INDEX_BATCH_ROWS) return;
  }
}

/**
 * (E1, E2) of the stored payment `paymentId`, checked: the record exists (BAD_REQUEST), hashes to
 * paymentId and decodes (EVIDENCE_INVALID), and no other stored payment shares its E1
 * (ESCROW_SHARED). Its only write is the derived escrow_index.
 */
export async function readWarrantedEscrow(tx: Tx, paymentId: Uint8Array): Promise<StoredEscrow> {
  if (!(paymentId instanceof Uint8Array) || paymentId.length !== PAYMENT_ID_BYTES) {
    throw new LedgerError(LedgerErrorCode.badRequest, `payment id must be ${PAYMENT_ID_BYTES} bytes, got ${paymentId?.length}`);
  }
  const rows = await tx.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [paymentId]);
  if (rows.length === 0) throw new LedgerError(LedgerErrorCode.badRequest, `no settled payment ${hex(paymentId)} at the CB`);
  const { E1, E2 } = escrowOfRecord(paymentId, rows[0]!.record);
  await refreshEscrowIndex(tx);
  const sharing = await tx.query<{ payment_hash: Uint8Array; record: Uint8Array }>(
    'SELECT i.payment_hash, e.record FROM escrow_index i JOIN payment_evidence e ON e.payment_hash = i.payment_hash ' +
      `WHERE i.e1 = $1 AND i.payment_hash <> $2 ORDER BY i.payment_hash LIMIT ${SHARED_READ_MAX + 1}`,
    [E1.toBytes(), paymentId],
  );
  const others = sharing.filter((r) => sharing.length > SHARED_READ_MAX || !decodeEscrow(r.record, r.payment_hash).E2.equals(E2)).slice(0, SHARED_LISTED_MAX);
  if (others.length > 0) {
    throw new LedgerError(
      LedgerErrorCode.escrowShared,
      `payment ${hex(paymentId)} shares its escrow E1 with payment ${others.map((r) => hex(r.payment_hash)).join(', ')} under another E2: ` +
        'a partial decryption would open those too, so no key holder answers this warrant',
    );
  }
  return { paymentId, E1, E2 };
}
