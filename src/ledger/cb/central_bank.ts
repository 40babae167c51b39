// The central bank's offline side, on top of its book (CbLedger): device registration (the pinned
// K and attestation key, refusing related keys) and SE-bound blind credential issuance with the
// per-epoch BBS key (issuance.ts), the K registry, the circulation account that mirrors value inside SEs,
// registration of settled payments (nullifier registry + evidence + incidents), and the signed
// distribution (policy, issuer keys, revocation list). Every state change runs under one
// idempotency key in one transaction, so an FI can retry any call after a crash.
// The FI-facing methods are exactly the CbOfflinePort an HTTP client can also implement.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { G1Point } from '../../crypto/index.ts';
import { CryptoDecodeError } from '../../crypto/group.ts';
import { TIERS, limitsFor, type PolicyTable } from '../../policy/limits.ts';
import type { P256KeyPair } from '../../se/signed.ts';
import { AccountKind, CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, cbReserveAccount } from '../book/accounts.ts';
import { CbLedger, type MoveResult } from './book.ts';
import { issueTx, registerDeviceTx, type CbIssueRequest, type CbIssueResult, type CbRegisterDeviceRequest } from './issuance.ts';
import { checkAmount, checkName, systemClock, systemRandomBytes, type Clock, type NodeDeps, type RandomBytes } from '../context.ts';
import { rowBigint, rowBytes, type Db, type Tx } from '../db/adapter.ts';
import { buildDistribution, currentEpoch, ensurePolicy, latestPolicy, policyByVersion, revocationVersion, storePolicy, type Distribution } from './distribution.ts';
import {
  listDeviceRevocations, refuseRevokedDevice, reportDeviceRevocationsTx, type CbDeviceRevocationRequest, type CbDeviceRevocationResult, type DeviceRevocation,
} from './device_revocations.ts';
import { signPolicy } from '../../policy/policy_codec.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { listIncidents, recordConflict, type Incident } from './incidents.ts';
import { bookIncident, postOutOfCirculation } from './incident_draws.ts';
import { IssuerKeys } from './issuer_keys.ts';
import type { EscrowAuthority } from './disclosure.ts';
import { ensureAccount } from '../book/journal.ts';
import { SYNC_PAYMENTS_MAX } from '../limits.ts';
import { postTwoLegMove } from '../book/moves.ts';
import { checkNullifierBatch, insertNullifiersTx, type NullifierOutcome } from './nullifiers.ts';
import { cbReclaimTx, type CbReclaimOutcome, type CbReclaimRequest } from '../fi/reclaim.ts';
import { viewRecord, type RecordView } from '../fi/payment_records.ts';
import { DEVICE_ID_BYTES } from '../fi/devices.ts';
import { equalBytes } from '../../se/bytes.ts';
import { signReclaimRefusal } from '../../se/reclaim_messages.ts';
import { DEFAULT_RULES, checkRules, type RuleHit, type RuleSet } from '../../compliance/index.ts';
import { keyed } from '../fi/keyed.ts';
import { listCbAlerts, overrideCbAlert, resolveCbAlert, screenFi, screenIssue, type CbAlert } from './aggregate_rules.ts';
import { verifyComplianceLog, type ComplianceLogCheck } from '../fi/compliance_log.ts';

export interface CentralBankConfig {
  /** CB P-256 key: signs issuer-key certificates, policies and revocation lists. */
  signingKey: P256KeyPair;
  /** Master secret of the per-epoch BBS issuer keys (issuer_keys.ts). */
  issuerMaster: Uint8Array;
  /** Regulator escrow key Y_reg (compressed G1), a public input of every payment. */
  regulatorKey: Uint8Array;
  /** Policy stored on first open (DEFAULT_POLICY if absent). */
  initialPolicy?: PolicyTable;
  /**
   * The regulator escrow key's quorum t and its holders' public verification keys VK_i (public
   * data: the shares stay with their holders). Absent: the CB checks and discloses no warrant.
   */
  escrowAuthority?: EscrowAuthority;
  /** Hash partitions of the nullifier registry on PostgreSQL (CbLedger.open; absent: plain tables). */
  nullifierPartitions?: number;
  /** AML/CFT rules whose aggregate kinds (fi.*) the CB evaluates per FI; default DEFAULT_RULES; null: none. */
  rules?: RuleSet | null;
}

