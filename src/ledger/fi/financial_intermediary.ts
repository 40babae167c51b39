// An FI's offline side, on top of its book (FiLedger): device enrolment with attestation (K pinned
// here and registered at the CB), SE-bound blind credential issuance forwarded to the CB
// (issuance.ts: the FI checks the SE's signature, K, KYC and freeze, one per device and
// epoch), load vouchers and unload records (value.ts), and sync (sync.ts) with the CB's
// signed distribution and a credential renewal offer in every answer. Proofs are verified in a
// pool of worker threads owned by this object; close() stops them.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { P256KeyPair } from '../../se/signed.ts';
import type { CbOfflinePort } from '../cb/central_bank.ts';
import { checkName, systemClock, systemRandomBytes, type Clock, type NodeDeps, type RandomBytes } from '../context.ts';
import { loadCustomer, ownerOfAccount } from './customers.ts';
import { rowBytes, type Db, type Queryable } from '../db/adapter.ts';
import { checkAttestation, checkDeviceTier, enrolmentChallenge, listDevices, loadDevice, type DeviceRow } from './devices.ts';
import { currentEpoch, type Distribution } from '../cb/distribution.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { FiLedger, type FreezeInput, type FreezeLogEntry } from './book.ts';
import { issueCredentialFor, startIssuanceFor, type IssuanceDeps, type IssuanceStart, type IssuedCredential } from './issuance.ts';
import { brokenSeExposure, devicesPerTier, type Exposure } from '../exposure.ts';
import { fiFlows, type FiFlows } from '../flows.ts';
import {
  applyUnloadRecord, createLoadVoucher, issuedVoucher, openCarriedUnloads, resumeValueSagas, type IssuedVoucher, type UnloadResult, type ValueDeps, type VoucherRequest, type VoucherResult,
} from './value.ts';
import { idempotent } from '../book/idempotency.ts';
import { REVOCATION_DEVICES_LIST_MAX, SYNC_UNLOADS_MAX } from '../limits.ts';
import { checkRenewalGate, recordCredentialGrant } from './renewal_gate.ts';
import { openReport, settleBatch, syncKey, type BatchResult, type SyncUpload } from './sync.ts';
import { collectReclaimCharges, fileReclaimClaims, settleDueReclaims, settleReclaim, type FiledClaim, type ReclaimDeps, type ReclaimFiling } from './reclaim.ts';
import { VerifyPool } from '../verify/verify_pool.ts';
import { listSyncIncidents, type SyncIncident } from './sync_incidents.ts';
import { limitsFor } from '../../policy/limits.ts';
import { verifyRules, type RuleSet } from '../../compliance/index.ts';
import { changeAlert, checkHolds, keyTaken, listAlerts, recordScreened, screenEvent, type Alert, type AlertAction, type Screened } from './compliance.ts';
import { keyed } from './keyed.ts';
import { ComplianceDesk } from './compliance_desk.ts';
import { verifyComplianceLog, type ComplianceLogCheck } from './compliance_log.ts';

/** The CB-signed rule set as the FI receives it (compliance/rules.ts signRules), with the key to check it. */
export interface SignedRules {
  signed: Uint8Array;
  cbPublicKey: Uint8Array;
}

/** The rules an FI runs: verified when signed; an in-process RuleSet is checked but trusted (tests, the default). */
function installRules(option: RuleSet | SignedRules | null | undefined): RuleSet | null | undefined {
  if (option === null || option === undefined || !('signed' in option)) return option;
  const v = verifyRules(option.signed, option.cbPublicKey);
  if (!v.ok) throw new LedgerError(LedgerErrorCode.badRequest, `The CB-signed rule set does not verify (${v.reason})`);
  return v.value;
}

export interface FinancialIntermediaryConfig {
  fiId: string;
  /** FI P-256 key: signs load vouchers and sync acks; devices hold its public half. */
  signingKey: P256KeyPair;
  /** Manufacturer name → CA public key: the attestation roots this FI trusts. */
  manufacturers: Readonly<Record<string, Uint8Array>>;
  cb: CbOfflinePort;
  /** Verification worker threads (default: the machine's cores; 0 = in-thread). */
  verifyWorkers?: number;
  /** Seed for batch-verification weights (tests only). */
  verifySeed?: string;
  /** AML/CFT rules (src/compliance): CB-signed, or in process; default DEFAULT_RULES unsigned; null: none. */
  rules?: RuleSet | SignedRules | null;
}

