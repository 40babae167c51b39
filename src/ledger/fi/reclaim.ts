// Reclaim (issue 9): a payment its payee never settled is credited back to its payer once the
// settlement window is over (policy/settlement.ts), exactly once, and its nullifier is then
// refused everywhere. Three parts:
//   file    — at sync the payer's SE hands over one SE-signed claim per payment it holds no
//             receipt for, each with its payment record and (a, r_a). The FI checks: the device
//             is its own, the claim verifies under the device key, the record hashes to the
//             claim's, N and epoch agree, C_a opens to a under r_a, and the proof verifies under
//             the policy its context names. A claim that checks is kept (pending); filing again
//             changes nothing.
//   settle  — after the window, the FI asks the CB (one transaction there, cbReclaimTx): the
//             nullifier goes into the registry under UNIQUE(epoch, nullifier) — so a payee's
//             settlement and a reclaim of one nullifier serialise, whichever commits first wins —
//             and into `reclaims` (the signed revocation list carries it), and circulation moves
//             a back to the FI's reserve. Then, in one FI transaction, the claim turns credited and
//             the payer's account gets a (settlement → account, the mirror of the CB leg, as an
//             unload). If a payee had settled the nullifier first, the claim turns settled and
//             nothing moves. A claim before the window is refused (RECLAIM_TOO_EARLY).
//   tell    — the FI signs the list of claimed payments that are done (credited or settled); the
//             SE drops them from its unconfirmed list (APPLY_PAYMENT_OUTCOMES).
// A crash between the CB and FI legs is healed by settling again: the CB answers from its
// idempotency key, the FI leg runs only while the claim is pending.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../../crypto/assert.ts';
import { scalarFromBytes } from '../../crypto/group.ts';
import { commit } from '../../crypto/pedersen.ts';
import { limitsFor, type PolicyTable } from '../../policy/limits.ts';
import { settlementWindowEndMs } from '../../policy/settlement.ts';
import { parsePaymentContext } from '../../protocol/session.ts';
import { equalBytes } from '../../se/bytes.ts';
import { SIGNED_MESSAGE_BYTES_MAX } from '../../se/messages.ts';
import { decodeReclaimClaim, openReclaimClaim, signPaymentOutcomes, type ReclaimClaim } from '../../se/reclaim_messages.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import { SeDecodeError } from '../../se/cbor.ts';
import { UNCONFIRMED_PAYMENTS_MAX } from '../../se/payment_limits.ts';
import { FI_SETTLEMENT_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import type { CbOfflinePort } from '../cb/central_bank.ts';
import type { RandomBytes } from '../context.ts';
import { rowBigint, rowBytes, rowString, type Db, type Tx } from '../db/adapter.ts';
import { loadDevice, type DeviceRow } from './devices.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { postTwoLegMove } from '../book/moves.ts';
import { postOutOfCirculation } from '../cb/incident_draws.ts';
import { readAccount } from '../book/journal.ts';
import { viewRecord, type RecordView } from './payment_records.ts';
import type { VerifyPool } from '../verify/verify_pool.ts';

export interface ReclaimDeps {
  db: Db;
  fiId: string;
  nowMs: number;
  rng: RandomBytes;
  fiSecretKey: Uint8Array;
  cb: CbOfflinePort;
  pool: VerifyPool;
  verifySeed?: string;
}

/** One claim as the device's sync carries it (src/se EXPORT_RECLAIM_CLAIMS). */
export interface FiledClaim { claim: Uint8Array; record: Uint8Array }
export type ReclaimStatus = 'pending' | 'credited' | 'settled';
export interface ReclaimState {
  recordHash: Uint8Array;
  paymentHash: Uint8Array;
  amountMinor: bigint;
  windowEndMs: bigint;
  status: ReclaimStatus;
}
export interface ReclaimFiling {
  claims: ReclaimState[];
  /** FI-signed: the device's kept payments that are done with (APPLY_PAYMENT_OUTCOMES). */
  outcomes: Uint8Array;
}

const refused = (why: string): never => {
  throw new LedgerError(LedgerErrorCode.reclaimRefused, `Reclaim claim refused: ${why}`);
};
export const reclaimCbKey = (fiId: string, recordHash: Uint8Array) => `${fiId}/reclaim/${bytesToHex(recordHash)}/cb`;

// ---- CB ------------------------------------------------------------------------------------------

export interface CbReclaimRequest { fiId: string; epoch: bigint; nullifier: Uint8Array; paymentHash: Uint8Array; amountMinor: bigint }
export type CbReclaimOutcome = { reclaimed: true } | { reclaimed: false; reason: 'SETTLED' };

/** The CB's half, inside its transaction (see the file comment). */
export async function cbReclaimTx(tx: Tx, rng: RandomBytes, nowMs: number, r: CbReclaimRequest, journalKey: string): Promise<CbReclaimOutcome> {
  const now = BigInt(nowMs);
  const inserted = await tx.run(
    'INSERT INTO nullifiers (epoch, nullifier, payment_hash, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (epoch, nullifier) DO NOTHING',
    [r.epoch, r.nullifier, r.paymentHash, now],
  );
  if (inserted === 0) return { reclaimed: false, reason: 'SETTLED' };
  await tx.run('INSERT INTO reclaims (epoch, nullifier, payment_hash, fi_id, amount_minor, created_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
    r.epoch, r.nullifier, r.paymentHash, r.fiId, r.amountMinor, now,
  ]);
  // Out of circulation like an unload: a shortfall is covered within open incidents' exposure (incident_draws.ts).
  await postOutOfCirculation(tx, rng, nowMs, {
    operation: 'cb.reclaim', to: cbReserveAccount(r.fiId), amountMinor: r.amountMinor, journalKey,
    reference: `reclaim ${bytesToHex(r.paymentHash)}`,
  });
  return { reclaimed: true };
}

