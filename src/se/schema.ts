// A small schema language for CBOR maps: one declaration gives a record's encoder and its strict
// decoder. Used for the SE's persistent state sections and for APDU request/response bodies.
//
// Why: the SE has a dozen record types; writing a Fields reader by hand for each would bury the
// handlers in codec code. A schema names each field's kind and bound; decoding checks the exact
// key set, each type and each bound (via cbor.ts's Fields) before any value is used.

import { Fields, SeDecodeError, decodeCbor, encodeCbor } from './cbor.ts';

declare const PHANTOM: unique symbol;
type KindSpec =
  | { t: 'big'; max?: bigint }
  | { t: 'int'; max: number }
  | { t: 'bytes'; min: number; max: number }
  | { t: 'text'; max: number }
  | { t: 'bool' }
  | { t: 'list'; of: AnyKind; max: number }
  | { t: 'record'; schema: Schema }
  | { t: 'nullable'; of: AnyKind };
/** A field kind; `T` (a phantom) is the TypeScript type the decoder produces for it. */
export type Kind<T> = KindSpec & { readonly [PHANTOM]?: T };
type AnyKind = Kind<unknown>;
export type Schema = Readonly<Record<string, AnyKind>>;
/** The record type a schema describes: the compiler checks it against the declared interface. */
export type Infer<S extends Schema> = { -readonly [P in keyof S]: S[P] extends Kind<infer T> ? T : never };

export const big = (max?: bigint): Kind<bigint> => (max === undefined ? { t: 'big' } : { t: 'big', max });
/** A small unsigned integer; `T` narrows it to a union of literals (e.g. a phase). */
export const int = <T extends number = number>(max: number): Kind<T> => ({ t: 'int', max });
export const bytes = (min: number, max = min): Kind<Uint8Array> => ({ t: 'bytes', min, max });
export const text = (max: number): Kind<string> => ({ t: 'text', max });
export const bool: Kind<boolean> = { t: 'bool' };
export const list = <T>(of: Kind<T>, max: number): Kind<T[]> => ({ t: 'list', of, max });
export const record = <S extends Schema>(schema: S): Kind<Infer<S>> => ({ t: 'record', schema });
export const nullable = <T>(of: Kind<T>): Kind<T | null> => ({ t: 'nullable', of });

function readField(f: Fields, key: string, kind: AnyKind, what: string): unknown {
  switch (kind.t) {
    case 'big':
      return f.big(key, kind.max);
    case 'int':
      return f.uint(key, kind.max);
    case 'bytes':
      return f.bytes(key, kind.min, kind.max);
    case 'text':
      return f.text(key, kind.max);
    case 'bool':
      return f.bool(key);
    case 'list':
      return f.list(key, kind.max).map((item, i) => readValue(item, kind.of, `${what}.${key}[${i}]`));
    case 'record':
      return readRecord(f.raw(key), kind.schema, `${what}.${key}`);
    case 'nullable':
      return f.raw(key) === null ? null : readField(f, key, kind.of, what);
  }
}

/** Reads a bare value (a list item) by wrapping it in a one-field map. */
function readValue(value: unknown, kind: AnyKind, what: string): unknown {
  return readField(new Fields({ v: value }, ['v'], what), 'v', kind, what);
}

export function readRecord(value: unknown, schema: Schema, what: string): Record<string, unknown> {
  const keys = Object.keys(schema);
  const f = new Fields(value, keys, what);
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = readField(f, key, schema[key]!, what);
  return out;
}

/** Encoder and strict decoder of one record type. */
// Property (not method) signatures, so codec types compare exactly under strictFunctionTypes.
export interface RecordCodec<T> {
  readonly what: string;
  readonly maxBytes: number;
  readonly encode: (value: T) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => T;
}

/**
 * A codec for the record a schema describes. Assigning it to `RecordCodec<Interface>` makes the
 * compiler check schema and interface field by field; the one cast below is justified by
 * readRecord having checked every field against the same schema.
 */
export function recordCodec<S extends Schema>(what: string, schema: S, maxBytes: number): RecordCodec<Infer<S>> {
  const keys = Object.keys(schema);
  return {
    what,
    maxBytes,
    encode: (value) => {
      const picked: Record<string, unknown> = {};
      for (const key of keys) picked[key] = (value as Record<string, unknown>)[key];
      return encodeCbor(picked);
    },
    decode: (b) => readRecord(decodeCbor(b, maxBytes, what), schema, what) as Infer<S>,
  };
}

/** The codec of a command with no data: zero bytes on the wire. */
export const EMPTY: RecordCodec<Record<string, never>> = {
  what: 'empty',
  maxBytes: 0,
  encode: () => new Uint8Array(0),
  decode: (b: Uint8Array) => {
    if (b.length !== 0) throw new SeDecodeError('LENGTH', `expected no data, got ${b.length} bytes`);
    return {};
  },
};