export type Renewal =
  | { offered: true; epoch: bigint; issuerNonce: Uint8Array }
  | { offered: false; code: LedgerErrorCode; message: string };

export interface SyncResult extends BatchResult {
  replayed: boolean;
  unloads: UnloadResult[];
  /** The answer to the claims the sync carried (null when it carried none). */
  reclaim: ReclaimFiling | null;
  distribution: Distribution;
  renewal: Renewal;
}

export interface FreezeResult {
  customerId: string;
  frozen: boolean;
  /** Devices of the customer reported to the CB. */
  devices: number;
  /** The CB revocation list version that first reflects this freeze (null: the customer has no devices). */
  revocationVersion: bigint | null;
}

export interface SyncRequest extends SyncUpload {
  /** Unload records to credit before the batch (a terminal defunds at each sync). */
  unloadRecords?: readonly Uint8Array[];
  /** The payer SE's reclaim claims (EXPORT_RECLAIM_CLAIMS), one per payment it holds no receipt for. */
  reclaimClaims?: readonly FiledClaim[];
}

export class FinancialIntermediary {
  readonly fiId: string;
  readonly publicKey: Uint8Array;
  readonly db: Db;
  /** Whether the rules it runs came in the CB's signed envelope (and verified), not in process. */
  readonly rulesSigned: boolean;
  /** Watchlist, cases and the suspicious-activity export (compliance_desk.ts). */
  readonly compliance: ComplianceDesk;
  private readonly pool: VerifyPool;

  private constructor(
    readonly ledger: FiLedger,
    private readonly clock: Clock,
    private readonly rng: RandomBytes,
    private readonly config: FinancialIntermediaryConfig,
  ) {
    this.fiId = ledger.fiId;
    this.db = ledger.db;
    this.publicKey = config.signingKey.publicKey;
    this.rulesSigned = config.rules !== null && config.rules !== undefined && 'signed' in config.rules;
    this.pool = new VerifyPool(config.verifyWorkers);
    this.compliance = new ComplianceDesk(ledger, clock, rng);
  }

  static async open(deps: NodeDeps & FinancialIntermediaryConfig): Promise<FinancialIntermediary> {
    const ledger = await FiLedger.open({ ...deps, rules: installRules(deps.rules) });
    return new FinancialIntermediary(ledger, deps.clock ?? systemClock, deps.rng ?? systemRandomBytes, deps);
  }

  get cb(): CbOfflinePort {
    return this.config.cb;
  }

  private valueDeps(): ValueDeps {
    return { db: this.db, fiId: this.fiId, rng: this.rng, nowMs: this.clock.nowMs(), fiSecretKey: this.config.signingKey.secretKey, cb: this.config.cb, ...(this.ledger.rules === null ? {} : { rules: this.ledger.rules }) };
  }

  /** The challenge a device must ATTEST to enrol for this customer and account. */
  enrolmentChallenge(input: { customerId: string; accountId: string; certificate: Uint8Array }): Uint8Array {
    return enrolmentChallenge(this.fiId, input.customerId, input.accountId, input.certificate);
  }

  /** Customer, account, attestation and tier checks of an enrolment (no writes). */
  private async checkEnrolment(q: Queryable, input: { customerId: string; accountId: string; certificate: Uint8Array; attestation: Uint8Array; tier?: number }) {
    const customer = await loadCustomer(q, checkName(input.customerId, 'customer id'), true);
    if (customer.frozen) throw new LedgerError(LedgerErrorCode.frozen, `Customer ${customer.id} is frozen: no new devices`);
    const owner = await ownerOfAccount(q, checkName(input.accountId, 'account id'));
    if (owner?.customerId !== customer.id) throw new LedgerError(LedgerErrorCode.unknownAccount, `Account ${input.accountId} is not an account of ${customer.id}`);
    const challenge = enrolmentChallenge(this.fiId, customer.id, input.accountId, input.certificate);
    const cert = checkAttestation({ certificate: input.certificate, attestation: input.attestation, challenge, manufacturers: this.config.manufacturers });
    return { customer, cert, tier: checkDeviceTier(customer.tier, input.tier) };
  }

