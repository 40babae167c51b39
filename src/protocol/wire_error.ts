// The one error type of the wire format. Hostile or broken bytes are an operating error, not a
// bug: every decoder turns them into a WireError with a stable code (tests and peers match on the
// code, never on the text) and a message saying what was expected and what was found.

export const WireErrorCode = {
  /** Input longer than the message's named limit; refused before any parsing. */
  TOO_LONG: 'TOO_LONG',
  /** Input ends inside an item, or a declared length runs past the end. */
  TRUNCATED: 'TRUNCATED',
  /** Bytes left after the one top-level item. */
  TRAILING_BYTES: 'TRAILING_BYTES',
  /** Not CBOR: reserved additional info, stray break, invalid UTF-8. */
  MALFORMED: 'MALFORMED',
  /** Valid CBOR but not RFC 8949 §4.2 deterministic: non-minimal head, indefinite length, unsorted keys. */
  NOT_CANONICAL: 'NOT_CANONICAL',
  /** A map repeats a key. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** Nesting deeper than CBOR_DEPTH_MAX. */
  TOO_DEEP: 'TOO_DEEP',
  /** More items than CBOR_ITEMS_MAX. */
  TOO_MANY_ITEMS: 'TOO_MANY_ITEMS',
  /** A CBOR type the wire never uses: tags, floats, undefined, simple values. */
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE',
  /** Version field is not PROTOCOL_VERSION. */
  BAD_VERSION: 'BAD_VERSION',
  /** Message type field names another message. */
  WRONG_TYPE: 'WRONG_TYPE',
  /** A required field is absent. */
  MISSING_FIELD: 'MISSING_FIELD',
  /** A field the message does not define. */
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  /** A field has the wrong type, the wrong fixed length, or an invalid encoding (key, point). */
  BAD_FIELD: 'BAD_FIELD',
  /** A number or a variable length is outside its named bounds. */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

export function isWireError(e: unknown, code?: WireErrorCode): e is WireError {
  return e instanceof WireError && (code === undefined || e.code === code);
}

/** Short hex preview of bytes for error messages (never the whole buffer). */
export function hexPreview(bytes: Uint8Array, max = 8): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join('');
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : `${shown || '(empty)'}`;
}