export type { CbIssueRequest, CbIssueResult, CbRegisterDeviceRequest } from './issuance.ts';
export type { CbDeviceRevocationRequest, CbDeviceRevocationResult, DeviceRevocation } from './device_revocations.ts';

export interface RegisterPaymentsResult {
  outcomes: NullifierOutcome[];
  incidents: Incident[];
  /**
   * Per record, the amount its payer reclaimed (reclaim.ts) before this payee uploaded it, else 0:
   * the payee's FI charges it to the payee so value is conserved.
   */
  reclaimedMinor: bigint[];
  /** CB-signed refusals (reclaim_messages.ts), one per reclaimed record, for the uploading payee SE. */
  refusals: Uint8Array[];
}

/**
 * BAD_REQUEST unless `nullifier` is a canonical G1 point. A reclaimed nullifier goes on the signed
 * revocation list, whose codec (and every SE) refuses a list holding anything else: one bad entry
 * would stop the list for the whole network.
 */
function checkNullifierPoint(nullifier: Uint8Array): void {
  try {
    G1Point.fromBytes(nullifier);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    throw new LedgerError(LedgerErrorCode.badRequest, `The reclaimed nullifier is not a G1 point: ${e.message}`);
  }
}

/** What an FI needs from the CB; CentralBank implements it, an HTTP client can too. */
export type CbOfflinePort = Pick<
  CentralBank,
  | 'registerDevice' | 'issueCredential' | 'fundCirculation' | 'defundCirculation' | 'registerPayments' | 'distribution'
  | 'issuerPublicKey' | 'regulatorKey' | 'currentPolicy' | 'policyAt' | 'isBlocked' | 'reclaimPayment' | 'bookIncidentValue'
  | 'reportDeviceRevocations' | 'publicKey'
>;

export class CentralBank {
  readonly keys: IssuerKeys;
  readonly regulatorKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The rule set whose aggregate kinds the CB evaluates per FI (null: none). */
  readonly rules: RuleSet | null;
  private readonly regulatorPoint: G1Point;

  private constructor(
    readonly ledger: CbLedger,
    readonly db: Db,
    private readonly clock: Clock,
    private readonly rng: RandomBytes,
    private readonly config: CentralBankConfig,
  ) {
    this.keys = new IssuerKeys(config.issuerMaster);
    this.regulatorKey = config.regulatorKey;
    this.regulatorPoint = G1Point.fromBytes(config.regulatorKey);
    this.publicKey = config.signingKey.publicKey;
    this.rules = config.rules === undefined ? DEFAULT_RULES : config.rules === null ? null : checkRules(config.rules);
  }

  /** Opens the book, migrates, creates the circulation and incident accounts and the first policy. */
  static async open(deps: NodeDeps & CentralBankConfig): Promise<CentralBank> {
    const ledger = await CbLedger.open(deps);
    const clock = deps.clock ?? systemClock;
    const cb = new CentralBank(ledger, deps.db, clock, deps.rng ?? systemRandomBytes, deps);
    await deps.db.transaction(async (tx) => {
      await ensureAccount(tx, CB_CIRCULATION_ACCOUNT, AccountKind.cbCirculation, 'cb', clock.nowMs());
      await ensureAccount(tx, CB_INCIDENT_ACCOUNT, AccountKind.cbIncident, 'cb', clock.nowMs());
      await ensurePolicy(tx, deps.initialPolicy, clock.nowMs());
    });
    ledger.onFiMove(async (fiId) => { await cb.screenFi(fiId); });
    ledger.onIssue((input) => (cb.rules === null ? Promise.resolve(null) : screenIssue({ db: cb.db, rules: cb.rules, rng: cb.rng, nowMs: clock.nowMs() }, input)));
    return cb;
  }

  /** Evaluates the CB's aggregate rules on one FI and raises an alert per hit (aggregate_rules.ts). */
  async screenFi(fiId: string): Promise<RuleHit[]> {
    if (this.rules === null) return [];
    return screenFi({ db: this.db, rules: this.rules, rng: this.rng, nowMs: this.clock.nowMs() }, fiId);
  }

  /** The CB's alerts about one FI (or all), oldest first. */
  complianceAlerts(fiId?: string): Promise<CbAlert[]> {
    return listCbAlerts(this.db, fiId);
  }

