// The warrant workflow across sessions (docs/compliance.md): what the CB's warrant routes call on
// top of disclosure.ts. A regulator files a warrant naming one payment by its payment hash or its
// nullifier; each escrow key holder, in their own session and with the share only their own node
// holds, either posts a partial decryption or refuses with a reason — once per holder and warrant,
// a replay of the same answer is a no-op; once `threshold` partials are in, the regulator
// discloses. Every answer and refusal goes to the hash-chained disclosure log in the transaction
// that records it.
//
// The holder's node learns the warranted payment from the CB (warrantEscrow): the stored record
// itself, which it hashes to the payment id before it decrypts anything (escrowOfRecord), so the
// CB can hand it no ciphertext but the named payment's. The check that no other stored payment
// shares the E1 needs every record and stays with the CB (readWarrantedEscrow).

import { bytesToHex } from '@noble/hashes/utils.js';
import { CryptoDecodeError, PAYMENT_ID_BYTES, equalBytes, partialDecryptionFromBytes } from '../../crypto/index.ts';
import { rowBigint, type Db, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { appendLog, checkText, submitPartialTx, type EscrowAuthority } from './disclosure.ts';
import { readWarrantedEscrow } from './escrow_evidence.ts';

/** Warrants one listing returns, newest first (each carries its partials and refusals). */
export const WARRANTS_LISTED_MAX = 200;
/** Disclosure log entries one read returns, newest first (the chain check covers all of them). */
export const DISCLOSURE_LOG_READ_MAX = 500;
/** Bytes of a nullifier (compressed G1), the other way a warrant may name its payment. */
const NULLIFIER_BYTES = 48;

const hex = bytesToHex;

export interface HolderRefusal {
  holder: number;
  reason: string;
  createdMs: number;
}

export interface WarrantState {
  warrantId: string;
  paymentHash: string;
  authority: string;
  reason: string;
  status: 'open' | 'disclosed';
  createdMs: number;
  /** The quorum t and the number n of holders. */
  threshold: number;
  holders: number;
  /** Holder indexes whose partial the CB accepted. */
  approvals: number[];
  refusals: HolderRefusal[];
  /** Who made the payment, once disclosed (from the disclosure log's entry). */
  disclosed: { fiId: string; customerId: string; deviceId: string; holders: number[] } | null;
}

/** What a key holder's node needs to answer a warrant: its text and the warranted payment's record. */
export interface WarrantEscrow {
  warrantId: string;
  authority: string;
  reason: string;
  paymentId: string;
  /** The stored payment record; SHA-256(record) must equal paymentId. */
  record: string;
}

/** The payment a warrant names: its 32-byte payment hash, or the 48-byte nullifier of a stored payment. */
export async function warrantedPayment(db: Db, names: { paymentHash?: Uint8Array; nullifier?: Uint8Array }): Promise<Uint8Array> {
  if ((names.paymentHash === undefined) === (names.nullifier === undefined)) {
    throw new LedgerError(LedgerErrorCode.badRequest, 'a warrant names its payment by exactly one of paymentHash and nullifier');
  }
  if (names.paymentHash !== undefined) return names.paymentHash;
  const n = names.nullifier!;
  if (n.length !== NULLIFIER_BYTES) throw new LedgerError(LedgerErrorCode.badRequest, `a nullifier is ${NULLIFIER_BYTES} bytes, got ${n.length}`);
  const rows = await db.query<{ payment_hash: Uint8Array }>('SELECT payment_hash FROM payment_evidence WHERE nullifier = $1 ORDER BY payment_hash LIMIT 2', [n]);
  if (rows.length === 0) throw new LedgerError(LedgerErrorCode.badRequest, `no settled payment with nullifier ${hex(n)} at the CB`);
  // Two stored payments under one nullifier are a double spend: the warrant must say which one.
  if (rows.length > 1) throw new LedgerError(LedgerErrorCode.badRequest, `nullifier ${hex(n)} names more than one stored payment; name it by payment hash`);
  assertLength(rows[0]!.payment_hash);
  return rows[0]!.payment_hash;
}

function assertLength(paymentHash: Uint8Array): void {
  if (paymentHash.length !== PAYMENT_ID_BYTES) throw new LedgerError(LedgerErrorCode.evidenceInvalid, `stored payment hash of ${paymentHash.length} bytes`);
}

function checkHolder(authority: EscrowAuthority, holder: number): void {
  if (!Number.isSafeInteger(holder) || holder < 1 || holder > authority.verificationKeys.length) {
    throw new LedgerError(LedgerErrorCode.badRequest, `holder index must be 1..${authority.verificationKeys.length}, got ${holder}`);
  }
}

async function warrantRow(tx: Tx, warrantId: string) {
  const rows = await tx.query<{ payment_hash: Uint8Array; authority: string; reason: string; status: string; created_ms: bigint }>(
    'SELECT payment_hash, authority, reason, status, created_ms FROM warrants WHERE warrant_id = $1',
    [warrantId],
  );
  if (rows.length === 0) throw new LedgerError(LedgerErrorCode.badRequest, `no warrant ${warrantId}`);
  return rows[0]!;
}

async function openRow(tx: Tx, warrantId: string) {
  checkText('warrant id', warrantId);
  const w = await warrantRow(tx, warrantId);
  if (w.status !== 'open') throw new LedgerError(LedgerErrorCode.badRequest, `warrant ${warrantId} is ${w.status}, expected open`);
  return w;
}

/** The warranted payment's stored record for a key holder, after the CB's shared-E1 check. */
export async function warrantEscrow(db: Db, warrantId: string): Promise<WarrantEscrow> {
  return db.transaction(async (tx) => {
    const w = await openRow(tx, warrantId);
    await readWarrantedEscrow(tx, w.payment_hash);
    const rows = await tx.query<{ record: Uint8Array }>('SELECT record FROM payment_evidence WHERE payment_hash = $1', [w.payment_hash]);
    return { warrantId, authority: w.authority, reason: w.reason, paymentId: hex(w.payment_hash), record: hex(rows[0]!.record) };
  });
}

async function holderAnswers(tx: Tx, warrantId: string, holder: number) {
  const partial = await tx.query<{ partial: Uint8Array }>('SELECT partial FROM warrant_partials WHERE warrant_id = $1 AND holder_index = $2', [warrantId, BigInt(holder)]);
  const refusal = await tx.query<{ reason: string }>('SELECT reason FROM warrant_refusals WHERE warrant_id = $1 AND holder_index = $2', [warrantId, BigInt(holder)]);
  return { partial: partial[0]?.partial ?? null, refusal: refusal[0]?.reason ?? null };
}

/**
 * Key holder `holder` posts its partial decryption. Refused with no state change: a disclosed or
 * unknown warrant, a partial that does not decode or is another holder's (BAD_REQUEST), a holder
 * that already refused or posted another partial (IDEMPOTENCY_MISMATCH). The same partial again
 * answers as the first time. A partial whose proof fails is refused PROOF_INVALID after the
 * refusal is logged (submitPartial): a forged answer leaves its trace.
 */
export async function postPartial(db: Db, nowMs: number, authority: EscrowAuthority, input: { warrantId: string; holder: number; partial: Uint8Array }) {
  checkHolder(authority, input.holder);
  // One transaction for the checks and the write, so two posts of one holder cannot both count;
  // a failed proof's log entry commits before the refusal is thrown.
  const outcome = await db.transaction(async (tx) => {
    await openRow(tx, input.warrantId);
    let index: number;
    try {
      index = partialDecryptionFromBytes(input.partial).index;
    } catch (e) {
      if (!(e instanceof CryptoDecodeError)) throw e;
      throw new LedgerError(LedgerErrorCode.badRequest, `partial decryption does not decode: ${e.message}`);
    }
    if (index !== input.holder) throw new LedgerError(LedgerErrorCode.badRequest, `holder ${input.holder} posted a partial of holder ${index}`);
    const prior = await holderAnswers(tx, input.warrantId, input.holder);
    if (prior.refusal !== null) throw new LedgerError(LedgerErrorCode.idempotencyMismatch, `holder ${input.holder} already refused warrant ${input.warrantId}`);
    if (prior.partial !== null) {
      if (!equalBytes(prior.partial, input.partial)) {
        throw new LedgerError(LedgerErrorCode.idempotencyMismatch, `holder ${input.holder} already answered warrant ${input.warrantId} with another partial`);
      }
      return 'replay';
    }
    return (await submitPartialTx(tx, nowMs, authority, input)).accepted ? 'accepted' : 'refused';
  });
  if (outcome === 'refused') {
    throw new LedgerError(LedgerErrorCode.proofInvalid, `holder ${input.holder}'s partial decryption or its proof does not verify for warrant ${input.warrantId}`);
  }
  return warrantState(db, authority, input.warrantId);
}

/** Key holder `holder` refuses the warrant with a reason; once, a replay of the same reason is a no-op. */
export async function refuseWarrant(db: Db, nowMs: number, authority: EscrowAuthority, input: { warrantId: string; holder: number; reason: string }) {
  checkHolder(authority, input.holder);
  checkText('reason', input.reason);
  await db.transaction(async (tx) => {
    await openRow(tx, input.warrantId);
    const prior = await holderAnswers(tx, input.warrantId, input.holder);
    if (prior.partial !== null) throw new LedgerError(LedgerErrorCode.idempotencyMismatch, `holder ${input.holder} already approved warrant ${input.warrantId}`);
    if (prior.refusal !== null) {
      if (prior.refusal !== input.reason) throw new LedgerError(LedgerErrorCode.idempotencyMismatch, `holder ${input.holder} already refused warrant ${input.warrantId} with another reason`);
      return;
    }
    await tx.run('INSERT INTO warrant_refusals (warrant_id, holder_index, reason, created_ms) VALUES ($1, $2, $3, $4)', [input.warrantId, BigInt(input.holder), input.reason, BigInt(nowMs)]);
    await appendLog(tx, nowMs, input.warrantId, 'refused', { holder: input.holder, declined: input.reason });
  });
  return warrantState(db, authority, input.warrantId);
}

async function stateOf(tx: Tx, authority: EscrowAuthority, warrantId: string): Promise<WarrantState> {
  const w = await warrantRow(tx, warrantId);
  const partials = await tx.query<{ holder_index: bigint }>('SELECT holder_index FROM warrant_partials WHERE warrant_id = $1 ORDER BY holder_index', [warrantId]);
  const refusals = await tx.query<{ holder_index: bigint; reason: string; created_ms: bigint }>(
    'SELECT holder_index, reason, created_ms FROM warrant_refusals WHERE warrant_id = $1 ORDER BY holder_index',
    [warrantId],
  );
  let disclosed: WarrantState['disclosed'] = null;
  if (w.status === 'disclosed') {
    const e = await tx.query<{ body: string }>("SELECT body FROM disclosure_log WHERE warrant_id = $1 AND kind = 'disclosed' ORDER BY seq LIMIT 1", [warrantId]);
    if (e.length > 0) disclosed = JSON.parse(e[0]!.body) as WarrantState['disclosed'];
  }
  return {
    warrantId, paymentHash: hex(w.payment_hash), authority: w.authority, reason: w.reason, status: w.status === 'disclosed' ? 'disclosed' : 'open',
    createdMs: Number(rowBigint(w, 'created_ms')), threshold: authority.threshold, holders: authority.verificationKeys.length,
    approvals: partials.map((p) => Number(rowBigint(p, 'holder_index'))),
    refusals: refusals.map((r) => ({ holder: Number(rowBigint(r, 'holder_index')), reason: r.reason, createdMs: Number(rowBigint(r, 'created_ms')) })),
    disclosed,
  };
}

export function warrantState(db: Db, authority: EscrowAuthority, warrantId: string): Promise<WarrantState> {
  return db.transaction((tx) => stateOf(tx, authority, warrantId));
}

/** The newest warrants with their state. */
export async function listWarrants(db: Db, authority: EscrowAuthority): Promise<WarrantState[]> {
  return db.transaction(async (tx) => {
    const ids = await tx.query<{ warrant_id: string }>(`SELECT warrant_id FROM warrants ORDER BY created_ms DESC, warrant_id LIMIT ${WARRANTS_LISTED_MAX}`);
    const out: WarrantState[] = [];
    for (const r of ids) out.push(await stateOf(tx, authority, r.warrant_id));
    return out;
  });
}

export interface DisclosureLogEntry {
  seq: string;
  warrantId: string;
  kind: string;
  body: unknown;
  createdMs: number;
  entryHash: string;
}

/** The newest disclosure log entries. */
export async function readDisclosureLog(db: Db): Promise<DisclosureLogEntry[]> {
  const rows = await db.query<{ seq: bigint; warrant_id: string; kind: string; body: string; created_ms: bigint; entry_hash: Uint8Array }>(
    `SELECT seq, warrant_id, kind, body, created_ms, entry_hash FROM disclosure_log ORDER BY seq DESC LIMIT ${DISCLOSURE_LOG_READ_MAX}`,
  );
  return rows.map((r) => ({
    seq: String(rowBigint(r, 'seq')), warrantId: r.warrant_id, kind: r.kind, body: JSON.parse(r.body) as unknown,
    createdMs: Number(rowBigint(r, 'created_ms')), entryHash: hex(r.entry_hash),
  }));
}
