// An FI receives one device's sync batch (DESIGN §2.4–2.5): the SE-signed balance report, the
// payment records it received, and optionally unload records to credit first. Check order:
// device known → report signature → replay (same batch id: same report answers with the stored
// ack, a different report is a REPLAY_CONFLICT) → batch order → report vs batch (count, log
// digest) → report vs FI records (load and unload counters, holding limit) → every receipt names
// this device as its payee and was never settled before (else RECEIPT_NOT_FOR_UPLOADER or
// REPLAY_CONFLICT, and an FI incident naming the uploader) → every proof, under the policy version
// its context names (worker pool, batched) → the opening proof that Σ C_a commits to receivedMinor
// (the FI never sees a blinding) → the running totals against vouchers, unloads and the last
// accepted totals (report_totals.ts) → register at the CB → commit receipts, the device's last
// report with its totals, the renewal gate and the signed ack, under one idempotency key. Every step
// before the commit writes nothing at the FI, and the CB registration is idempotent under a key
// derived from (FI, device, batch), so a crash anywhere is healed by the device sending again.
//
// Why one commit per batch, not one per verified chunk (which would overlap database writes with
// the workers): a batch is accepted whole or not at all. Receipts committed for the first chunks
// of a batch whose later chunk, Σ C_a opening or totals check fails would make the device's resend
// of its unchanged log a REPLAY_CONFLICT with an incident against an honest device, and nullifiers
// registered at the CB for payments no payee was credited for would turn the payer FI's reclaim
// into SETTLED, so the value would be lost; per-chunk CB keys would also depend on the pool's
// chunking. The writes are small beside verification anyway (measured for 256 receipts: ~25 ms at
// the CB and ~35 ms for the FI commit of a ~2 s settle), so the overlap would buy at most ~3 %.
// Proofs are decoded in the workers (verify_batch.ts); the main thread reads only fixed offsets.

import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from '../../crypto/assert.ts';
import { CryptoDecodeError, decodeBatchOpening, verifyBatchOpening } from '../../crypto/index.ts';
import { limitsFor, type PolicyTable } from '../../policy/limits.ts';
import { SeDecodeError } from '../../se/cbor.ts';
import { receiptLogDigest } from '../../se/handlers_sync.ts';
import { equalBytes } from '../../se/bytes.ts';
import { SIGNED_MESSAGE_BYTES_MAX, decodeBalanceReport, openBalanceReport, signSyncAck, type BalanceReport } from '../../se/messages.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import type { CbOfflinePort } from '../cb/central_bank.ts';
import { rowBytes, type Db, type Tx } from '../db/adapter.ts';
import { loadDevice, type DeviceRow } from './devices.ts';
import { currentEpoch } from '../cb/distribution.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { SYNC_PAYMENTS_MAX } from '../limits.ts';
import type { NullifierOutcome } from '../cb/nullifiers.ts';
import { viewRecord, type RecordView } from './payment_records.ts';
import { markSyncAccepted } from './renewal_gate.ts';
import { TOTALS_COLUMNS, checkReportTotals, type CarriedUnload } from './report_totals.ts';
import type { VerifyPool } from '../verify/verify_pool.ts';
import { recordReclaimChargesTx } from './reclaim.ts';
import { SyncIncidentKind, recordSyncIncident } from './sync_incidents.ts';
import { parsePaymentContext, payeeIdentityOf, type PaymentContextFields } from '../../protocol/session.ts';

export interface SyncUpload {
  report: Uint8Array;
  payments: readonly Uint8Array[];
}

export interface BatchResult {
  deviceId: Uint8Array;
  batchId: bigint;
  ack: Uint8Array;
  receiptCount: number;
  outcomes: NullifierOutcome[];
  /** Incidents the CB opened for payments of this batch. */
  incidentIds: string[];
  balanceMinor: bigint;
  /** CB-signed refusals of reclaimed payments in this batch: the payee SE reverses their credit. */
  refusals: Uint8Array[];
}

export interface SyncDeps {
  db: Db;
  fiId: string;
  nowMs: number;
  fiSecretKey: Uint8Array;
  cb: CbOfflinePort;
  pool: VerifyPool;
  /** Seed for batch weights (tests); undefined uses system randomness. */
  verifySeed?: string;
}

const bad = (code: LedgerErrorCode, message: string): never => {
  throw new LedgerError(code, message);
};

