// Signed device requests (issue 11): how an FI tells that a request to one of its device routes
// comes from the enrolled SE it names, now, and only once.
//
// Wire format. A device request carries three headers:
//   Tally-Device: <device id, 32 lower-case hex digits>
//   Tally-Request-Counter: <the SE's request counter, decimal, 1 … 2^63 − 1>
//   Tally-Request-Signature: <ECDSA P-256 compact signature r || s, 128 lower-case hex digits>
// The host hashes the request to
//   digest = SHA-256( lp(method) || lp(path) || lp(SHA-256(raw body)) ),   lp(x) = u32 BE length || x
// where `path` is the request target exactly as sent — the FI's prefix (/fi/<fiId>) and any query
// string included — and the raw body is the JSON text sent (empty for a GET). The SE spends its next
// request counter on the digest and signs (device id, counter, digest) with its attestation key
// (se/request_signature.ts, command SIGN_REQUEST).
//
// The FI's check (deviceRequests, the gate's device source, gate.ts): loads the device, verifies
// the signature under the attestation key it verified at enrolment, then raises the device's
// last_request_counter with one conditional UPDATE (… WHERE last_request_counter < counter), so a
// replay — or a copy racing its original on another connection — and any counter at or below the
// last accepted one is refused (401 REQUEST_REPLAYED), and nothing else is touched. The route's
// grant then asks that the signer be the device the request acts on (403 otherwise).
//
// A request admitted here and refused later (by its grant, its schema or its handler) keeps its
// counter spent: the FI never gives a counter back, and the host simply signs again (a new counter)
// to retry. A host that sends requests in parallel may see the later-signed one arrive first and
// the other refused as reordered; it retries that one with a fresh signature.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { FastifyRequest } from 'fastify';
import { concat } from '../../se/bytes.ts';
import type { SeClient } from '../../se/client.ts';
import { verifyDeviceRequest } from '../../se/request_signature.ts';
import type { DeviceCaller } from './gate.ts';
import { rowBytes, rowString, type Db } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

export const DEVICE_HEADER = 'tally-device';
export const REQUEST_COUNTER_HEADER = 'tally-request-counter';
export const REQUEST_SIGNATURE_HEADER = 'tally-request-signature';
/** The database keeps counters as BIGINT: the FI accepts none above this. */
export const REQUEST_COUNTER_ACCEPTED_MAX = (1n << 63n) - 1n;

const DEVICE_ID_HEX = /^[0-9a-f]{32}$/;
const COUNTER_DECIMAL = /^[1-9][0-9]{0,18}$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** The digest an SE signs for one HTTP request (see the file comment). */
export function requestDigest(method: string, path: string, rawBody: string): Uint8Array {
  const enc = new TextEncoder();
  return sha256(concat(lengthPrefixed(enc.encode(method.toUpperCase())), lengthPrefixed(enc.encode(path)), lengthPrefixed(sha256(enc.encode(rawBody)))));
}

/** Host: has the SE sign `method path body` and answers the three headers that carry it. */
export async function signedHeaders(se: SeClient, method: string, path: string, body: string): Promise<Record<string, string>> {
  const info = await se.getInfo();
  if (info.deviceId === null) throw new LedgerError(LedgerErrorCode.badRequest, 'This SE has no device id yet: it cannot sign FI requests before personalisation');
  const { counter, signature } = await se.signRequest(requestDigest(method, path, body));
  return { [DEVICE_HEADER]: bytesToHex(info.deviceId), [REQUEST_COUNTER_HEADER]: counter.toString(), [REQUEST_SIGNATURE_HEADER]: bytesToHex(signature) };
}

interface SignedClaim {
  deviceId: Uint8Array;
  counter: bigint;
  signature: Uint8Array;
}

const refuse = (why: string): never => {
  throw new LedgerError(LedgerErrorCode.unauthenticated, `Device request refused: ${why}`);
};

/** The three headers, checked for shape; null when the request carries none of them. */
function readClaim(req: FastifyRequest): SignedClaim | null {
  const raw = [DEVICE_HEADER, REQUEST_COUNTER_HEADER, REQUEST_SIGNATURE_HEADER].map((h) => req.headers[h]);
  if (raw.every((v) => v === undefined)) return null;
  const [device, counter, signature] = raw.map((v) => (typeof v === 'string' ? v : null));
  if (device === null || counter === null || signature === null) {
    return refuse('it needs exactly one each of the Tally-Device, Tally-Request-Counter and Tally-Request-Signature headers');
  }
  if (!DEVICE_ID_HEX.test(device!)) refuse(`Tally-Device must be 32 lower-case hex digits (got ${device!.length} characters)`);
  if (!COUNTER_DECIMAL.test(counter!) || BigInt(counter!) > REQUEST_COUNTER_ACCEPTED_MAX) {
    refuse(`Tally-Request-Counter must be a decimal integer from 1 to ${REQUEST_COUNTER_ACCEPTED_MAX}`);
  }
  if (!SIGNATURE_HEX.test(signature!)) refuse(`Tally-Request-Signature must be 128 lower-case hex digits (got ${signature!.length} characters)`);
  return { deviceId: hexToBytes(device!), counter: BigInt(counter!), signature: hexToBytes(signature!) };
}

/**
 * The gate's device source for one FI (gate.ts CallerSources.device): null without device
 * headers; UNAUTHENTICATED for malformed headers, an unknown device or a bad signature;
 * REQUEST_REPLAYED for a counter not above the last accepted one; else the device, its counter spent.
 */
export function deviceRequests(fi: { db: Db }) {
  return async (req: FastifyRequest, rawBody: string): Promise<DeviceCaller | null> => {
    const claim = readClaim(req);
    if (claim === null) return null;
    const hex = bytesToHex(claim.deviceId);
    const rows = await fi.db.query('SELECT public_key, customer_id, account_id FROM devices WHERE device_id = $1', [claim.deviceId]);
    const row = rows[0] ?? refuse(`device ${hex} is not enrolled at this FI`);
    const digest = requestDigest(req.method, req.url, rawBody);
    if (!verifyDeviceRequest(rowBytes(row, 'public_key'), claim.deviceId, claim.counter, digest, claim.signature)) {
      refuse(`the signature does not verify under device ${hex}'s enrolled key for ${req.method} ${req.url} and counter ${claim.counter}`);
    }
    const raised = await fi.db.run('UPDATE devices SET last_request_counter = $2 WHERE device_id = $1 AND last_request_counter < $2', [claim.deviceId, claim.counter]);
    if (raised !== 1) {
      throw new LedgerError(LedgerErrorCode.requestReplayed, `Device request refused: counter ${claim.counter} of device ${hex} is not above the last one this FI accepted (a replayed or reordered request; sign it again)`);
    }
    return { kind: 'device', deviceId: claim.deviceId, customerId: rowString(row, 'customer_id'), accountId: rowString(row, 'account_id'), counter: claim.counter };
  };
}
