// An FI's HTTP client of its CB (the CB's offline routes, http/cb_routes.ts): the same shape as
// CbOfflinePort, so an FI can run in another process, or on another machine, than its CB.
// connect() reads the CB's public keys once; every other call maps one method to one route and
// decodes the wire JSON back into typed values, every field checked (wire_read.ts). Idempotency keys pass through unchanged, so an
// FI retrying after a crash gets the CB's first answer exactly as in process.

import { bytesToHex } from '@noble/hashes/utils.js';
import type { PolicyTable } from '../../policy/limits.ts';
import { verifyPolicy } from '../../policy/policy_codec.ts';
import type { MoveResult } from '../cb/book.ts';
import type {
  CbDeviceRevocationRequest, CbDeviceRevocationResult, CbIssueRequest, CbIssueResult, CbOfflinePort, CbRegisterDeviceRequest, RegisterPaymentsResult,
} from '../cb/central_bank.ts';
import type { CbReclaimOutcome, CbReclaimRequest } from '../fi/reclaim.ts';
import type { Distribution } from '../cb/distribution.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { Incident } from '../cb/incidents.ts';
import type { NullifierOutcome } from '../cb/nullifiers.ts';
import { callJson, distributionFromWire } from './fi_client.ts';
import { sameLength, type WireObject } from './wire_read.ts';

const NULLIFIER_OUTCOMES: readonly NullifierOutcome[] = ['inserted', 'duplicate', 'conflict'];

function incidentFromWire(o: WireObject): Incident {
  return {
    id: o.str('id'), epoch: o.big('epoch'), nullifier: o.bytes('nullifier'), firstPaymentHash: o.bytes('firstPaymentHash'),
    secondPaymentHash: o.bytes('secondPaymentHash'), tier: o.int('tier'), exposureMinor: o.big('exposureMinor'),
    kPoint: o.nullableBytes('kPoint'), fiId: o.nullableStr('fiId'), customerId: o.nullableStr('customerId'),
    deviceId: o.nullableBytes('deviceId'),
    uploaderFiId: o.nullableStr('uploaderFiId'), uploaderDeviceId: o.nullableBytes('uploaderDeviceId'),
  };
}

export class CbHttpClient implements CbOfflinePort {
  private constructor(
    private readonly baseUrl: string,
    readonly publicKey: Uint8Array,
    readonly regulatorKey: Uint8Array,
    private readonly fetchFn: typeof fetch,
  ) {}

  /** `baseUrl` is the CB's root (e.g. http://cb:8080/cb). */
  static async connect(baseUrl: string, fetchFn: typeof fetch = fetch): Promise<CbHttpClient> {
    const info = await callJson(fetchFn, `${baseUrl}/info`);
    return new CbHttpClient(baseUrl, info.bytes('publicKey'), info.bytes('regulatorKey'), fetchFn);
  }

  private get(path: string): Promise<WireObject> {
    return callJson(this.fetchFn, this.baseUrl + path);
  }

  private post(path: string, payload: unknown, key: string): Promise<WireObject> {
    return callJson(this.fetchFn, this.baseUrl + path, payload, key);
  }