  /** A CB operator overrides a soft fi.net_issuance rule's alert with a reason: the FI's next issuance it stops goes through once. */
  overrideComplianceAlert(alertId: string, reason: string, operatorId = 'cb-operator', key?: string): Promise<CbAlert> {
    const d = { db: this.db, rng: this.rng, nowMs: this.clock.nowMs() };
    if (key === undefined) return overrideCbAlert(d, alertId, operatorId, reason);
    return keyed(d.db, d.nowMs, key, 'cb.alert.override', { alertId, operatorId, reason }, (db) => overrideCbAlert({ ...d, db }, alertId, operatorId, reason));
  }

  /** A CB operator resolves an alert with a reason. */
  resolveComplianceAlert(alertId: string, reason: string, operatorId = 'cb-operator', key?: string): Promise<CbAlert> {
    const d = { db: this.db, rng: this.rng, nowMs: this.clock.nowMs() };
    if (key === undefined) return resolveCbAlert(d, alertId, operatorId, reason);
    return keyed(d.db, d.nowMs, key, 'cb.alert.resolve', { alertId, operatorId, reason }, (db) => resolveCbAlert({ ...d, db }, alertId, operatorId, reason));
  }

  /** Walks the CB's compliance log chain (the FI's log code, compliance_log.ts). */
  verifyComplianceLog(): Promise<ComplianceLogCheck> {
    return verifyComplianceLog(this.db);
  }

  /** The escrow authority warrants are checked against; BAD_REQUEST when this CB was given none. */
  escrow(): EscrowAuthority {
    const a = this.config.escrowAuthority;
    if (a === undefined) throw new LedgerError(LedgerErrorCode.badRequest, 'This CB was started without the escrow key holders\' verification keys; it discloses nothing');
    return a;
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  async currentPolicy(): Promise<PolicyTable> {
    const p = await latestPolicy(this.db);
    if (p === undefined) throw new LedgerError(LedgerErrorCode.badRequest, 'The CB has no policy');
    return p;
  }

  /** The policy of `version` (UNKNOWN_POLICY if the CB never published it). */
  async policyAt(version: bigint): Promise<PolicyTable> {
    const p = await policyByVersion(this.db, version);
    if (p === undefined) throw new LedgerError(LedgerErrorCode.unknownPolicy, `The CB never published policy version ${version}`);
    return p;
  }

  /** The CB-signed policy of `version`, for an FI in another process (cb_client.ts checks the signature). */
  async signedPolicyAt(version: bigint): Promise<Uint8Array> {
    return signPolicy(await this.policyAt(version), this.config.signingKey.secretKey);
  }

  /** Publishes a new policy; its version must be above the current one. */
  async setPolicy(input: { policy: PolicyTable; idempotencyKey: string }): Promise<{ version: bigint }> {
    const now = this.clock.nowMs();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'cb.setPolicy', { version: input.policy.version }, async (tx) => {
      await storePolicy(tx, input.policy, now);
      return { version: input.policy.version };
    });
    return r.value;
  }

  /** BBS public key of an epoch (G2, compressed). */
  async issuerPublicKey(epoch: bigint): Promise<Uint8Array> {
    return this.keys.forEpoch(epoch).publicKey.toBytes();
  }

  /** Policy, issuer keys of the current and next epoch, revocation list: all CB-signed. */
  async distribution(tier: number): Promise<Distribution> {
    if (!(TIERS as readonly number[]).includes(tier)) throw new LedgerError(LedgerErrorCode.badRequest, `Unknown tier ${tier}`);
    return buildDistribution(this.db, { tier, nowMs: this.clock.nowMs(), keys: this.keys, cbSecretKey: this.config.signingKey.secretKey });
  }

  /**
   * An FI froze (revoked: true) or unfroze a customer: its devices' attestation keys go on (or off)
   * the signed revocation list. A repeat changes nothing and gives the same version.
   */
  async reportDeviceRevocations(input: CbDeviceRevocationRequest & { idempotencyKey: string }): Promise<CbDeviceRevocationResult> {
    const now = this.clock.nowMs();
    const { idempotencyKey, ...request } = input;
    const r = await idempotent(this.db, now, idempotencyKey, 'cb.reportDeviceRevocations', request, (tx) =>
      reportDeviceRevocationsTx(tx, request, { nowMs: now, rng: this.rng, version: revocationVersion }),
    );
    return r.value;
  }