export const syncKey = (deviceId: Uint8Array, batchId: bigint) => `sync:${bytesToHex(deviceId)}:${batchId}`;
export const registerKey = (fiId: string, deviceId: Uint8Array, batchId: bigint) => `${fiId}/sync/${bytesToHex(deviceId)}/${batchId}`;

/** Device and report, signature checked (UNKNOWN_DEVICE, BAD_REQUEST, SIGNATURE_INVALID). */
export async function openReport(db: Db, reportBytes: Uint8Array): Promise<{ device: DeviceRow; report: BalanceReport }> {
  let claimed: BalanceReport;
  try {
    claimed = decodeBalanceReport(peekEnvelopeBody(reportBytes, SIGNED_MESSAGE_BYTES_MAX, 'balance report'));
  } catch (e) {
    if (!(e instanceof SeDecodeError)) throw e;
    return bad(LedgerErrorCode.badRequest, `Balance report does not decode: ${e.message}`);
  }
  const device = await loadDevice(db, claimed.deviceId);
  const opened = openBalanceReport(reportBytes, device.publicKey);
  if (!opened.ok) return bad(LedgerErrorCode.signatureInvalid, `Balance report does not verify under the device key (${opened.reason})`);
  return { device, report: opened.value };
}

/** The stored answer of an already committed batch, or undefined; REPLAY_CONFLICT if its report differs. */
async function storedBatch(db: Db, device: DeviceRow, batchId: bigint, reportHash: Uint8Array): Promise<boolean> {
  const rows = await db.query('SELECT report_hash FROM sync_batches WHERE device_id = $1 AND batch_id = $2', [device.deviceId, batchId]);
  if (rows.length === 0) return false;
  if (!equalBytes(rowBytes(rows[0]!, 'report_hash'), reportHash)) {
    bad(LedgerErrorCode.replayConflict, `Batch ${batchId} of this device was settled with a different report (a rolled-back SE?)`);
  }
  return true;
}

function checkReport(device: DeviceRow, r: BalanceReport, payments: readonly Uint8Array[], policy: PolicyTable): void {
  const fail = (why: string) => bad(LedgerErrorCode.reportInvalid, `Balance report of batch ${r.batchId}: ${why}`);
  if (payments.length > SYNC_PAYMENTS_MAX) fail(`${payments.length} payments, at most ${SYNC_PAYMENTS_MAX}`);
  if (r.batchId !== device.lastBatchId + 1n) fail(`expected batch ${device.lastBatchId + 1n} next`);
  if (r.receiptCount !== payments.length) fail(`says ${r.receiptCount} receipts, ${payments.length} uploaded`);
  if (!equalBytes(r.logDigest, receiptLogDigest(payments))) fail('log digest does not match the uploaded payments');
  if (r.loadCounter > device.vouchersIssued) fail(`load counter ${r.loadCounter} above the ${device.vouchersIssued} vouchers issued`);
  if (r.unloadCounter < device.unloadsApplied) fail(`unload counter ${r.unloadCounter} below the ${device.unloadsApplied} records applied`);
  const limits = limitsFor(policy, device.tier);
  if (r.balanceMinor > limits.holdingLimitMinor) fail(`balance ${r.balanceMinor} above the holding limit ${limits.holdingLimitMinor}`);
  if (r.receiptCount === 0 && r.receivedMinor !== 0n) fail('an empty batch received something');
}

/** Each record's payment context, parsed once for the payee and policy checks (PROOF_INVALID if one does not parse). */
function contextsOf(views: readonly RecordView[]): PaymentContextFields[] {
  return views.map((v, i) => parsePaymentContext(v.context) ?? bad(LedgerErrorCode.proofInvalid, `Payment ${i}: the payment context does not parse`));
}

/**
 * Each receipt must name the uploading device as its payee (payment context, DESIGN §3.4) and must
 * not have been settled before: anything else would credit one payment twice. A refusal keeps an
 * incident naming the uploader (in its own transaction) and writes nothing else.
 */