  async currentPolicy(): Promise<PolicyTable> {
    const signed = (await this.get('/policy')).bytes('signedPolicy');
    const v = verifyPolicy(signed, this.publicKey);
    if (!v.ok) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB policy does not verify (${v.reason})`);
    return v.value;
  }

  /** The policy of one version, signed by the CB; the signature and the version are checked here. */
  async policyAt(version: bigint): Promise<PolicyTable> {
    const signed = (await this.get(`/policy/${version}`)).bytes('signedPolicy');
    const v = verifyPolicy(signed, this.publicKey);
    if (!v.ok) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB policy ${version} does not verify (${v.reason})`);
    if (v.value.version !== version) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB answered policy ${v.value.version} for version ${version}`);
    return v.value;
  }

  async distribution(tier: number): Promise<Distribution> {
    return distributionFromWire(await this.get(`/distribution/${tier}`));
  }

  async issuerPublicKey(epoch: bigint): Promise<Uint8Array> {
    return (await this.get(`/issuer-keys/${epoch}`)).bytes('publicKey');
  }

  async isBlocked(fiId: string, customerId: string): Promise<boolean> {
    return (await this.get(`/fis/${encodeURIComponent(fiId)}/customers/${encodeURIComponent(customerId)}/blocked`)).bool('blocked');
  }

  async registerDevice(input: CbRegisterDeviceRequest & { idempotencyKey: string }): Promise<{ deviceId: Uint8Array; kPoint: Uint8Array }> {
    const o = await this.post('/devices', {
      fiId: input.fiId, customerId: input.customerId, deviceId: bytesToHex(input.deviceId), kPoint: bytesToHex(input.kPoint), attestationKey: bytesToHex(input.attestationKey),
    }, input.idempotencyKey);
    return { deviceId: o.bytes('deviceId'), kPoint: o.bytes('kPoint') };
  }

  async issueCredential(input: CbIssueRequest & { idempotencyKey: string }): Promise<CbIssueResult> {
    const o = await this.post('/credentials', {
      fiId: input.fiId, customerId: input.customerId, deviceId: bytesToHex(input.deviceId), tier: input.tier, deviceClass: input.deviceClass,
      epoch: input.epoch.toString(), issuerNonce: bytesToHex(input.issuerNonce), request: bytesToHex(input.request),
    }, input.idempotencyKey);
    return {
      epoch: o.big('epoch'), tier: o.int('tier'), response: o.bytes('response'), issuerKeyCert: o.bytes('issuerKeyCert'),
      counterSet: o.bytes('counterSet'), kPoint: o.bytes('kPoint'),
    };
  }

  private async circulation(path: string, input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const o = await this.post(path, { fiId: input.fiId, amountMinor: input.amountMinor.toString() }, input.idempotencyKey);
    return { transactionId: o.str('transactionId'), balanceMinor: o.big('balanceMinor') };
  }

  fundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.circulation('/circulation/fund', input);
  }

  defundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.circulation('/circulation/defund', input);
  }

  async registerPayments(input: { fiId: string; deviceId: Uint8Array; records: readonly Uint8Array[]; idempotencyKey: string }): Promise<RegisterPaymentsResult> {
    const o = await this.post('/payments', { fiId: input.fiId, deviceId: bytesToHex(input.deviceId), records: input.records.map(bytesToHex) }, input.idempotencyKey);
    const outcomes = o.enums('outcomes', NULLIFIER_OUTCOMES);
    sameLength(o.where, 'outcomes', outcomes.length, input.records.length);
    return { outcomes, incidents: o.objects('incidents').map(incidentFromWire), reclaimedMinor: o.decimals('reclaimedMinor'), refusals: o.hexList('refusals') };
  }

  async reportDeviceRevocations(input: CbDeviceRevocationRequest & { idempotencyKey: string }): Promise<CbDeviceRevocationResult> {
    const o = await this.post('/device-revocations', {
      fiId: input.fiId, customerId: input.customerId, revoked: input.revoked, deviceKeys: input.deviceKeys.map(bytesToHex),
    }, input.idempotencyKey);
    return { changed: o.int('changed'), revocationVersion: o.big('revocationVersion') };
  }

  async bookIncidentValue(input: { amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<MoveResult> {
    const o = await this.post('/incidents/book', { amountMinor: input.amountMinor.toString(), reference: input.reference }, input.idempotencyKey);
    return { transactionId: o.str('transactionId'), balanceMinor: o.big('balanceMinor') };
  }

  async reclaimPayment(input: CbReclaimRequest & { idempotencyKey: string }): Promise<CbReclaimOutcome> {
    const o = await this.post('/reclaims', {
      fiId: input.fiId, epoch: input.epoch.toString(), nullifier: bytesToHex(input.nullifier), paymentHash: bytesToHex(input.paymentHash),
      amountMinor: input.amountMinor.toString(),
    }, input.idempotencyKey);
    return o.bool('reclaimed') ? { reclaimed: true } : { reclaimed: false, reason: 'SETTLED' };
  }
}
