// Handlers of sync (DESIGN §2.4): EXPORT_SYNC_BATCH freezes the oldest receipts into a batch with
// an SE-signed balance report, READ_SYNC_ENTRIES pages the batch's payment messages out, and
// APPLY_SYNC_ACK (FI-signed, naming the batch id) frees those log entries.
//
// Why frozen: the report and its entry range are stored at first export, so a repeated export
// returns the same bytes and a repeated ack changes nothing — sync is idempotent and resumable.
// The report carries Σa over the batch with a zero-knowledge proof that Σ C_a opens to it (never
// Σ r_a, which would open a one-receipt batch's C_a), and the SE's running totals since
// personalisation, which the FI checks against what it issued, applied and settled (DESIGN §3.4).

import { sha256 } from '@noble/hashes/sha2.js';
import { encodeBatchOpening, proveBatchOpening } from '../crypto/batch_opening.ts';
import { scalarAdd, scalarFromBytes } from '../crypto/group.ts';
import { commit } from '../crypto/pedersen.ts';
import { assert } from '../crypto/assert.ts';
import { concat, equalBytes } from './bytes.ts';
import { COMMANDS } from './commands.ts';
import { SYNC_BATCH_ENTRIES_MAX, SYNC_PAGE_BYTES_MAX } from './constants.ts';
import { refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { balanceReportBody, openSyncAck } from './messages.ts';
import { signEnvelope } from './signed.ts';
import { assertWalletTotals, receiptCount, type PendingBatch, type StateTx } from './state.ts';
import { SW } from './status.ts';

const LOG_DIGEST_DST = new TextEncoder().encode('TALLY-V1/se/receipt-log');

/** Hash chain over a batch's payment messages; the FI recomputes it from what it received. */
export function receiptLogDigest(payments: readonly Uint8Array[]): Uint8Array {
  let d = sha256(LOG_DIGEST_DST);
  for (const p of payments) d = sha256(concat(d, sha256(p)));
  return d;
}

/** Σa and ρ = Σ r_a over log entries [from, to), and their payment messages. */
function sumEntries(tx: StateTx, from: bigint, to: bigint): { payments: Uint8Array[]; amountMinor: bigint; rho: bigint } {
  const payments: Uint8Array[] = [];
  let amountMinor = 0n;
  let rho = 0n;
  for (let seq = from; seq < to; seq++) {
    const entry = tx.receipt(seq);
    assert(entry !== null, `freezeBatch: receipt ${seq} missing from the log`);
    payments.push(entry.payment);
    amountMinor += entry.amountMinor;
    rho = scalarAdd(rho, scalarFromBytes(entry.blinding));
  }
  return { payments, amountMinor, rho };
}

function freezeBatch(ctx: HandlerContext): PendingBatch {
  const { tx } = ctx;
  const meta = tx.get('receipts');
  const sync = tx.get('sync');
  const wallet = tx.get('wallet');
  const id = tx.get('identity');
  assertWalletTotals(wallet, 'freezeBatch');
  const count = Math.min(receiptCount(tx), SYNC_BATCH_ENTRIES_MAX);
  const endSeq = meta.firstSeq + BigInt(count);
  const batch = sumEntries(tx, meta.firstSeq, endSeq);
  const pendingMinor = sumEntries(tx, endSeq, meta.nextSeq).amountMinor;
  const logDigest = receiptLogDigest(batch.payments);
  // Σ C_a recomputed from the openings the SE checked at receipt: the FI gets the same point
  // from the proofs, and the proof shows Σa without handing over ρ.
  const statement = { deviceId: id.deviceId, batchId: sync.nextBatchId, logDigest, receivedMinor: batch.amountMinor, sumCa: commit(batch.amountMinor, batch.rho) };
  const openingProof = encodeBatchOpening(proveBatchOpening(statement, batch.rho, ctx.rng));
  const receivedTotalMinor = wallet.receivedTotalMinor - pendingMinor;
  assert(receivedTotalMinor >= 0n, 'freezeBatch: receipts beyond the batch exceed the received total');
  const report = signEnvelope(
    id.attestationSecretKey,
    balanceReportBody({
      deviceId: id.deviceId,
      batchId: sync.nextBatchId,
      balanceMinor: wallet.balanceMinor,
      loadCounter: wallet.loadCounter,
      unloadCounter: wallet.unloadCounter,
      epoch: tx.get('spending').epoch,
      paymentCounter: tx.get('spending').counter,
      spentSinceSyncMinor: wallet.spentSinceSyncMinor,
      receiptCount: count,
      receivedMinor: batch.amountMinor,
      openingProof,
      logDigest,
      loadedTotalMinor: wallet.loadedTotalMinor,
      receivedTotalMinor,
      receivedPendingMinor: pendingMinor,
      spentTotalMinor: wallet.spentTotalMinor,
      unloadedTotalMinor: wallet.unloadedTotalMinor,
      policyVersion: tx.get('policy').table.version,
      revocationVersion: tx.has('revocation') ? tx.get('revocation').version : 0n,
      timeMs: ctx.nowMs,
    }),
  );
  return { batchId: sync.nextBatchId, firstSeq: meta.firstSeq, endSeq, report, spentSinceSyncMinor: wallet.spentSinceSyncMinor };
}

export const exportSyncBatch = command(COMMANDS.exportSyncBatch, (ctx: HandlerContext) => {
  const sync = ctx.tx.get('sync');
  let batch = sync.pending;
  if (batch === null) {
    batch = freezeBatch(ctx);
    ctx.tx.set('sync', { nextBatchId: sync.nextBatchId + 1n, pending: batch });
  }
  return { batchId: batch.batchId, report: batch.report, entryCount: Number(batch.endSeq - batch.firstSeq) };
});

function pendingBatch(tx: StateTx, batchId: bigint): PendingBatch {
  const pending = tx.get('sync').pending;
  if (pending === null) refuse(SW.BAD_STATE, 'no sync batch exported');
  if (pending.batchId !== batchId) refuse(SW.UNKNOWN_BATCH, `batch ${batchId} is not the pending batch ${pending.batchId}`);
  return pending;
}

export const readSyncEntries = command(COMMANDS.readSyncEntries, (ctx: HandlerContext, req) => {
  const batch = pendingBatch(ctx.tx, req.batchId);
  const count = Number(batch.endSeq - batch.firstSeq);
  if (req.from > count) refuse(SW.WRONG_DATA, `from ${req.from} beyond the batch's ${count} entries`);
  const payments: Uint8Array[] = [];
  let bytes = 0;
  let i = req.from;
  for (; i < count; i++) {
    const entry = ctx.tx.receipt(batch.firstSeq + BigInt(i));
    assert(entry !== null, 'readSyncEntries: batch entry missing');
    if (payments.length > 0 && bytes + entry.payment.length > SYNC_PAGE_BYTES_MAX) break;
    payments.push(entry.payment);
    bytes += entry.payment.length;
  }
  return { payments, next: i, done: i === count };
});

export const applySyncAck = command(COMMANDS.applySyncAck, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const opened = openSyncAck(req.ack, tx.get('anchors').fiPublicKey);
  if (!opened.ok) refuse(opened.reason === 'SIGNATURE' ? SW.BAD_ACK_SIGNATURE : SW.WRONG_DATA, `ack: ${opened.reason}`);
  const ack = opened.value;
  if (!equalBytes(ack.devicePublicKey, tx.get('identity').attestationPublicKey)) {
    refuse(SW.UNKNOWN_BATCH, 'ack names another device');
  }
  const sync = tx.get('sync');
  if (sync.pending === null || sync.pending.batchId !== ack.batchId) {
    // An ack of an earlier, already freed batch is a harmless repeat; anything else is unknown.
    if (ack.batchId < sync.nextBatchId && (sync.pending === null || ack.batchId < sync.pending.batchId)) {
      return { freed: 0, receiptCount: receiptCount(tx) };
    }
    refuse(SW.UNKNOWN_BATCH, `batch ${ack.batchId} was not exported`);
  }
  const batch = sync.pending;
  const freed = tx.freeReceiptsBefore(batch.endSeq);
  const wallet = tx.get('wallet');
  assert(wallet.spentSinceSyncMinor >= batch.spentSinceSyncMinor, 'applySyncAck: offline spend went down since export');
  tx.set('wallet', { ...wallet, spentSinceSyncMinor: wallet.spentSinceSyncMinor - batch.spentSinceSyncMinor });
  tx.set('sync', { ...sync, pending: null });
  return { freed, receiptCount: receiptCount(tx) };
});
