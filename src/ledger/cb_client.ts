// An FI's HTTP client of its CB (the CB routes of offline_routes.ts): the same shape as
// CbOfflinePort, so an FI can run in another process, or on another machine, than its CB.
// connect() reads the CB's public keys once; every other call maps one method to one route and
// decodes the wire JSON back into typed values. Idempotency keys pass through unchanged, so an
// FI retrying after a crash gets the CB's first answer exactly as in process.

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { PolicyTable } from '../policy/limits.ts';
import { verifyPolicy } from '../policy/policy_codec.ts';
import type { MoveResult } from './cb.ts';
import type { CbIssueRequest, CbIssueResult, CbOfflinePort, CbRegisterDeviceRequest, RegisterPaymentsResult } from './central_bank.ts';
import type { CbReclaimOutcome, CbReclaimRequest } from './reclaim.ts';
import type { Distribution } from './distribution.ts';
import { LedgerError, LedgerErrorCode } from './errors.ts';
import type { Incident } from './incidents.ts';
import type { NullifierOutcome } from './nullifiers.ts';
import { callJson, distributionFromWire, wire, type Json } from './offline_client.ts';

const { str, bytes, big } = wire;
const nullableBytes = (o: Json, k: string) => (o[k] === null || o[k] === undefined ? null : bytes(o, k));

function incidentFromWire(o: Json): Incident {
  return {
    id: str(o, 'id'), epoch: big(o, 'epoch'), nullifier: bytes(o, 'nullifier'), firstPaymentHash: bytes(o, 'firstPaymentHash'),
    secondPaymentHash: bytes(o, 'secondPaymentHash'), tier: o['tier'] as number, exposureMinor: big(o, 'exposureMinor'),
    kPoint: nullableBytes(o, 'kPoint'), fiId: (o['fiId'] as string | null) ?? null, customerId: (o['customerId'] as string | null) ?? null,
    deviceId: nullableBytes(o, 'deviceId'),
    uploaderFiId: (o['uploaderFiId'] as string | null) ?? null, uploaderDeviceId: nullableBytes(o, 'uploaderDeviceId'),
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
    return new CbHttpClient(baseUrl, bytes(info, 'publicKey'), bytes(info, 'regulatorKey'), fetchFn);
  }

  private get(path: string): Promise<Json> {
    return callJson(this.fetchFn, this.baseUrl + path);
  }

  private post(path: string, payload: unknown, key: string): Promise<Json> {
    return callJson(this.fetchFn, this.baseUrl + path, payload, key);
  }

  async currentPolicy(): Promise<PolicyTable> {
    const signed = bytes(await this.get('/policy'), 'signedPolicy');
    const v = verifyPolicy(signed, this.publicKey);
    if (!v.ok) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB policy does not verify (${v.reason})`);
    return v.value;
  }

  /** The policy of one version, signed by the CB; the signature and the version are checked here. */
  async policyAt(version: bigint): Promise<PolicyTable> {
    const signed = bytes(await this.get(`/policy/${version}`), 'signedPolicy');
    const v = verifyPolicy(signed, this.publicKey);
    if (!v.ok) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB policy ${version} does not verify (${v.reason})`);
    if (v.value.version !== version) throw new LedgerError(LedgerErrorCode.signatureInvalid, `CB answered policy ${v.value.version} for version ${version}`);
    return v.value;
  }

  async distribution(tier: number): Promise<Distribution> {
    return distributionFromWire(await this.get(`/distribution/${tier}`));
  }

  async issuerPublicKey(epoch: bigint): Promise<Uint8Array> {
    return bytes(await this.get(`/issuer-keys/${epoch}`), 'publicKey');
  }

  async isBlocked(fiId: string, customerId: string): Promise<boolean> {
    return (await this.get(`/fis/${encodeURIComponent(fiId)}/customers/${encodeURIComponent(customerId)}/blocked`))['blocked'] === true;
  }

  async registerDevice(input: CbRegisterDeviceRequest & { idempotencyKey: string }): Promise<{ deviceId: Uint8Array; kPoint: Uint8Array }> {
    const o = await this.post('/devices', {
      fiId: input.fiId, customerId: input.customerId, deviceId: bytesToHex(input.deviceId), kPoint: bytesToHex(input.kPoint), attestationKey: bytesToHex(input.attestationKey),
    }, input.idempotencyKey);
    return { deviceId: bytes(o, 'deviceId'), kPoint: bytes(o, 'kPoint') };
  }

  async issueCredential(input: CbIssueRequest & { idempotencyKey: string }): Promise<CbIssueResult> {
    const o = await this.post('/credentials', {
      fiId: input.fiId, customerId: input.customerId, deviceId: bytesToHex(input.deviceId), tier: input.tier, deviceClass: input.deviceClass,
      epoch: input.epoch.toString(), issuerNonce: bytesToHex(input.issuerNonce), request: bytesToHex(input.request),
    }, input.idempotencyKey);
    return {
      epoch: big(o, 'epoch'), tier: o['tier'] as number, response: bytes(o, 'response'), issuerKeyCert: bytes(o, 'issuerKeyCert'),
      counterSet: bytes(o, 'counterSet'), kPoint: bytes(o, 'kPoint'),
    };
  }

  private async circulation(path: string, input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    const o = await this.post(path, { fiId: input.fiId, amountMinor: input.amountMinor.toString() }, input.idempotencyKey);
    return { transactionId: str(o, 'transactionId'), balanceMinor: big(o, 'balanceMinor') };
  }

  fundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.circulation('/circulation/fund', input);
  }

  defundCirculation(input: { fiId: string; amountMinor: bigint; idempotencyKey: string }): Promise<MoveResult> {
    return this.circulation('/circulation/defund', input);
  }

  async registerPayments(input: { fiId: string; deviceId: Uint8Array; records: readonly Uint8Array[]; idempotencyKey: string }): Promise<RegisterPaymentsResult> {
    const o = await this.post('/payments', { fiId: input.fiId, deviceId: bytesToHex(input.deviceId), records: input.records.map(bytesToHex) }, input.idempotencyKey);
    return {
      outcomes: o['outcomes'] as NullifierOutcome[], incidents: (o['incidents'] as Json[]).map(incidentFromWire),
      reclaimedMinor: (o['reclaimedMinor'] as string[]).map((x) => BigInt(x)),
      refusals: (o['refusals'] as string[]).map((x) => hexToBytes(x)),
    };
  }

  async bookIncidentValue(input: { amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<MoveResult> {
    const o = await this.post('/incidents/book', { amountMinor: input.amountMinor.toString(), reference: input.reference }, input.idempotencyKey);
    return { transactionId: str(o, 'transactionId'), balanceMinor: big(o, 'balanceMinor') };
  }

  async reclaimPayment(input: CbReclaimRequest & { idempotencyKey: string }): Promise<CbReclaimOutcome> {
    const o = await this.post('/reclaims', {
      fiId: input.fiId, epoch: input.epoch.toString(), nullifier: bytesToHex(input.nullifier), paymentHash: bytesToHex(input.paymentHash),
      amountMinor: input.amountMinor.toString(),
    }, input.idempotencyKey);
    return o['reclaimed'] === true ? { reclaimed: true } : { reclaimed: false, reason: 'SETTLED' };
  }
}
