// A device host's HTTP client of its FI's offline routes (http/fi_routes.ts): the same shape as
// FiSyncPort, so syncDevice and SyncCarrier work over the network exactly as in process. It turns
// the wire JSON (hex bytes, decimal integers) back into the typed results the host needs, checking
// every field (wire_read.ts: ANSWER_INVALID on a mismatch); an error answer becomes a LedgerError
// with the code the FI sent. Given the device's SE, every call is a signed device request
// (device_requests.ts): the SE spends one request counter per call, retries included.

import type { ReclaimFiling, ReclaimStatus } from '../fi/reclaim.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { SeClient } from '../../se/client.ts';
import { signedHeaders } from '../access/device_requests.ts';
import type { FiSyncPort } from './device_sync.ts';
import type { Distribution } from '../cb/distribution.ts';
import { LedgerError, LedgerErrorCode, isLedgerErrorCode } from '../errors.ts';
import type { Renewal, SyncRequest, SyncResult } from '../fi/financial_intermediary.ts';
import type { NullifierOutcome } from '../cb/nullifiers.ts';
import { WireObject, answerInvalid, sameLength } from './wire_read.ts';

const NULLIFIER_OUTCOMES: readonly NullifierOutcome[] = ['inserted', 'duplicate', 'conflict'];
const RECLAIM_STATUSES: readonly ReclaimStatus[] = ['pending', 'credited', 'settled'];
const LEDGER_ERROR_CODES = Object.values(LedgerErrorCode);

export function distributionFromWire(o: WireObject): Distribution {
  return {
    tier: o.int('tier'),
    currentEpoch: o.big('currentEpoch'),
    policyVersion: o.big('policyVersion'),
    signedPolicy: o.bytes('signedPolicy'),
    issuerKeys: o.objects('issuerKeys').map((k) => ({ epoch: k.big('epoch'), publicKey: k.bytes('publicKey'), cert: k.bytes('cert') })),
    revocationVersion: o.big('revocationVersion'),
    signedRevocationList: o.bytes('signedRevocationList'),
  };
}

function renewal(o: WireObject): Renewal {
  return o.bool('offered')
    ? { offered: true, epoch: o.big('epoch'), issuerNonce: o.bytes('issuerNonce') }
    : { offered: false, code: o.oneOf('code', LEDGER_ERROR_CODES), message: o.str('message') };
}

/**
 * One JSON call; an error answer becomes the LedgerError the node sent, an answer that is not JSON
 * or not an object is ANSWER_INVALID. Network errors propagate.
 */
export async function callJson(fetchFn: typeof fetch, url: string, payload?: unknown, key?: string, extraHeaders: Record<string, string> = {}): Promise<WireObject> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['idempotency-key'] = key;
  const method = payload === undefined ? 'GET' : 'POST';
  const where = `${method} ${new URL(url).pathname}`;
  const res = await fetchFn(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw answerInvalid(where, `HTTP ${res.status} with a body that is not JSON`);
  }
  if (res.status >= 400) {
    const err = WireObject.of(json, where);
    const e = err.has('error') ? err.obj('error') : null;
    const sent = e?.has('code') ? e.str('code') : undefined;
    const code = isLedgerErrorCode(sent) ? sent : LedgerErrorCode.answerInvalid;
    throw new LedgerError(code, e?.has('message') ? e.str('message') : `HTTP ${res.status}`);
  }
  return WireObject.of(json, where);
}

function reclaimFromWire(o: WireObject | null): ReclaimFiling | null {
  if (o === null) return null;
  return {
    outcomes: o.bytes('outcomes'),
    claims: o.objects('claims').map((c) => ({
      recordHash: c.bytes('recordHash'), paymentHash: c.bytes('paymentHash'), amountMinor: c.big('amountMinor'), windowEndMs: c.big('windowEndMs'),
      status: c.oneOf('status', RECLAIM_STATUSES),
    })),
  };
}

/**
 * One JSON call to an FI's device route, signed by the device's SE (device_requests.ts) when `se`
 * is given: the signature covers the method, the path as sent and exactly the body text sent.
 */