/** True for each record whose nullifier was reclaimed with that very payment (a payee presenting it late). */
export async function reclaimedAmong(q: Pick<Db, 'query'>, views: readonly RecordView[]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const v of views) {
    const rows = await q.query('SELECT payment_hash FROM reclaims WHERE epoch = $1 AND nullifier = $2', [v.epoch, v.nullifier]);
    out.push(rows.length > 0);
  }
  return out;
}

// ---- FI: file ------------------------------------------------------------------------------------

function openClaim(device: DeviceRow, claimBytes: Uint8Array): ReclaimClaim {
  const opened = openReclaimClaim(claimBytes, device.publicKey);
  if (!opened.ok) refused(`the claim does not verify under the device key (${opened.reason})`);
  if (!opened.ok) throw new Error('unreachable');
  if (!equalBytes(opened.value.deviceId, device.deviceId)) refused('the claim names another device');
  return opened.value;
}

async function checkClaim(d: ReclaimDeps, device: DeviceRow, c: ReclaimClaim, record: Uint8Array): Promise<{ view: RecordView; policy: PolicyTable }> {
  const v = viewRecord(record);
  if (!v.ok) return refused(`payment record: ${v.reason}`);
  const view = v.view;
  if (!equalBytes(sha256(record), c.recordHash)) refused('the payment record does not hash to the claim\'s');
  if (!equalBytes(view.nullifier, c.nullifier) || view.epoch !== c.epoch) refused('nullifier or epoch differ between the claim and the record');
  if (view.tier !== device.tier) refused(`the payment is of tier ${view.tier}, the device of tier ${device.tier}`);
  if (c.amountMinor <= 0n) refused(`amount ${c.amountMinor} is not positive`);
  if (!equalBytes(commit(c.amountMinor, scalarFromBytes(c.blinding)).toBytes(), view.C_a)) refused(`C_a does not open to ${c.amountMinor} under the claimed r_a`);
  const context = parsePaymentContext(view.context) ?? refused('the payment context does not parse');
  const policy = await d.cb.policyAt(context.policyVersion);
  const limits = limitsFor(policy, view.tier);
  const issuerKey = await d.cb.issuerPublicKey(view.epoch);
  const outcome = await d.pool.verify([{ record, issuerKey, capMinor: limits.capMinor, paymentsPerEpoch: limits.paymentsPerEpoch }], d.cb.regulatorKey, d.verifySeed);
  if (outcome.failed.length > 0) refused('the payment proof does not verify');
  return { view, policy };
}

