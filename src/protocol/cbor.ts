// Deterministic CBOR (RFC 8949 §4.2) for the wire. Encoding uses cborg with bytewise key order.
// Decoding of untrusted bytes is belt and braces: (1) the length against the caller's limit,
// (2) the structural scan of cbor_scan.ts (bounds, canonical heads, key order, depth, types),
// (3) cborg's strict decoder, (4) re-encode and compare bytes, so any input that is not the one
// canonical encoding of its value is refused even if a check above had a gap.

import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { assert } from '../crypto/assert.ts';
import { CBOR_DEPTH_MAX, CBOR_ITEMS_MAX } from './limits.ts';
import { compareBytes, scanCanonical } from './cbor_scan.ts';
import { WireError, WireErrorCode } from './wire_error.ts';

/** The values the wire carries. Maps decode as `Map` so integer keys stay integers. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>;

export interface DecodeLimits {
  /** Largest input accepted, checked before anything else. */
  bytesMax: number;
  depthMax?: number;
  itemsMax?: number;
  /** Tags allowed; none by default (the messages use none). */
  allowedTags?: readonly number[];
}

// cborg writes a non-integer or unsafe-integer number as a float, which the wire never carries:
// that is a programmer error (use bigint beyond 2^53), caught here rather than by a peer.
const ENCODE_OPTIONS = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    number: (n: number) => {
      assert(Number.isSafeInteger(n), `encodeCanonical: ${n} is not a safe integer; the wire carries no floats`);
      return null;
    },
  },
};

/** Canonical encoding: minimal heads, definite lengths, map keys in bytewise order of their encodings. */
export function encodeCanonical(value: CborValue): Uint8Array {
  const out = cborgEncode(value, ENCODE_OPTIONS);
  assert(out.length > 0, 'encodeCanonical: empty output');
  return out;
}

const STRICT_DECODE = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
  useMaps: true,
  rejectDuplicateMapKeys: true,
} as const;

/** Decodes exactly one canonical CBOR item from untrusted bytes or throws WireError. */
export function decodeCanonical(bytes: Uint8Array, limits: DecodeLimits): CborValue {
  if (bytes.length > limits.bytesMax) {
    throw new WireError(WireErrorCode.TOO_LONG, `Expected at most ${limits.bytesMax} bytes, found ${bytes.length}`);
  }
  const allowedTags = new Set(limits.allowedTags ?? []);
  scanCanonical(bytes, {
    depthMax: limits.depthMax ?? CBOR_DEPTH_MAX,
    itemsMax: limits.itemsMax ?? CBOR_ITEMS_MAX,
    allowedTags,
  });
  let value: CborValue;
  try {
    value = cborgDecode(bytes, { ...STRICT_DECODE, tags: [] }) as CborValue;
  } catch (e) {
    throw new WireError(WireErrorCode.MALFORMED, `CBOR decoder refused input that passed the scan: ${(e as Error).message}`);
  }
  let again: Uint8Array;
  try {
    again = encodeCanonical(value);
  } catch (e) {
    throw new WireError(WireErrorCode.NOT_CANONICAL, `Decoded value cannot be re-encoded: ${(e as Error).message}`);
  }
  if (compareBytes(again, bytes) !== 0) {
    throw new WireError(
      WireErrorCode.NOT_CANONICAL,
      `Expected the canonical encoding (${again.length} bytes), found a different one (${bytes.length} bytes)`,
    );
  }
  return value;
}

// ---- Field helpers: turn a decoded map into typed fields, or a WireError naming the field --------

/** A decoded message body: integer keys to values. */
export type WireMap = Map<CborValue, CborValue>;

/** Checks the top-level value is a map whose keys are exactly `keys` (all required, no others). */
export function expectMap(value: CborValue, keys: readonly number[], what: string): WireMap {
  if (!(value instanceof Map)) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${what}: expected a CBOR map, found ${describe(value)}`);
  }
  for (const k of value.keys()) {
    if (typeof k !== 'number' || !keys.includes(k)) {
      throw new WireError(WireErrorCode.UNKNOWN_FIELD, `${what}: unexpected key ${String(k)}; expected keys ${keys.join(',')}`);
    }
  }
  for (const k of keys) {
    if (!value.has(k)) throw new WireError(WireErrorCode.MISSING_FIELD, `${what}: missing field ${k}`);
  }
  return value;
}

function get(map: WireMap, key: number): CborValue {
  const v = map.get(key);
  assert(v !== undefined, `field ${key} checked present by expectMap`);
  return v;
}

/** A byte string of exactly `length` bytes (copied out of the input buffer). */
export function bytesExact(map: WireMap, key: number, name: string, length: number): Uint8Array {
  const v = get(map, key);
  if (!(v instanceof Uint8Array)) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${name}: expected a byte string, found ${describe(v)}`);
  }
  if (v.length !== length) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${name}: expected ${length} bytes, found ${v.length}`);
  }
  return v.slice();
}

/** A byte string whose length is within [min, max] (copied). */
export function bytesBounded(map: WireMap, key: number, name: string, min: number, max: number): Uint8Array {
  const v = get(map, key);
  if (!(v instanceof Uint8Array)) {
    throw new WireError(WireErrorCode.BAD_FIELD, `${name}: expected a byte string, found ${describe(v)}`);
  }
  if (v.length < min || v.length > max) {
    throw new WireError(WireErrorCode.OUT_OF_RANGE, `${name}: expected ${min}..${max} bytes, found ${v.length}`);
  }
  return v.slice();
}

/** An unsigned integer within [min, max] as a bigint (money, versions). */
export function bigintInRange(map: WireMap, key: number, name: string, min: bigint, max: bigint): bigint {
  const v = get(map, key);
  if (typeof v !== 'bigint' && typeof v !== 'number') {
    throw new WireError(WireErrorCode.BAD_FIELD, `${name}: expected an integer, found ${describe(v)}`);
  }
  assert(typeof v === 'bigint' || Number.isSafeInteger(v), 'strict decoder yields integers only');
  const x = BigInt(v);
  if (x < min || x > max) throw new WireError(WireErrorCode.OUT_OF_RANGE, `${name}: expected ${min}..${max}, found ${x}`);
  return x;
}

/** An unsigned integer within [min, max] ⊆ safe integers, as a number (times, counts, versions). */
export function uintInRange(map: WireMap, key: number, name: string, min: number, max: number): number {
  assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max, 'uintInRange: bad bounds');
  return Number(bigintInRange(map, key, name, BigInt(min), BigInt(max)));
}

function describe(v: CborValue): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Map) return `a map of ${v.size} entries`;
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  if (v === null) return 'null';
  return `${typeof v} ${String(v).slice(0, 40)}`;
}