  /** The devices on the revocation list, newest first (CB operators). */
  deviceRevocations(): Promise<DeviceRevocation[]> {
    return listDeviceRevocations(this.db);
  }

  /** True if the customer was identified as a double spender. */
  async isBlocked(fiId: string, customerId: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 AS one FROM blocked_customers WHERE fi_id = $1 AND customer_id = $2', [fiId, customerId]);
    return rows.length > 0;
  }

  /**
   * Pins an enrolling device's K and attestation key (issuance.ts); refuses a K within δ·g_K
   * (|δ| < L_max) of a registered one. The FI calls this before it enrols the device.
   */
  async registerDevice(input: CbRegisterDeviceRequest & { idempotencyKey: string }): Promise<{ deviceId: Uint8Array; kPoint: Uint8Array }> {
    const now = this.clock.nowMs();
    const { idempotencyKey, ...request } = input;
    const r = await idempotent(this.db, now, idempotencyKey, 'cb.registerDevice', request, async (tx) => {
      const policy = await latestPolicy(tx);
      if (policy === undefined) throw new LedgerError(LedgerErrorCode.badRequest, 'The CB has no policy');
      return registerDeviceTx(tx, request, policy, now);
    });
    return r.value;
  }

  /**
   * Signs a blind issuance request for an FI's customer; the FI has checked KYC and freeze. The CB
   * checks again what it can on its own: the enrolled SE's signature, the pinned K, one per epoch.
   */
  async issueCredential(input: CbIssueRequest & { idempotencyKey: string }): Promise<CbIssueResult> {
    const now = this.clock.nowMs();
    const { idempotencyKey, ...request } = input;
    // A frozen customer's device gets no credential even from an FI that asks anyway. Checked before
    // the key is taken, so the refusal is not stored as its answer: after unfreeze the same request
    // (same nonce, same SE request) is signed.
    await refuseRevokedDevice(this.db, request.deviceId);
    const r = await idempotent(this.db, now, idempotencyKey, 'cb.issueCredential', request, async (tx) => {
      checkName(request.fiId, 'FI id');
      checkName(request.customerId, 'customer id');
      const policy = await latestPolicy(tx);
      if (!(TIERS as readonly number[]).includes(request.tier) || policy === undefined) {
        throw new LedgerError(LedgerErrorCode.badRequest, `Unknown tier ${request.tier}`);
      }
      const blocked = await tx.query('SELECT incident_id FROM blocked_customers WHERE fi_id = $1 AND customer_id = $2', [request.fiId, request.customerId]);
      if (blocked.length > 0) {
        throw new LedgerError(LedgerErrorCode.blocked, `Customer ${request.customerId} of ${request.fiId} is identified in incident ${String(blocked[0]!['incident_id'])}: no new credentials`);
      }
      const epochNow = currentEpoch(policy, request.tier, now);
      const issued = await issueTx(tx, request, { keys: this.keys, cbSecretKey: this.config.signingKey.secretKey, epochNow, nowMs: now });
      return { ...issued, paymentsPerEpoch: limitsFor(policy, request.tier).paymentsPerEpoch };
    });
    const { paymentsPerEpoch, ...issued } = r.value;
    return { ...issued, counterSet: this.keys.counterSet(issued.epoch, paymentsPerEpoch) };
  }