function peekClaim(claimBytes: Uint8Array): ReclaimClaim {
  try {
    return decodeReclaimClaim(peekEnvelopeBody(claimBytes, SIGNED_MESSAGE_BYTES_MAX, 'reclaim claim'));
  } catch (e) {
    if (e instanceof SeDecodeError) return refused(`the claim does not decode (${e.message})`);
    throw e;
  }
}

/** Checks and keeps one claim (idempotent: a claim already kept is left as it is). */
async function fileClaim(d: ReclaimDeps, device: DeviceRow, filed: FiledClaim): Promise<Uint8Array> {
  const c = openClaim(device, filed.claim);
  const { view, policy } = await checkClaim(d, device, c, filed.record);
  const windowEndMs = settlementWindowEndMs(policy, view.tier, view.epoch);
  await d.db.run(
    'INSERT INTO reclaim_claims (record_hash, payment_hash, device_id, account_id, epoch, nullifier, amount_minor, window_end_ms, status, claim, record, created_ms) ' +
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11) ON CONFLICT (record_hash) DO NOTHING",
    [c.recordHash, c.paymentHash, device.deviceId, device.accountId, c.epoch, c.nullifier, c.amountMinor, windowEndMs, filed.claim, filed.record, BigInt(d.nowMs)],
  );
  const kept = await claimRow(d.db, c.recordHash);
  assert(kept !== undefined, 'fileClaim: the claim row is there after the insert');
  if (!equalBytes(kept.deviceId, device.deviceId)) refused('this payment was claimed by another device');
  return c.recordHash;
}

interface ClaimRow extends ReclaimState { deviceId: Uint8Array; accountId: string; epoch: bigint; nullifier: Uint8Array }

async function claimRow(q: Pick<Db, 'query'>, recordHash: Uint8Array): Promise<ClaimRow | undefined> {
  const rows = await q.query(
    'SELECT record_hash, payment_hash, device_id, account_id, epoch, nullifier, amount_minor, window_end_ms, status FROM reclaim_claims WHERE record_hash = $1',
    [recordHash],
  );
  const r = rows[0];
  if (r === undefined) return undefined;
  return {
    recordHash: rowBytes(r, 'record_hash'), paymentHash: rowBytes(r, 'payment_hash'), deviceId: rowBytes(r, 'device_id'), accountId: rowString(r, 'account_id'),
    epoch: rowBigint(r, 'epoch'), nullifier: rowBytes(r, 'nullifier'), amountMinor: rowBigint(r, 'amount_minor'), windowEndMs: rowBigint(r, 'window_end_ms'),
    status: rowString(r, 'status') as ReclaimStatus,
  };
}

// ---- FI: settle ----------------------------------------------------------------------------------

/**
 * Settles one kept claim: RECLAIM_TOO_EARLY before its window ends; afterwards the CB decides
 * (reclaimed, or settled by a payee first) and the FI credits the payer once. A settled or
 * credited claim is returned as it is (`replayed`).
 */
export async function settleReclaim(d: ReclaimDeps, recordHash: Uint8Array): Promise<ReclaimState & { replayed: boolean }> {
  const row = await claimRow(d.db, recordHash);
  if (row === undefined) throw new LedgerError(LedgerErrorCode.badRequest, `No reclaim claim for payment record ${bytesToHex(recordHash)}`);
  if (row.status !== 'pending') return { ...stateOf(row), replayed: true };
  if (BigInt(d.nowMs) < row.windowEndMs) {
    throw new LedgerError(LedgerErrorCode.reclaimTooEarly, `Payment ${bytesToHex(row.paymentHash)} may be reclaimed from ${new Date(Number(row.windowEndMs)).toISOString()} (settlement window: epoch end + grace + sync deadline)`);
  }
  const cb = await d.cb.reclaimPayment({
    fiId: d.fiId, epoch: row.epoch, nullifier: row.nullifier, paymentHash: row.recordHash, amountMinor: row.amountMinor,
    idempotencyKey: reclaimCbKey(d.fiId, row.recordHash),
  });
  const status: ReclaimStatus = cb.reclaimed ? 'credited' : 'settled';
  await d.db.transaction(async (tx) => {
    const n = await tx.run("UPDATE reclaim_claims SET status = $1, decided_ms = $2 WHERE record_hash = $3 AND status = 'pending'", [status, BigInt(d.nowMs), recordHash]);
    if (n === 0 || status !== 'credited') return;
    await loadDevice(tx, row.deviceId, true);
    await postTwoLegMove(tx, d.rng, d.nowMs, {
      operation: 'fi.reclaim', from: FI_SETTLEMENT_ACCOUNT, to: row.accountId, amountMinor: row.amountMinor,
      journalKey: `${d.fiId}/reclaim/${bytesToHex(recordHash)}/fi`, reference: `reclaim ${bytesToHex(row.paymentHash)}`,
    });
  });
  const after = await claimRow(d.db, recordHash);
  assert(after !== undefined && after.status !== 'pending', 'settleReclaim: a settled claim is decided');
  return { ...stateOf(after), replayed: false };
}

