// Deterministic CBOR (RFC 8949 §4.2) for SE messages and SE state, with a strict reader.
//
// Why this shape: cborg encodes canonically but cannot check map order or float forms on decode,
// so `decodeCbor` decodes strictly (no indefinite lengths, no undefined/NaN/Infinity, no duplicate
// keys, minimal integers, no tags) and then re-encodes: only bytes identical to the canonical
// encoding are accepted. `Fields` then reads one map with an exact key set, checking each
// field's type and bounds before the value is used, and throws SeDecodeError with a stable code.

import { encode, decode, rfc8949EncodeOptions } from 'cborg';
import { equalBytes } from './bytes.ts';

export type SeDecodeCode = 'LENGTH' | 'MALFORMED' | 'NOT_CANONICAL' | 'FIELD';

export class SeDecodeError extends Error {
  constructor(
    readonly code: SeDecodeCode,
    message: string,
  ) {
    super(message);
    this.name = 'SeDecodeError';
  }
}

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  rejectDuplicateMapKeys: true,
  tags: [],
} as const;

export function encodeCbor(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

/** Decodes canonical CBOR of at most `maxBytes` bytes; anything else is an SeDecodeError. */
export function decodeCbor(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.length > maxBytes) {
    throw new SeDecodeError('LENGTH', `${what}: expected at most ${maxBytes} bytes, got ${bytes.length}`);
  }
  let value: unknown;
  try {
    value = decode(bytes, DECODE_OPTIONS);
  } catch (e) {
    throw new SeDecodeError('MALFORMED', `${what}: not CBOR (${(e as Error).message})`);
  }
  let again: Uint8Array;
  try {
    again = encodeCbor(value);
  } catch {
    throw new SeDecodeError('NOT_CANONICAL', `${what}: value cannot be re-encoded canonically`);
  }
  if (!equalBytes(again, bytes)) throw new SeDecodeError('NOT_CANONICAL', `${what}: not in deterministic CBOR encoding`);
  return value;
}

const isPlainMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Reads the fields of one CBOR map whose key set must be exactly `keys`. */
export class Fields {
  private readonly map: Record<string, unknown>;

  constructor(
    value: unknown,
    keys: readonly string[],
    private readonly what: string,
  ) {
    if (!isPlainMap(value)) throw new SeDecodeError('FIELD', `${what}: expected a map`);
    const got = Object.keys(value).sort();
    const want = [...keys].sort();
    if (got.length !== want.length || got.some((k, i) => k !== want[i])) {
      throw new SeDecodeError('FIELD', `${what}: expected keys [${want.join(',')}], got [${got.join(',')}]`);
    }
    this.map = value;
  }

  private fail(key: string, expected: string): never {
    throw new SeDecodeError('FIELD', `${this.what}.${key}: expected ${expected}`);
  }

  /** Unsigned integer in [0, max] as a bigint (money, counters, times). */
  big(key: string, max: bigint = (1n << 64n) - 1n): bigint {
    const v = this.map[key];
    const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : null;
    if (b === null || b < 0n || b > max) this.fail(key, `an unsigned integer ≤ ${max}`);
    return b;
  }

  /** Unsigned integer in [0, max] as a number (indexes, small counts, enums). */
  uint(key: string, max: number): number {
    return Number(this.big(key, BigInt(max)));
  }

  bytes(key: string, minBytes: number, maxBytes = minBytes): Uint8Array {
    const v = this.map[key];
    if (!(v instanceof Uint8Array) || v.length < minBytes || v.length > maxBytes) {
      this.fail(key, minBytes === maxBytes ? `${minBytes} bytes` : `${minBytes}..${maxBytes} bytes`);
    }
    return v;
  }

  text(key: string, maxChars: number): string {
    const v = this.map[key];
    if (typeof v !== 'string' || v.length > maxChars) this.fail(key, `a string of at most ${maxChars} characters`);
    return v;
  }

  /** The type tag of a message: must equal `expected`. */
  tag(key: string, expected: string): void {
    if (this.map[key] !== expected) this.fail(key, `"${expected}"`);
  }

  list(key: string, maxItems: number): unknown[] {
    const v = this.map[key];
    if (!Array.isArray(v) || v.length > maxItems) this.fail(key, `a list of at most ${maxItems} items`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.map[key];
    if (typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  /** A nested value, for a nested reader or an optional (null) field. */
  raw(key: string): unknown {
    return this.map[key];
  }
}