export async function callDevice(fetchFn: typeof fetch, se: SeClient | undefined, url: string, payload?: unknown, key?: string): Promise<WireObject> {
  if (se === undefined) return callJson(fetchFn, url, payload, key);
  const u = new URL(url);
  const headers = await signedHeaders(se, payload === undefined ? 'GET' : 'POST', u.pathname + u.search, payload === undefined ? '' : JSON.stringify(payload));
  return callJson(fetchFn, url, payload, key, headers);
}

export class FiHttpClient implements FiSyncPort {
  /** `se`: the device's SE, which signs every request (without it the FI refuses device routes). */
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
    private readonly se?: SeClient,
  ) {}

  private post(path: string, payload: unknown, key: string): Promise<WireObject> {
    return callDevice(this.fetchFn, this.se, this.baseUrl + path, payload, key);
  }

  private get(path: string): Promise<WireObject> {
    return callDevice(this.fetchFn, this.se, this.baseUrl + path);
  }

  async sync(input: SyncRequest): Promise<SyncResult> {
    const o = await this.post('/sync', {
      report: bytesToHex(input.report),
      payments: input.payments.map(bytesToHex),
      unloadRecords: (input.unloadRecords ?? []).map(bytesToHex),
      ...(input.reclaimClaims === undefined ? {} : { reclaimClaims: input.reclaimClaims.map((c) => ({ claim: bytesToHex(c.claim), record: bytesToHex(c.record) })) }),
    }, `sync-${bytesToHex(input.report).slice(-32)}`);
    const outcomes = o.enums('outcomes', NULLIFIER_OUTCOMES);
    sameLength(o.where, 'outcomes', outcomes.length, input.payments.length);
    return {
      deviceId: o.bytes('deviceId'),
      batchId: o.big('batchId'),
      ack: o.bytes('ack'),
      receiptCount: o.int('receiptCount'),
      outcomes,
      incidentIds: o.strings('incidentIds'),
      balanceMinor: o.big('balanceMinor'),
      refusals: o.hexList('refusals', true),
      replayed: o.bool('replayed'),
      unloads: o.objects('unloads').map((u) => ({ deviceId: u.bytes('deviceId'), unloadCounter: u.big('unloadCounter'), amountMinor: u.big('amountMinor'), accountBalanceMinor: u.big('accountBalanceMinor') })),
      reclaim: reclaimFromWire(o.nullableObj('reclaim')),
      distribution: distributionFromWire(o.obj('distribution')),
      renewal: renewal(o.obj('renewal')),
    };
  }

  async issueCredential(input: { deviceId: Uint8Array; issuerNonce: Uint8Array; request: Uint8Array; idempotencyKey: string }) {
    const o = await this.post(`/devices/${bytesToHex(input.deviceId)}/credentials`, { issuerNonce: bytesToHex(input.issuerNonce), request: bytesToHex(input.request) }, input.idempotencyKey);
    return {
      epoch: o.big('epoch'), tier: o.int('tier'), response: o.bytes('response'), issuerKeyCert: o.bytes('issuerKeyCert'),
      counterSet: o.bytes('counterSet'),
    };
  }

  /** Voucher `loadCounter` (the SE's next load counter) for `amountMinor`; VOUCHER_OUTSTANDING when another is unapplied. */
  async createLoadVoucher(input: { deviceId: Uint8Array; amountMinor: bigint; loadCounter: bigint; idempotencyKey: string }) {
    const body = { amountMinor: input.amountMinor.toString(), loadCounter: input.loadCounter.toString() };
    const o = await this.post(`/devices/${bytesToHex(input.deviceId)}/vouchers`, body, input.idempotencyKey);
    return { loadCounter: o.big('loadCounter'), amountMinor: o.big('amountMinor'), voucher: o.bytes('voucher'), accountBalanceMinor: o.big('accountBalanceMinor') };
  }

  /** A voucher the FI issued to the device (one whose answer the host lost). */
  async issuedVoucher(deviceId: Uint8Array, loadCounter: bigint) {
    const o = await this.get(`/devices/${bytesToHex(deviceId)}/vouchers/${loadCounter}`);
    return { loadCounter: o.big('loadCounter'), amountMinor: o.big('amountMinor'), voucher: o.bytes('voucher') };
  }
}