const stateOf = (r: ClaimRow): ReclaimState => ({ recordHash: r.recordHash, paymentHash: r.paymentHash, amountMinor: r.amountMinor, windowEndMs: r.windowEndMs, status: r.status });

/** Settles every pending claim of `deviceId` (of every device if null) whose window is over. */
export async function settleDueReclaims(d: ReclaimDeps, deviceId: Uint8Array | null): Promise<number> {
  const rows = deviceId === null
    ? await d.db.query("SELECT record_hash FROM reclaim_claims WHERE status = 'pending' AND window_end_ms <= $1", [BigInt(d.nowMs)])
    : await d.db.query("SELECT record_hash FROM reclaim_claims WHERE device_id = $1 AND status = 'pending' AND window_end_ms <= $2", [deviceId, BigInt(d.nowMs)]);
  for (const r of rows) await settleReclaim(d, rowBytes(r, 'record_hash'));
  return rows.length;
}

// ---- FI: the sync step ---------------------------------------------------------------------------

/** Files the device's claims, settles the due ones, and signs which kept payments the SE may drop. */
export async function fileReclaimClaims(d: ReclaimDeps, deviceId: Uint8Array, claims: readonly FiledClaim[]): Promise<ReclaimFiling> {
  if (claims.length > UNCONFIRMED_PAYMENTS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `At most ${UNCONFIRMED_PAYMENTS_MAX} reclaim claims per sync (got ${claims.length})`);
  const device = await loadDevice(d.db, deviceId);
  const hashes: Uint8Array[] = [];
  for (const filed of claims) {
    const c = peekClaim(filed.claim);
    if (!equalBytes(c.deviceId, device.deviceId)) refused('the claim names another device than the one syncing');
    hashes.push(await fileClaim(d, device, filed));
  }
  await settleDueReclaims(d, device.deviceId);
  const states: ReclaimState[] = [];
  for (const h of hashes) states.push(stateOf((await claimRow(d.db, h))!));
  const done = states.filter((s) => s.status !== 'pending').map((s) => s.paymentHash);
  return { claims: states, outcomes: signPaymentOutcomes(d.fiSecretKey, { devicePublicKey: device.publicKey, done }) };
}

// ---- FI: a payee that uploads a reclaimed payment ---------------------------------------------------

/**
 * Inside the payee FI's sync transaction: each receipt whose payment its payer reclaimed first
 * (the CB's registerPayments says how much) was credited by the payee SE and credited back to the
 * payer, so the value exists twice. The payee's owner owes it: a charge is recorded here, in the
 * same transaction as the batch (so a crash cannot lose it), and collected by collectReclaimCharges
 * after the sync's unloads are credited (a terminal defunds at every sync: its balance is in its
 * account by then). The FI never learns a single receipt's amount otherwise; the CB's reclaim told it.
 */