async function checkReceiptsBelongToUploader(
  d: SyncDeps, device: DeviceRow, views: readonly RecordView[], contexts: readonly PaymentContextFields[],
): Promise<void> {
  const own = payeeIdentityOf(device.publicKey);
  const refuse = async (kind: SyncIncidentKind, code: LedgerErrorCode, i: number, detail: string): Promise<never> => {
    await recordSyncIncident(d.db, { deviceId: device.deviceId, customerId: device.customerId, kind, paymentHash: views[i]!.paymentHash, detail, nowMs: d.nowMs });
    return bad(code, `Payment ${i}: ${detail}`);
  };
  const seen = new Set<string>();
  for (const [i, v] of views.entries()) {
    if (!equalBytes(contexts[i]!.payeeIdentity, own)) {
      await refuse(SyncIncidentKind.receiptNotForUploader, LedgerErrorCode.receiptNotForUploader, i, 'the payment context names another payee than this device');
    }
    const hash = bytesToHex(v.paymentHash);
    const settled = await d.db.query('SELECT batch_id FROM receipts WHERE payment_hash = $1', [v.paymentHash]);
    if (settled.length > 0 || seen.has(hash)) {
      await refuse(SyncIncidentKind.receiptUploadedTwice, LedgerErrorCode.replayConflict, i, 'this receipt was already uploaded');
    }
    seen.add(hash);
  }
}

/** The policy each payment names in its context, fetched once per version (UNKNOWN_POLICY → PROOF_INVALID). */
async function policiesOf(d: SyncDeps, contexts: readonly PaymentContextFields[]): Promise<PolicyTable[]> {
  const byVersion = new Map<bigint, PolicyTable>();
  const out: PolicyTable[] = [];
  for (const [i, { policyVersion: version }] of contexts.entries()) {
    let p = byVersion.get(version);
    if (p === undefined) {
      try {
        p = await d.cb.policyAt(version);
      } catch (e) {
        if (e instanceof LedgerError && e.code === LedgerErrorCode.unknownPolicy) bad(LedgerErrorCode.proofInvalid, `Payment ${i} names unpublished policy version ${version}`);
        throw e;
      }
      byVersion.set(version, p!);
    }
    out.push(p!);
  }
  return out;
}

async function verifyBatch(
  d: SyncDeps, views: RecordView[], contexts: readonly PaymentContextFields[], report: BalanceReport, policy: PolicyTable,
): Promise<void> {
  const issuerKeys = new Map<bigint, Uint8Array>();
  const items = [];
  const paidUnder = await policiesOf(d, contexts);
  for (const [i, v] of views.entries()) {
    const own = paidUnder[i]!;
    if (!(own.tiers as Record<number, unknown>)[v.tier]) bad(LedgerErrorCode.proofInvalid, `Payment ${i} names unknown tier ${v.tier}`);
    if (v.epoch > currentEpoch(policy, v.tier, d.nowMs) + 1n) bad(LedgerErrorCode.proofInvalid, `Payment ${i} is from future epoch ${v.epoch}`);
    let key = issuerKeys.get(v.epoch);
    if (key === undefined) issuerKeys.set(v.epoch, (key = await d.cb.issuerPublicKey(v.epoch)));
    const limits = limitsFor(own, v.tier);
    items.push({ record: v.record, issuerKey: key, capMinor: limits.capMinor, paymentsPerEpoch: limits.paymentsPerEpoch });
  }
  const outcome = await d.pool.verify(items, d.cb.regulatorKey, d.verifySeed);
  if (outcome.failed.length > 0) bad(LedgerErrorCode.proofInvalid, `Payment proofs do not verify at positions ${outcome.failed.join(', ')}`);
  let proof;
  try {
    proof = decodeBatchOpening(report.openingProof);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    return bad(LedgerErrorCode.openingInvalid, `Opening proof of batch ${report.batchId} does not decode (${e.message})`);
  }
  const statement = { deviceId: report.deviceId, batchId: report.batchId, logDigest: report.logDigest, receivedMinor: report.receivedMinor, sumCa: outcome.sumCa };
  if (!verifyBatchOpening(statement, proof)) {
    bad(LedgerErrorCode.openingInvalid, `Σ C_a of batch ${report.batchId} is not shown to open to received ${report.receivedMinor} (opening proof refused)`);
  }
}

