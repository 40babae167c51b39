// Regulator disclosure (DESIGN §7): with a recorded warrant and a quorum of escrow key holders,
// learn who made ONE named payment. The CB keeps every registered payment's record (payment_
// evidence), so a warrant names a payment by its hash; each key holder answers with a partial
// decryption of that payment's escrow (E1, E2) and a proof bound to the warrant and the payment id;
// once `threshold` valid partials are in, K = E2 − Σ λ_i·D_i is mapped through the CB's K registry
// to the FI, the customer and the device.
//
// A requester names only the warrant. The holder's side (answerWarrant) reads the warrant's
// payment id and that payment's stored record itself (escrow_evidence.ts), because D_i = y_i·E1
// decrypts every ciphertext with that E1: a holder handed a ciphertext by the requester could be
// made to open any payment, and a warranted payment whose E1 another payment shares is refused.
//
// Every step — warrant filed, partial accepted or refused, identity disclosed — is appended to a
// hash-chained log: entry_hash = SHA-256(prev_hash ‖ seq ‖ warrant ‖ kind ‖ body). Rewriting or
// dropping any entry breaks every later hash, which verifyDisclosureLog() reports. The log lives in
// the CB's database and is written in the same transaction as the step it records.

import { sha256 } from '@noble/hashes/sha2.js';
import {
  CryptoDecodeError,
  G1Point,
  PAYMENT_ID_BYTES,
  combine,
  partialDecrypt,
  partialDecryptionFromBytes,
  partialDecryptionToBytes,
  verifyPartialDecryption,
  type PartialDecryption,
  type RegulatorKeyShare,
  type Rng,
} from '../../crypto/index.ts';
import { rowBigint, type Db, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { readWarrantedEscrow, type StoredEscrow } from './escrow_evidence.ts';

/** Bounds on what a warrant may carry (they end up in the log and the database). */
export const WARRANT_TEXT_CHARS_MAX = 256;
const GENESIS = new Uint8Array(32);

export interface EscrowAuthority {
  /** The quorum t of t-of-n. */
  threshold: number;
  /** VK_i = y_i·G of holder i at index i − 1. */
  verificationKeys: readonly G1Point[];
}

export interface DisclosedIdentity {
  warrantId: string;
  paymentHash: Uint8Array;
  fiId: string;
  customerId: string;
  deviceId: Uint8Array;
  holders: number[];
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function entryHash(prev: Uint8Array, seq: bigint, warrantId: string, kind: string, body: string): Uint8Array {
  const enc = new TextEncoder();
  const seqBytes = new Uint8Array(8);
  new DataView(seqBytes.buffer).setBigUint64(0, seq);
  const parts = [prev, seqBytes, enc.encode(warrantId), Uint8Array.of(0), enc.encode(kind), Uint8Array.of(0), enc.encode(body)];
  const h = sha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export async function appendLog(tx: Tx, nowMs: number, warrantId: string, kind: string, body: Record<string, unknown>): Promise<void> {
  const last = await tx.query<{ seq: bigint; entry_hash: Uint8Array }>('SELECT seq, entry_hash FROM disclosure_log ORDER BY seq DESC LIMIT 1');
  const prev: Uint8Array = last[0]?.entry_hash ?? GENESIS;
  const seq = (last[0] ? rowBigint(last[0], 'seq') : 0n) + 1n;
  const text = JSON.stringify(body);
  await tx.run(
    'INSERT INTO disclosure_log (seq, prev_hash, entry_hash, warrant_id, kind, body, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [seq, prev, entryHash(prev, seq, warrantId, kind, text), warrantId, kind, text, BigInt(nowMs)],
  );
}

export function checkText(name: string, s: string): void {
  if (typeof s !== 'string' || s.length === 0 || s.length > WARRANT_TEXT_CHARS_MAX) {
    throw new LedgerError('BAD_REQUEST', `${name} must be 1..${WARRANT_TEXT_CHARS_MAX} characters`);
  }
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** What every partial for this warrant must answer: its id, its payment's id and stored escrow. */
function partialRequest(warrantId: string, escrow: StoredEscrow) {
  return { E1: escrow.E1, E2: escrow.E2, warrantId: utf8(warrantId), paymentId: escrow.paymentId };
}

/** Files a warrant for one settled payment. Idempotent on the warrant id with the same content. */
export async function fileWarrant(
  db: Db,
  nowMs: number,
  w: { warrantId: string; paymentHash: Uint8Array; authority: string; reason: string },
): Promise<void> {
  checkText('warrant id', w.warrantId);
  checkText('authority', w.authority);
  checkText('reason', w.reason);
  await db.transaction(async (tx) => {
    const existing = await tx.query<{ payment_hash: Uint8Array }>('SELECT payment_hash FROM warrants WHERE warrant_id = $1', [w.warrantId]);
    if (existing.length > 0) {
      if (hex(existing[0]!.payment_hash) !== hex(w.paymentHash)) {
        throw new LedgerError('IDEMPOTENCY_MISMATCH', `warrant ${w.warrantId} already names another payment`);
      }
      return;
    }
    if (!(w.paymentHash instanceof Uint8Array) || w.paymentHash.length !== PAYMENT_ID_BYTES) {
      throw new LedgerError(LedgerErrorCode.badRequest, `a warrant names a ${PAYMENT_ID_BYTES}-byte payment hash, got ${w.paymentHash?.length}`);
    }
    const rows = await tx.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM payment_evidence WHERE payment_hash = $1', [w.paymentHash]);
    if (rowBigint(rows[0]!, 'n') === 0n) throw new LedgerError(LedgerErrorCode.badRequest, `no settled payment ${hex(w.paymentHash)} at the CB`);
    await tx.run(
      "INSERT INTO warrants (warrant_id, payment_hash, authority, reason, status, created_ms) VALUES ($1, $2, $3, $4, 'open', $5)",
      [w.warrantId, w.paymentHash, w.authority, w.reason, BigInt(nowMs)],
    );
    await appendLog(tx, nowMs, w.warrantId, 'warrant', { paymentHash: hex(w.paymentHash), authority: w.authority, reason: w.reason });
  });
}

/**
 * Key holder `share.index` answers warrant `warrantId`: reads the warrant's payment id and that
 * payment's stored escrow from the CB database — nothing about the ciphertext comes from the
 * requester — and returns D_i = y_i·E1 with a proof bound to the warrant and the payment id.
 * Refuses an unknown or already disclosed warrant (BAD_REQUEST), a record that does not match its
 * hash (EVIDENCE_INVALID) and an E1 another stored payment shares (ESCROW_SHARED). Writes nothing
 * but the derived escrow index: the answer counts once submitPartial() accepts it.
 */
export async function answerWarrant(db: Db, opts: { share: RegulatorKeyShare; warrantId: string; rng: Rng }): Promise<Uint8Array> {
  checkText('warrant id', opts.warrantId);
  const escrow = await db.transaction(async (tx) => {
    const w = await openWarrant(tx, opts.warrantId);
    if (w.status !== 'open') throw new LedgerError(LedgerErrorCode.badRequest, `warrant ${opts.warrantId} is ${w.status}, expected open`);
    return readWarrantedEscrow(tx, w.paymentHash);
  });
  return partialForEscrow({ share: opts.share, warrantId: opts.warrantId, escrow, rng: opts.rng });
}

/**
 * The pure half of answering a warrant: holder `share.index`'s D_i = y_i·E1 of `escrow` with its
 * proof bound to the warrant id and the payment id, encoded. Reads nothing: the holder's own node
 * calls it with the escrow it checked against the payment id (escrowOfRecord), so the share never
 * has to sit where the CB's database is.
 */
export function partialForEscrow(opts: { share: RegulatorKeyShare; warrantId: string; escrow: StoredEscrow; rng: Rng }): Uint8Array {
  checkText('warrant id', opts.warrantId);
  const partial = partialDecrypt({ ...partialRequest(opts.warrantId, opts.escrow), share: opts.share, rng: opts.rng });
  return partialDecryptionToBytes(partial);
}

/**
 * A key holder's partial decryption for a warrant. A partial whose proof fails is refused — and
 * the refusal is logged — so a wrong or replayed share never reaches the combination.
 */
export async function submitPartial(
  db: Db,
  nowMs: number,
  authority: EscrowAuthority,
  input: { warrantId: string; partial: Uint8Array },
): Promise<{ accepted: boolean; partials: number }> {
  return db.transaction((tx) => submitPartialTx(tx, nowMs, authority, input));
}

/** submitPartial() inside the caller's transaction. */
export async function submitPartialTx(
  tx: Tx,
  nowMs: number,
  authority: EscrowAuthority,
  input: { warrantId: string; partial: Uint8Array },
): Promise<{ accepted: boolean; partials: number }> {
  const w = await openWarrant(tx, input.warrantId);
  let partial: PartialDecryption | null = null;
  try {
    partial = partialDecryptionFromBytes(input.partial);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
  }
  const request = partialRequest(input.warrantId, await readWarrantedEscrow(tx, w.paymentHash));
  const vk = partial ? authority.verificationKeys[partial.index - 1] : undefined;
  const valid = partial !== null && vk !== undefined && verifyPartialDecryption({ ...request, partial, verificationKey: vk });
  if (!valid) {
    await appendLog(tx, nowMs, input.warrantId, 'refused', { holder: partial?.index ?? null, why: 'partial decryption or its proof is invalid' });
    return { accepted: false, partials: await countPartials(tx, input.warrantId) };
  }
  await tx.run(
    'INSERT INTO warrant_partials (warrant_id, holder_index, partial, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (warrant_id, holder_index) DO NOTHING',
    [input.warrantId, BigInt(partial!.index), input.partial, BigInt(nowMs)],
  );
  await appendLog(tx, nowMs, input.warrantId, 'partial', { holder: partial!.index });
  return { accepted: true, partials: await countPartials(tx, input.warrantId) };
}

async function countPartials(tx: Tx, warrantId: string): Promise<number> {
  const r = await tx.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM warrant_partials WHERE warrant_id = $1', [warrantId]);
  return Number(rowBigint(r[0]!, 'n'));
}

async function openWarrant(tx: Tx, warrantId: string): Promise<{ paymentHash: Uint8Array; status: string }> {
  const rows = await tx.query<{ payment_hash: Uint8Array; status: string }>('SELECT payment_hash, status FROM warrants WHERE warrant_id = $1', [warrantId]);
  if (rows.length === 0) throw new LedgerError('BAD_REQUEST', `no warrant ${warrantId}`);
  return { paymentHash: rows[0]!.payment_hash, status: rows[0]!.status };
}

/** Combines the accepted partials; refuses below the quorum. Names the payer of exactly one payment. */
export async function disclose(db: Db, nowMs: number, authority: EscrowAuthority, warrantId: string): Promise<DisclosedIdentity> {
  return db.transaction(async (tx) => {
    const w = await openWarrant(tx, warrantId);
    const rows = await tx.query<{ partial: Uint8Array }>('SELECT partial FROM warrant_partials WHERE warrant_id = $1 ORDER BY holder_index', [warrantId]);
    const partials = rows.map((r) => partialDecryptionFromBytes(r.partial));
    if (partials.length < authority.threshold) {
      throw new LedgerError('BAD_REQUEST', `warrant ${warrantId} has ${partials.length} of the ${authority.threshold} partial decryptions it needs`);
    }
    const request = partialRequest(warrantId, await readWarrantedEscrow(tx, w.paymentHash));
    const combined = combine({ ...request, partials, threshold: authority.threshold, verificationKeys: authority.verificationKeys });
    if (!combined.ok) throw new LedgerError('BAD_REQUEST', `warrant ${warrantId}: combination refused (${combined.reason})`);
    const who = await tx.query<{ fi_id: string; customer_id: string; device_id: Uint8Array }>(
      'SELECT fi_id, customer_id, device_id FROM cb_device_keys WHERE k_point = $1',
      [combined.K.toBytes()],
    );
    if (who.length === 0) throw new LedgerError('BAD_REQUEST', `warrant ${warrantId}: the decrypted key is in no registry`);
    const id = who[0]!;
    const holders = partials.map((p) => p.index);
    if (w.status !== 'disclosed') {
      await tx.run("UPDATE warrants SET status = 'disclosed' WHERE warrant_id = $1", [warrantId]);
      await appendLog(tx, nowMs, warrantId, 'disclosed', { fiId: id.fi_id, customerId: id.customer_id, deviceId: hex(id.device_id), holders });
    }
    return { warrantId, paymentHash: w.paymentHash, fiId: id.fi_id, customerId: id.customer_id, deviceId: id.device_id, holders };
  });
}

export interface DisclosureLogCheck {
  intact: boolean;
  entries: number;
  /** First sequence number whose hash or link does not match, if any. */
  brokenAt: bigint | null;
}

/** Recomputes the hash chain from the first entry. */
export async function verifyDisclosureLog(db: Db): Promise<DisclosureLogCheck> {
  const rows = await db.query<{ seq: bigint; prev_hash: Uint8Array; entry_hash: Uint8Array; warrant_id: string; kind: string; body: string }>(
    'SELECT seq, prev_hash, entry_hash, warrant_id, kind, body FROM disclosure_log ORDER BY seq',
  );
  let prev: Uint8Array = GENESIS;
  let expectedSeq = 1n;
  for (const r of rows) {
    const seq = rowBigint(r, 'seq');
    const ok = seq === expectedSeq && hex(r.prev_hash) === hex(prev) && hex(r.entry_hash) === hex(entryHash(prev, seq, r.warrant_id, r.kind, r.body));
    if (!ok) return { intact: false, entries: rows.length, brokenAt: seq };
    prev = r.entry_hash;
    expectedSeq++;
  }
  return { intact: true, entries: rows.length, brokenAt: null };
}