  /**
   * Enrols an attested device for a customer; its vouchers debit and its unloads credit `accountId`.
   * The K its attestation names is registered at the CB first (which refuses related keys), then
   * pinned here; every later issuance request must carry that K.
   */
  async enrolDevice(input: {
    customerId: string; accountId: string; certificate: Uint8Array; attestation: Uint8Array; tier?: number; idempotencyKey: string;
  }): Promise<{ deviceId: Uint8Array; tier: number; deviceClass: number }> {
    const now = this.clock.nowMs();
    const request = { customerId: input.customerId, accountId: input.accountId, certificate: input.certificate, attestation: input.attestation, tier: input.tier };
    const { cert } = await this.checkEnrolment(this.db, request);
    await this.config.cb.registerDevice({
      fiId: this.fiId, customerId: input.customerId, deviceId: cert.deviceId, kPoint: cert.kPoint, attestationKey: cert.publicKey,
      idempotencyKey: `${this.fiId}/enrol/${bytesToHex(cert.deviceId)}`,
    });
    const policy = await this.config.cb.currentPolicy();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'fi.enrolDevice', request, async (tx) => {
      const { customer, cert, tier } = await this.checkEnrolment(tx, request);
      const inserted = await tx.run(
        'INSERT INTO devices (device_id, customer_id, account_id, public_key, device_class, tier, manufacturer, certificate, created_ms, k_point) ' +
          'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING',
        [cert.deviceId, customer.id, input.accountId, cert.publicKey, BigInt(cert.deviceClass), BigInt(tier), cert.manufacturer, input.certificate, BigInt(now), cert.kPoint],
      );
      if (inserted === 0) throw new LedgerError(LedgerErrorCode.replayConflict, `Device ${bytesToHex(cert.deviceId)} is already enrolled`);
      await tx.run('INSERT INTO device_keys (k_point, device_id, customer_id, epoch, created_ms) VALUES ($1, $2, $3, $4, $5)', [
        cert.kPoint, cert.deviceId, customer.id, currentEpoch(policy, tier, now), BigInt(now),
      ]);
      return { deviceId: cert.deviceId, tier, deviceClass: cert.deviceClass };
    });
    return r.value;
  }

  private issuanceDeps(): IssuanceDeps {
    return { db: this.db, fiId: this.fiId, cb: this.config.cb, rng: this.rng, nowMs: this.clock.nowMs() };
  }

  /**
   * The nonce of the device's blind issuance for `epoch` (default: the current one) and the CB's
   * certificate of that epoch's issuer key. One nonce per (device, epoch): asking again returns
   * the same one. FROZEN, BLOCKED and SYNC_REQUIRED refuse.
   */
  async startIssuance(input: { deviceId: Uint8Array; epoch?: bigint }): Promise<IssuanceStart> {
    const device = await loadDevice(this.db, input.deviceId);
    const policy = await this.config.cb.currentPolicy();
    const epoch = input.epoch ?? currentEpoch(policy, device.tier, this.clock.nowMs());
    await this.checkMayIssue(device, epoch);
    return startIssuanceFor(this.issuanceDeps(), device, epoch);
  }

  private async checkMayIssue(device: DeviceRow, epoch: bigint): Promise<void> {
    const customer = await loadCustomer(this.db, device.customerId);
    if (customer.frozen) throw new LedgerError(LedgerErrorCode.frozen, `Customer ${customer.id} is frozen: no credential renewal`);
    if (await this.config.cb.isBlocked(this.fiId, customer.id)) {
      throw new LedgerError(LedgerErrorCode.blocked, `Customer ${customer.id} was identified as a double spender: no credential renewal`);
    }
    const [fraud] = await listSyncIncidents(this.db, customer.id);
    if (fraud !== undefined) {
      throw new LedgerError(LedgerErrorCode.blocked, `Customer ${customer.id} uploaded a receipt it may not (${fraud.kind}, incident ${fraud.id}): no credential renewal`);
    }
    if (this.ledger.rules) await checkHolds(this.db, customer.id, 'credential renewal');
    await this.checkSyncedForRenewal(device, epoch);
  }

  /** SYNC_REQUIRED unless the device synced consistently since its newest credential (renewal_gate.ts). */
  private async checkSyncedForRenewal(device: DeviceRow, epoch: bigint): Promise<void> {
    const policy = await this.config.cb.currentPolicy();
    await checkRenewalGate(this.db, device, { epoch, currentEpoch: currentEpoch(policy, device.tier, this.clock.nowMs()) });
  }

  /**
   * Accepts only the request the device's SE signed for this nonce and its pinned K, forwards it to
   * the CB, and keeps one issuance per (device, epoch); an identical request gets the first answer.
   */
  async issueCredential(input: { deviceId: Uint8Array; issuerNonce: Uint8Array; request: Uint8Array; idempotencyKey: string }): Promise<IssuedCredential> {
    const device = await loadDevice(this.db, input.deviceId);
    const issued = await issueCredentialFor(this.issuanceDeps(), device, input, (epoch) => this.checkMayIssue(device, epoch));
    await recordCredentialGrant(this.db, { deviceId: device.deviceId, epoch: issued.epoch, issuerNonce: input.issuerNonce }, this.clock.nowMs());
    return issued;
  }

  /** Debits the device's account for its voucher `loadCounter` (when named: only the next one, or the same one again). */
  createLoadVoucher(input: VoucherRequest): Promise<VoucherResult> {
    return createLoadVoucher(this.valueDeps(), input);
  }

  /** A voucher this FI issued to a device (for a host that lost the answer). */
  issuedVoucher(deviceId: Uint8Array, loadCounter: bigint): Promise<IssuedVoucher> {
    return issuedVoucher(this.db, deviceId, loadCounter);
  }

  applyUnloadRecord(record: Uint8Array) {
    return applyUnloadRecord(this.valueDeps(), record);
  }

  /**
   * Screens a sync batch (Σ received and receipt count, never single amounts: DESIGN §3.3) before
   * it settles; null when the rules are off or the batch was settled before. Recorded after it
   * settles, in its own transaction: a crash between loses the event, not money (a later slice
   * moves it into settleBatch's transaction).
   */
  private async screenSync(input: SyncRequest): Promise<Screened | null> {
    const compliance = this.ledger.complianceDeps(this.clock.nowMs());
    if (compliance === null) return null;
    const { device, report } = await openReport(this.db, input.report);
    if (await keyTaken(this.db, syncKey(device.deviceId, report.batchId))) return null;
    const limits = limitsFor(await this.config.cb.currentPolicy(), device.tier);
    const event = {
      kind: 'sync' as const, customerId: device.customerId, deviceId: bytesToHex(device.deviceId), amountMinor: report.receivedMinor, receipts: input.payments.length, atMs: compliance.nowMs,
      spentMinor: report.spentSinceSyncMinor, paymentCounter: report.paymentCounter, deviceBalanceMinor: report.balanceMinor,
      paymentsPerEpoch: BigInt(limits.paymentsPerEpoch), offlineSpendLimitMinor: limits.offlineSpendBeforeSyncMinor,
    };
    return screenEvent(compliance, event);
  }

  /**
   * Freezes or unfreezes a customer (the book's setFrozen, logged with reason and operator) and
   * reports the customer's devices to the CB, which puts their keys on (or takes them off) the
   * signed revocation list: a frozen customer's SEs stop paying offline at their next sync. A retry
   * under the same key replays the book's answer and repeats the CB report under its own derived
   * key, so a crash between the two is finished by the retry.
   */
  async setFrozen(input: FreezeInput): Promise<FreezeResult> {
    const result = await this.ledger.setFrozen(input);
    const rows = await this.db.query('SELECT public_key FROM devices WHERE customer_id = $1 ORDER BY created_ms, device_id', [result.customerId]);
    const keys = rows.map((r) => rowBytes(r, 'public_key'));
    const keyBase = `${this.fiId}/freeze/${bytesToHex(sha256(new TextEncoder().encode(input.idempotencyKey))).slice(0, 32)}`;
    let revocationVersion: bigint | null = null;
    for (let i = 0; i < keys.length; i += REVOCATION_DEVICES_LIST_MAX) {
      const answer = await this.config.cb.reportDeviceRevocations({
        fiId: this.fiId, customerId: result.customerId, revoked: result.frozen, deviceKeys: keys.slice(i, i + REVOCATION_DEVICES_LIST_MAX),
        idempotencyKey: `${keyBase}/${i / REVOCATION_DEVICES_LIST_MAX}`,
      });
      revocationVersion = answer.revocationVersion;
    }
    return { ...result, devices: keys.length, revocationVersion };
  }

  /** The freeze log of one customer (or all), oldest first. */
  freezeLog(customerId?: string): Promise<FreezeLogEntry[]> {
    return this.ledger.freezeLog(customerId);
  }

  /** The compliance alerts of one customer (or all), oldest first. */
  alerts(customerId?: string): Promise<Alert[]> {
    return listAlerts(this.db, customerId);
  }

  /** An operator overrides a soft rule's alert with a reason: the customer's next move it stops goes through once. */
  overrideRule(alertId: string, reason: string, operatorId = 'operator', key?: string): Promise<Alert> {
    return this.changeAlertOnce(alertId, operatorId, { action: 'override', reason }, key);
  }

  assignAlert(alertId: string, assignee: string, operatorId = 'operator', key?: string): Promise<Alert> {
    return this.changeAlertOnce(alertId, operatorId, { action: 'assign', assignee }, key);
  }

  resolveAlert(alertId: string, reason: string, operatorId = 'operator', key?: string): Promise<Alert> {
    return this.changeAlertOnce(alertId, operatorId, { action: 'resolve', reason }, key);
  }

  /** An alert's change, once per Idempotency-Key when one is given (the HTTP route always gives one). */
  private changeAlertOnce(alertId: string, operatorId: string, change: AlertAction, key: string | undefined): Promise<Alert> {
    const d = this.requireCompliance();
    if (key === undefined) return changeAlert(d, alertId, operatorId, change);
    return keyed(d.db, d.nowMs, key, `fi.alert.${change.action}`, { alertId, operatorId, ...change }, (db) => changeAlert({ ...d, db }, alertId, operatorId, change));
  }

  verifyComplianceLog(): Promise<ComplianceLogCheck> {
    return verifyComplianceLog(this.db);
  }

  private requireCompliance() {
    const d = this.ledger.complianceDeps(this.clock.nowMs());
    if (d === null) throw new LedgerError(LedgerErrorCode.badRequest, `FI ${this.fiId} runs without AML/CFT rules`);
    return d;
  }

  /** Credits the carried unload records, settles the batch, and answers with ack, distribution, renewal. */
  async sync(input: SyncRequest): Promise<SyncResult> {
    const unloadRecords = input.unloadRecords ?? [];
    if (unloadRecords.length > SYNC_UNLOADS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `At most ${SYNC_UNLOADS_MAX} unload records per sync`);
    const policy = await this.config.cb.currentPolicy();
    const d = this.reclaimDeps();
    // The batch first, then the unloads it carries: an unload is credited only against value the FI
    // has accounted for (vouchers and settled receipts, value.ts), so a refused batch — say one
    // with a receipt for another payee — cannot have its proceeds unloaded anyway.
    const carried = await openCarriedUnloads(this.valueDeps(), unloadRecords);
    const screened = await this.screenSync(input);
    const batch = await settleBatch(d, input, policy, carried);
    const compliance = this.ledger.complianceDeps(this.clock.nowMs());
    if (screened !== null && compliance !== null && !batch.replayed) {
      await this.db.transaction((tx) => recordScreened(tx, compliance, screened, `sync ${bytesToHex(batch.deviceId)}/${batch.batchId}`));
    }
    const unloads: UnloadResult[] = [];
    for (const rec of unloadRecords) unloads.push(await this.applyUnloadRecord(rec));
    // Charges for reclaimed payments of this device's earlier batches, after this sync's unloads (reclaim.ts).
    await collectReclaimCharges(this.reclaimDeps(), { deviceId: batch.deviceId, beforeBatchId: batch.batchId });
    const device = await loadDevice(this.db, batch.deviceId);
    // The payer's claims on payments it holds no receipt for ride along (reclaim.ts): kept, settled when due, answered.
    const reclaim = input.reclaimClaims === undefined ? null : await fileReclaimClaims(this.reclaimDeps(), device.deviceId, input.reclaimClaims);
    return { ...batch, unloads, reclaim, distribution: await this.config.cb.distribution(device.tier), renewal: await this.renewal(device) };
  }

  private reclaimDeps(): ReclaimDeps {
    return {
      db: this.db, fiId: this.fiId, nowMs: this.clock.nowMs(), rng: this.rng, fiSecretKey: this.config.signingKey.secretKey, cb: this.config.cb,
      pool: this.pool, verifySeed: this.config.verifySeed,
    };
  }

  /** Files a device's reclaim claims outside a sync (same checks and answer as the sync's). */
  fileReclaimClaims(deviceId: Uint8Array, claims: readonly FiledClaim[]): Promise<ReclaimFiling> {
    return fileReclaimClaims(this.reclaimDeps(), deviceId, claims);
  }

  /** Credits a kept claim back to its payer once its window is over (RECLAIM_TOO_EARLY before). */
  settleReclaim(recordHash: Uint8Array) {
    return settleReclaim(this.reclaimDeps(), recordHash);
  }

  /** Offers a nonce for the current epoch if the device has no key for it yet, else for the next. */
  private async renewal(device: DeviceRow): Promise<Renewal> {
    try {
      const policy = await this.config.cb.currentPolicy();
      const current = currentEpoch(policy, device.tier, this.clock.nowMs());
      const have = await this.db.query('SELECT 1 AS one FROM issuances WHERE device_id = $1 AND epoch = $2', [device.deviceId, current]);
      const started = await this.startIssuance({ deviceId: device.deviceId, epoch: have.length === 0 ? current : current + 1n });
      return { offered: true, epoch: started.epoch, issuerNonce: started.issuerNonce };
    } catch (e) {
      if (!(e instanceof LedgerError)) throw e;
      return { offered: false, code: e.code, message: e.message };
    }
  }

  /** Receipts this FI refused at sync because the uploader may not claim them (sync_incidents.ts). */
  syncIncidents(): Promise<SyncIncident[]> {
    return listSyncIncidents(this.db);
  }

  device(deviceId: Uint8Array): Promise<DeviceRow> {
    return loadDevice(this.db, deviceId);
  }

  /** The customer a device is enrolled for (null: no such device here). */
  async deviceOwner(deviceId: Uint8Array): Promise<string | null> {
    const r = (await this.db.query('SELECT customer_id FROM devices WHERE device_id = $1', [deviceId]))[0];
    return r === undefined ? null : String(r['customer_id']);
  }

  devices(): Promise<DeviceRow[]> {
    return listDevices(this.db);
  }

  /** Finishes the CB leg of every voucher, unload or reclaim charge a crash interrupted, and settles every due reclaim. */
  async resume(): Promise<number> {
    return (await resumeValueSagas(this.valueDeps())) + (await collectReclaimCharges(this.reclaimDeps(), null)) + (await settleDueReclaims(this.reclaimDeps(), null));
  }

  audit() {
    return this.ledger.audit();
  }

  /** Spent and received of this FI's devices, for the CB's discrepancy alarm (flows.ts). */
  async flows(): Promise<FiFlows> {
    return fiFlows(this.db, this.fiId, await this.config.cb.currentPolicy());
  }

  /** The broken-SE worst case over this FI's enrolled devices (exposure.ts). */
  async exposure(): Promise<Exposure> {
    return brokenSeExposure(await this.config.cb.currentPolicy(), await devicesPerTier(this.db));
  }

  /** Waits until the verification workers are ready (benchmarks; production just starts). */
  warmUp(): Promise<void> {
    return this.pool.warmUp(this.config.cb.regulatorKey);
  }

  /** Stops the verification workers (the database belongs to the caller). */
  close(): Promise<void> {
    return this.pool.close();
  }
}
