// A device host's HTTP client of its FI's offline routes (offline_routes.ts): the same shape as
// FiSyncPort, so syncDevice and SyncCarrier work over the network exactly as in process. It turns
// the wire JSON (hex bytes, decimal integers) back into the typed results the host needs; an error
// answer becomes a LedgerError with the code the FI sent.

import type { ReclaimFiling, ReclaimStatus } from './reclaim.ts';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import type { FiSyncPort } from './device_sync.ts';
import type { Distribution } from './distribution.ts';
import { LedgerError, LedgerErrorCode, isLedgerErrorCode } from './errors.ts';
import type { Renewal, SyncRequest, SyncResult } from './financial_intermediary.ts';
import type { NullifierOutcome } from './nullifiers.ts';

export type Json = Record<string, unknown>;
const str = (o: Json, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string') throw new LedgerError(LedgerErrorCode.badRequest, `FI answer: ${k} must be a string`);
  return v;
};
const bytes = (o: Json, k: string) => hexToBytes(str(o, k));
const big = (o: Json, k: string) => BigInt(str(o, k));

export const wire = { str, bytes, big };

export function distributionFromWire(o: Json): Distribution {
  return {
    tier: o['tier'] as number,
    currentEpoch: big(o, 'currentEpoch'),
    policyVersion: big(o, 'policyVersion'),
    signedPolicy: bytes(o, 'signedPolicy'),
    issuerKeys: (o['issuerKeys'] as Json[]).map((k) => ({ epoch: big(k, 'epoch'), publicKey: bytes(k, 'publicKey'), cert: bytes(k, 'cert') })),
    revocationVersion: big(o, 'revocationVersion'),
    signedRevocationList: bytes(o, 'signedRevocationList'),
  };
}

function renewal(o: Json): Renewal {
  return o['offered'] === true
    ? { offered: true, epoch: big(o, 'epoch'), issuerNonce: bytes(o, 'issuerNonce') }
    : { offered: false, code: str(o, 'code') as LedgerErrorCode, message: str(o, 'message') };
}

/** One JSON call; an error answer becomes the LedgerError the node sent. Network errors propagate. */
export async function callJson(fetchFn: typeof fetch, url: string, payload?: unknown, key?: string): Promise<Json> {
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetchFn(url, { method: payload === undefined ? 'GET' : 'POST', headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  const json = (await res.json()) as Json;
  if (res.status >= 400) {
    const err = json['error'] as { code?: unknown; message?: unknown } | undefined;
    const code = isLedgerErrorCode(err?.code) ? err.code : LedgerErrorCode.badRequest;
    throw new LedgerError(code, String(err?.message ?? `HTTP ${res.status}`));
  }
  return json;
}

function reclaimFromWire(o: Json | null | undefined): ReclaimFiling | null {
  if (o === null || o === undefined) return null;
  return {
    outcomes: bytes(o, 'outcomes'),
    claims: (o['claims'] as Json[]).map((c) => ({
      recordHash: bytes(c, 'recordHash'), paymentHash: bytes(c, 'paymentHash'), amountMinor: big(c, 'amountMinor'), windowEndMs: big(c, 'windowEndMs'),
      status: c['status'] as ReclaimStatus,
    })),
  };
}

export class FiHttpClient implements FiSyncPort {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  private post(path: string, payload: unknown, key: string): Promise<Json> {
    return callJson(this.fetchFn, this.baseUrl + path, payload, key);
  }

  async sync(input: SyncRequest): Promise<SyncResult> {
    const o = await this.post('/sync', {
      report: bytesToHex(input.report),
      payments: input.payments.map(bytesToHex),
      unloadRecords: (input.unloadRecords ?? []).map(bytesToHex),
      ...(input.reclaimClaims === undefined ? {} : { reclaimClaims: input.reclaimClaims.map((c) => ({ claim: bytesToHex(c.claim), record: bytesToHex(c.record) })) }),
    }, `sync-${bytesToHex(input.report).slice(-32)}`);
    return {
      deviceId: bytes(o, 'deviceId'),
      batchId: big(o, 'batchId'),
      ack: bytes(o, 'ack'),
      receiptCount: o['receiptCount'] as number,
      outcomes: o['outcomes'] as NullifierOutcome[],
      incidentIds: o['incidentIds'] as string[],
      balanceMinor: big(o, 'balanceMinor'),
      refusals: ((o['refusals'] as string[] | undefined) ?? []).map((x) => hexToBytes(x)),
      replayed: o['replayed'] as boolean,
      unloads: (o['unloads'] as Json[]).map((u) => ({ deviceId: bytes(u, 'deviceId'), unloadCounter: big(u, 'unloadCounter'), amountMinor: big(u, 'amountMinor'), accountBalanceMinor: big(u, 'accountBalanceMinor') })),
      reclaim: reclaimFromWire(o['reclaim'] as Json | null | undefined),
      distribution: distributionFromWire(o['distribution'] as Json),
      renewal: renewal(o['renewal'] as Json),
    };
  }

  async issueCredential(input: { deviceId: Uint8Array; issuerNonce: Uint8Array; request: Uint8Array; idempotencyKey: string }) {
    const o = await this.post(`/devices/${bytesToHex(input.deviceId)}/credentials`, { issuerNonce: bytesToHex(input.issuerNonce), request: bytesToHex(input.request) }, input.idempotencyKey);
    return {
      epoch: big(o, 'epoch'), tier: o['tier'] as number, response: bytes(o, 'response'), issuerKeyCert: bytes(o, 'issuerKeyCert'),
      counterSet: bytes(o, 'counterSet'),
    };
  }

  async createLoadVoucher(input: { deviceId: Uint8Array; amountMinor: bigint; idempotencyKey: string }) {
    const o = await this.post(`/devices/${bytesToHex(input.deviceId)}/vouchers`, { amountMinor: input.amountMinor.toString() }, input.idempotencyKey);
    return { loadCounter: big(o, 'loadCounter'), voucher: bytes(o, 'voucher'), accountBalanceMinor: big(o, 'accountBalanceMinor') };
  }
}