export async function recordReclaimChargesTx(
  tx: Tx, nowMs: number, device: DeviceRow, batchId: bigint, views: readonly RecordView[], reclaimedMinor: readonly bigint[],
): Promise<number> {
  let recorded = 0;
  for (const [i, v] of views.entries()) {
    const amountMinor = reclaimedMinor[i] ?? 0n;
    if (amountMinor === 0n) continue;
    recorded += await tx.run(
      'INSERT INTO reclaim_charges (record_hash, device_id, batch_id, account_id, amount_minor, account_minor, incident_minor, decided, cb_done, created_ms) ' +
        'VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 0, $6) ON CONFLICT (record_hash) DO NOTHING',
      [v.paymentHash, device.deviceId, batchId, device.accountId, amountMinor, BigInt(nowMs)],
    );
  }
  return recorded;
}

/**
 * Collects every recorded charge: the owner's account pays as far as it covers (account →
 * settlement; the CB leg moves reserve → circulation), and what it cannot cover is booked at the CB
 * as incident value (incident → circulation), so Σ SE balances equals circulation again. Runs after
 * every sync and from resume(); each step is keyed, so a crash anywhere is finished by running again.
 */
export async function collectReclaimCharges(
  d: { db: Db; fiId: string; nowMs: number; rng: RandomBytes; cb: CbOfflinePort }, scope: { deviceId: Uint8Array; beforeBatchId: bigint } | null,
): Promise<number> {
  const due = scope === null
    ? await d.db.query('SELECT record_hash FROM reclaim_charges WHERE decided = 0')
    : await d.db.query('SELECT record_hash FROM reclaim_charges WHERE decided = 0 AND device_id = $1 AND batch_id < $2', [scope.deviceId, scope.beforeBatchId]);
  for (const r of due) {
    const hash = rowBytes(r, 'record_hash');
    await d.db.transaction(async (tx) => {
      const rows = await tx.query('SELECT account_id, amount_minor FROM reclaim_charges WHERE record_hash = $1 AND decided = 0', [hash]);
      if (rows.length === 0) return;
      const accountId = rowString(rows[0]!, 'account_id');
      const amountMinor = rowBigint(rows[0]!, 'amount_minor');
      const account = await readAccount(tx, accountId);
      assert(account !== undefined, 'collectReclaimCharges: the payee account exists');
      const accountMinor = account.balanceMinor >= amountMinor ? amountMinor : account.balanceMinor > 0n ? account.balanceMinor : 0n;
      if (accountMinor > 0n) {
        await postTwoLegMove(tx, d.rng, d.nowMs, {
          operation: 'fi.reclaimCharge', from: accountId, to: FI_SETTLEMENT_ACCOUNT, amountMinor: accountMinor,
          journalKey: `${d.fiId}/reclaim-charge/${bytesToHex(hash)}/fi`, reference: `reclaimed payment ${bytesToHex(hash)} received`,
        });
      }
      const n = await tx.run('UPDATE reclaim_charges SET account_minor = $1, incident_minor = $2, decided = 1 WHERE record_hash = $3', [accountMinor, amountMinor - accountMinor, hash]);
      assert(n === 1, 'collectReclaimCharges: the charge row is decided once');
    });
  }
  return finishReclaimCharges(d);
}

/** The CB legs of every decided charge not finished yet. */
async function finishReclaimCharges(d: { db: Db; fiId: string; cb: CbOfflinePort }): Promise<number> {
  const rows = await d.db.query('SELECT record_hash, account_minor, incident_minor FROM reclaim_charges WHERE decided = 1 AND cb_done = 0');
  for (const r of rows) {
    const hash = rowBytes(r, 'record_hash');
    const accountMinor = rowBigint(r, 'account_minor');
    const incidentMinor = rowBigint(r, 'incident_minor');
    const key = `${d.fiId}/reclaim-charge/${bytesToHex(hash)}/cb`;
    if (accountMinor > 0n) await d.cb.fundCirculation({ fiId: d.fiId, amountMinor: accountMinor, idempotencyKey: key });
    if (incidentMinor > 0n) {
      await d.cb.bookIncidentValue({ amountMinor: incidentMinor, reference: `reclaimed payment ${bytesToHex(hash)} received by a payee whose account did not cover it`, idempotencyKey: `${key}/incident` });
    }
    await d.db.run('UPDATE reclaim_charges SET cb_done = 1 WHERE record_hash = $1', [hash]);
  }
  return rows.length;
}
