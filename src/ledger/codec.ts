// JSON with bigints and bytes, for answers stored under an idempotency key and for request hashes.
// Stored answers must come back exactly as first given (bigint stays bigint), so both are tagged;
// request hashing needs one canonical text per request, so object keys are sorted.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { assert } from '../crypto/assert.ts';

const BIGINT_TAG = '$bigint';
const BYTES_TAG = '$bytes';
/** Wraps a plain object that has a `$` key of its own, so it can never be read back as a tag. */
const OBJECT_TAG = '$object';

function tag(value: unknown): unknown {
  if (typeof value === 'bigint') return { [BIGINT_TAG]: value.toString() };
  if (value instanceof Uint8Array) return { [BYTES_TAG]: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value).sort();
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = tag(v);
    }
    return keys.some((k) => k.startsWith('$')) ? { [OBJECT_TAG]: out } : out;
  }
  assert(typeof value !== 'function' && typeof value !== 'symbol', `cannot encode a ${typeof value} as JSON`);
  return value;
}

function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o[BIGINT_TAG] === 'string') return BigInt(o[BIGINT_TAG]);
    if (keys.length === 1 && typeof o[BYTES_TAG] === 'string') return hexToBytes(o[BYTES_TAG]);
    const inner = keys.length === 1 && keys[0] === OBJECT_TAG ? (o[OBJECT_TAG] as Record<string, unknown>) : o;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(inner)) out[k] = untag(inner[k]);
    return out;
  }
  return value;
}

/** Canonical text: sorted keys, tagged bigints and bytes. */
export function encodeTagged(value: unknown): string {
  return JSON.stringify(tag(value));
}

export function decodeTagged(text: string): unknown {
  return untag(JSON.parse(text));
}

/** SHA-256 hex of the canonical text of an operation name and its request. */
export function requestHash(operation: string, request: unknown): string {
  return bytesToHex(sha256(new TextEncoder().encode(encodeTagged({ operation, request }))));
}

/** Plain JSON for HTTP: bigint as a decimal string, bytes as hex. */
export function toWireJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map(toWireJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWireJson(v);
    return out;
  }
  return value;
}