  /** A load voucher's CB leg: the FI's reserve moves into offline circulation. */
  async fundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const r = await this.move('cb.fundCirculation', input, (fiId) => ({ from: cbReserveAccount(fiId), to: CB_CIRCULATION_ACCOUNT }), 'to');
    await this.screenFi(input.fiId);
    return r;
  }

  /**
   * An unload record's CB leg: value leaves circulation back into the FI's reserve. A shortfall in
   * circulation is covered from cb:incident within the exposure of open double-spend incidents
   * (incident_draws.ts); without one it is refused (INSUFFICIENT_FUNDS).
   */
  async defundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const now = this.clock.nowMs();
    const operation = 'cb.defundCirculation';
    const request = { fiId: input.fiId, amountMinor: input.amountMinor, reference: undefined };
    const r = await idempotent(this.db, now, input.idempotencyKey, operation, request, async (tx) => {
      const amountMinor = checkAmount(input.amountMinor);
      const to = cbReserveAccount(checkName(input.fiId, 'FI id'));
      const m = await postOutOfCirculation(tx, this.rng, now, { operation, to, amountMinor, journalKey: input.idempotencyKey });
      return { transactionId: m.transactionId, balanceMinor: m.toBalanceMinor };
    });
    await this.screenFi(input.fiId);
    return r.value;
  }

  /**
   * Books value a double spend created (found as negative in-flight value once all have synced).
   * When `reference` is an incident id, the value is that incident's: what was already drawn
   * against it to cover defunds is counted, only the rest moves, and the incident is closed to
   * draws (incident_draws.ts). Any other reference books the amount as it is.
   */
  async bookIncidentValue(input: { amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<MoveResult> {
    const [incident] = await listIncidents(this.db, input.reference);
    if (incident === undefined) {
      return this.move('cb.bookIncidentValue', { ...input, fiId: 'cb' }, () => ({ from: CB_INCIDENT_ACCOUNT, to: CB_CIRCULATION_ACCOUNT }), 'from', input.reference);
    }
    const now = this.clock.nowMs();
    const request = { fiId: 'cb', amountMinor: input.amountMinor, reference: input.reference };
    const r = await idempotent(this.db, now, input.idempotencyKey, 'cb.bookIncidentValue', request, (tx) =>
      bookIncident(tx, this.rng, now, { incidentId: incident.id, valueMinor: checkAmount(input.amountMinor), journalKey: input.idempotencyKey }));
    return r.value;
  }

  private async move(
    operation: string,
    input: { fiId: string; amountMinor: bigint; idempotencyKey: string },
    route: (fiId: string) => { from: string; to: string },
    report: 'from' | 'to',
    reference?: string,
  ): Promise<MoveResult> {
    const now = this.clock.nowMs();
    const request = { fiId: input.fiId, amountMinor: input.amountMinor, reference };
    const r = await idempotent(this.db, now, input.idempotencyKey, operation, request, async (tx) => {
      const amountMinor = checkAmount(input.amountMinor);
      const { from, to } = route(checkName(input.fiId, 'FI id'));
      const m = await postTwoLegMove(tx, this.rng, now, { operation, from, to, amountMinor, journalKey: input.idempotencyKey, reference });
      return { transactionId: m.transactionId, balanceMinor: report === 'from' ? m.fromBalanceMinor : m.toBalanceMinor };
    });
    return r.value;
  }

  /**
   * Registers the payments an FI settled for one uploading device: nullifiers under
   * UNIQUE(epoch, nullifier), each record kept as evidence with its uploader, and an incident for
   * every conflict — a different payment with a registered nullifier, or the same payment uploaded
   * before by another device (which only a dishonest FI would forward: FIs refuse receipts whose
   * context names another payee). One transaction under one key.
   */
  async registerPayments(input: { fiId: string; deviceId: Uint8Array; records: readonly Uint8Array[]; idempotencyKey: string }): Promise<RegisterPaymentsResult> {
    const now = this.clock.nowMs();
    const fiId = checkName(input.fiId, 'FI id');
    if (!(input.deviceId instanceof Uint8Array) || input.deviceId.length !== DEVICE_ID_BYTES) {
      throw new LedgerError(LedgerErrorCode.badRequest, `Uploader device id must be ${DEVICE_ID_BYTES} bytes`);
    }
    const request = { fiId, deviceId: bytesToHex(input.deviceId), payments: input.records.map((r) => bytesToHex(sha256(r))).join(',') };
    const policy = await this.currentPolicy();
    const r = await idempotent(this.db, now, input.idempotencyKey, 'cb.registerPayments', request, async (tx) => {
      if (input.records.length === 0 || input.records.length > SYNC_PAYMENTS_MAX) {
        throw new LedgerError(LedgerErrorCode.badRequest, `A registration carries 1..${SYNC_PAYMENTS_MAX} payments (got ${input.records.length})`);
      }
      const views = input.records.map((rec, i) => {
        const v = viewRecord(rec);
        if (!v.ok) throw new LedgerError(LedgerErrorCode.badRequest, `Payment ${i}: ${v.reason}`);
        return v.view;
      });
      const uploader = { fiId, deviceId: input.deviceId };
      const foreign = await this.storeEvidence(tx, views, uploader, now);
      const inserted = await insertNullifiersTx(tx, now, views.map((v) => ({ epoch: v.epoch, nullifier: v.nullifier, paymentHash: v.paymentHash })));
      const context = { keys: this.keys, regulatorKey: this.regulatorPoint, policy, policyAt: (v: bigint) => policyByVersion(tx, v), nowMs: now };
      const outcomes = inserted.outcomes.map((o, i) => (foreign[i] ? 'conflict' : o));
      const incidents = new Map<string, Incident>();
      for (const [i, v] of views.entries()) {
        if (outcomes[i] !== 'conflict') continue;
        const conflict = { epoch: v.epoch, nullifier: v.nullifier, paymentHash: v.paymentHash, foreignUpload: foreign[i] ? uploader : undefined };
        const incident = await recordConflict(tx, conflict, context);
        incidents.set(incident.id, incident);
      }
      const reclaimedMinor: bigint[] = [];
      for (const v of views) {
        const rows = await tx.query('SELECT payment_hash, amount_minor FROM reclaims WHERE epoch = $1 AND nullifier = $2', [v.epoch, v.nullifier]);
        reclaimedMinor.push(rows.length > 0 && equalBytes(rowBytes(rows[0]!, 'payment_hash'), v.paymentHash) ? rowBigint(rows[0]!, 'amount_minor') : 0n);
      }
      const refusals = views.flatMap((v, i) => (reclaimedMinor[i]! > 0n
        ? [signReclaimRefusal(this.config.signingKey.secretKey, { deviceId: input.deviceId, epoch: v.epoch, nullifier: v.nullifier, amountMinor: reclaimedMinor[i]! })]
        : []));
      return { outcomes, incidents: [...incidents.values()], reclaimedMinor, refusals };
    });
    if (r.value.incidents.length > 0) {
      const named = new Set([fiId, ...r.value.incidents.flatMap((i) => (i.fiId === null ? [] : [i.fiId]))]);
      for (const f of named) await this.screenFi(f);
    }
    return r.value;
  }

  /**
   * A payer FI's reclaim of a payment no payee settled (reclaim.ts cbReclaimTx): the nullifier is
   * registered as reclaimed (and so refused to any payee from now on, online and through the
   * revocation list), and circulation gives the amount back to the FI's reserve. SETTLED if a
   * payee's settlement registered the nullifier first. One transaction under one key.
   */
  async reclaimPayment(input: CbReclaimRequest & { idempotencyKey: string }): Promise<CbReclaimOutcome> {
    const now = this.clock.nowMs();
    const { idempotencyKey, ...request } = input;
    const r = await idempotent(this.db, now, idempotencyKey, 'cb.reclaim', request, async (tx) => {
      checkName(request.fiId, 'FI id');
      checkAmount(request.amountMinor);
      checkNullifierBatch([{ epoch: request.epoch, nullifier: request.nullifier, paymentHash: request.paymentHash }]);
      checkNullifierPoint(request.nullifier);
      return cbReclaimTx(tx, this.rng, now, request, idempotencyKey);
    });
    return r.value;
  }

  /** Keeps each record with its uploader; true at the positions another device had uploaded first. */
  private async storeEvidence(tx: Tx, views: readonly RecordView[], uploader: { fiId: string; deviceId: Uint8Array }, now: number): Promise<boolean[]> {
    const foreign: boolean[] = [];
    for (const v of views) {
      await tx.run(
        'INSERT INTO payment_evidence (payment_hash, epoch, nullifier, fi_id, device_id, record, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ' +
          'ON CONFLICT (payment_hash) DO NOTHING',
        [v.paymentHash, v.epoch, v.nullifier, uploader.fiId, uploader.deviceId, v.record, BigInt(now)],
      );
      const rows = await tx.query('SELECT fi_id, device_id FROM payment_evidence WHERE payment_hash = $1', [v.paymentHash]);
      const first = rows[0]!;
      const sameUploader = first['fi_id'] === uploader.fiId && first['device_id'] !== null && equalBytes(rowBytes(first, 'device_id'), uploader.deviceId);
      foreign.push(!sameUploader);
    }
    return foreign;
  }

  incidents(): Promise<Incident[]> {
    return listIncidents(this.db);
  }

  audit() {
    return this.ledger.audit();
  }
}