async function commitBatch(
  tx: Tx, d: SyncDeps, device: DeviceRow, report: BalanceReport, reportHash: Uint8Array, views: RecordView[], outcomes: NullifierOutcome[], incidentIds: string[],
  reclaimedMinor: readonly bigint[], refusals: Uint8Array[],
): Promise<BatchResult> {
  const locked = await loadDevice(tx, device.deviceId, true);
  if (report.batchId !== locked.lastBatchId + 1n) bad(LedgerErrorCode.reportInvalid, `Batch ${report.batchId} is out of order (last ${locked.lastBatchId})`);
  const ack = signSyncAck(d.fiSecretKey, { devicePublicKey: device.publicKey, batchId: report.batchId });
  const now = BigInt(d.nowMs);
  await tx.run(
    `INSERT INTO sync_batches (device_id, batch_id, report_hash, receipt_count, received_minor, balance_minor, ack, created_ms, ${TOTALS_COLUMNS}) ` +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
    [
      device.deviceId, report.batchId, reportHash, BigInt(views.length), report.receivedMinor, report.balanceMinor, ack, now,
      report.loadedTotalMinor, report.receivedTotalMinor, report.receivedPendingMinor, report.spentTotalMinor, report.unloadedTotalMinor,
    ],
  );
  await markSyncAccepted(tx, device.deviceId, d.nowMs);
  for (const [i, v] of views.entries()) {
    await tx.run(
      'INSERT INTO receipts (payment_hash, device_id, batch_id, epoch, nullifier, outcome, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_hash) DO NOTHING',
      [v.paymentHash, device.deviceId, report.batchId, v.epoch, v.nullifier, outcomes[i]!, now],
    );
  }
  await recordReclaimChargesTx(tx, d.nowMs, device, report.batchId, views, reclaimedMinor);
  const n = await tx.run('UPDATE devices SET last_batch_id = $1, reported_balance_minor = $2, reported_at_ms = $3 WHERE device_id = $4', [
    report.batchId, report.balanceMinor, now, device.deviceId,
  ]);
  assert(n === 1, 'commitBatch: device row vanished');
  return { deviceId: device.deviceId, batchId: report.batchId, ack, receiptCount: views.length, outcomes, incidentIds, balanceMinor: report.balanceMinor, refusals };
}

/** Settles one sync batch (see the file comment for the order); a replay returns the first answer. */
export async function settleBatch(
  d: SyncDeps, upload: SyncUpload, policy: PolicyTable, carried: readonly CarriedUnload[] = [],
): Promise<BatchResult & { replayed: boolean }> {
  const { device, report } = await openReport(d.db, upload.report);
  const reportHash = sha256(upload.report);
  const key = syncKey(device.deviceId, report.batchId);
  const request = { report: bytesToHex(reportHash) };
  const replay = await storedBatch(d.db, device, report.batchId, reportHash);
  let views: RecordView[] = [];
  let outcomes: NullifierOutcome[] = [];
  let incidentIds: string[] = [];
  let reclaimedMinor: bigint[] = [];
  let refusals: Uint8Array[] = [];
  if (!replay) {
    checkReport(device, report, upload.payments, policy);
    views = upload.payments.map((p, i) => {
      const v = viewRecord(p);
      return v.ok ? v.view : bad(LedgerErrorCode.proofInvalid, `Payment ${i}: ${v.reason}`);
    });
    const contexts = contextsOf(views);
    await checkReceiptsBelongToUploader(d, device, views, contexts);
    await verifyBatch(d, views, contexts, report, policy);
    await checkReportTotals(d.db, device, report, carried);
    if (views.length > 0) {
      const registered = await registerAtCb(d, device, report.batchId, upload.payments);
      outcomes = registered.outcomes;
      incidentIds = registered.incidents.map((i) => i.id);
      reclaimedMinor = registered.reclaimedMinor;
      refusals = registered.refusals;
    }
  }
  try {
    const r = await idempotent(d.db, d.nowMs, key, 'fi.sync', request, (tx) => commitBatch(tx, d, device, report, reportHash, views, outcomes, incidentIds, reclaimedMinor, refusals));
    return { ...r.value, replayed: r.replayed || replay };
  } catch (e) {
    if (e instanceof LedgerError && e.code === LedgerErrorCode.idempotencyMismatch) {
      bad(LedgerErrorCode.replayConflict, `Batch ${report.batchId} of this device was settled with a different report`);
    }
    throw e;
  }
}

async function registerAtCb(d: SyncDeps, device: DeviceRow, batchId: bigint, records: readonly Uint8Array[]) {
  try {
    return await d.cb.registerPayments({ fiId: d.fiId, deviceId: device.deviceId, records, idempotencyKey: registerKey(d.fiId, device.deviceId, batchId) });
  } catch (e) {
    if (e instanceof LedgerError && e.code === LedgerErrorCode.idempotencyMismatch) {
      bad(LedgerErrorCode.replayConflict, `Batch ${batchId} of this device was registered at the CB with other payments`);
    }
    throw e;
  }
}
