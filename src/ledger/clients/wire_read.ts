// Reading a node's JSON answer (the clients cb_client.ts and fi_client.ts): every field is
// checked for the type and form its route answers with — hex bytes lower-case and even, integers as
// decimal strings, small counts as safe integers, enumerations by value, lists as arrays — and
// anything else is a LedgerError ANSWER_INVALID naming the route and the field. A client never
// casts network JSON into a domain type: an FI that trusted a CB's nullifier outcomes unchecked
// would credit what the CB never registered.

import { hexToBytes } from '@noble/hashes/utils.js';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

export type Json = Record<string, unknown>;

const DECIMAL = /^-?\d{1,40}$/;
const HEX = /^(?:[0-9a-f]{2})*$/;

/** A checked view of one JSON object of an answer; `where` names it in errors ("CB /payments"). */
export class WireObject {
  constructor(
    private readonly o: Json,
    readonly where: string,
  ) {}

  /** The answer body as an object, or ANSWER_INVALID. */
  static of(value: unknown, where: string): WireObject {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw answerInvalid(where, 'the answer must be a JSON object');
    return new WireObject(value as Json, where);
  }

  private fail(key: string, what: string): never {
    throw answerInvalid(this.where, `${key} must be ${what}`);
  }

  has(key: string): boolean {
    return this.o[key] !== undefined && this.o[key] !== null;
  }
  str(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }
  bytes(key: string): Uint8Array {
    const v = this.o[key];
    if (typeof v !== 'string' || !HEX.test(v)) this.fail(key, 'lower-case hex');
    return hexToBytes(v);
  }
  big(key: string): bigint {
    const v = this.o[key];
    if (typeof v !== 'string' || !DECIMAL.test(v)) this.fail(key, 'a decimal string');
    return BigInt(v);
  }
  int(key: string): number {
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, 'an integer');
    return v;
  }
  bool(key: string): boolean {
    const v = this.o[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }
  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.o[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) this.fail(key, `one of ${values.join(', ')}`);
    return v as T;
  }
  nullableStr(key: string): string | null {
    return this.has(key) ? this.str(key) : null;
  }
  nullableBytes(key: string): Uint8Array | null {
    return this.has(key) ? this.bytes(key) : null;
  }
  obj(key: string): WireObject {
    return WireObject.of(this.o[key], `${this.where} ${key}`);
  }
  nullableObj(key: string): WireObject | null {
    return this.has(key) ? this.obj(key) : null;
  }
  /** A list under `key` (an absent list is empty only when `optional`), each item read by `item`. */
  list<T>(key: string, item: (v: unknown, where: string) => T, optional = false): T[] {
    const v = this.o[key];
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) this.fail(key, 'a list');
    return v.map((x, i) => item(x, `${this.where} ${key}[${i}]`));
  }
  objects(key: string): WireObject[] {
    return this.list(key, (v, where) => WireObject.of(v, where));
  }
  strings(key: string, optional = false): string[] {
    return this.list(key, (v, where) => {
      if (typeof v !== 'string') throw answerInvalid(where, 'must be a string');
      return v;
    }, optional);
  }
  hexList(key: string, optional = false): Uint8Array[] {
    return this.list(key, (v, where) => {
      if (typeof v !== 'string' || !HEX.test(v)) throw answerInvalid(where, 'must be lower-case hex');
      return hexToBytes(v);
    }, optional);
  }
  decimals(key: string): bigint[] {
    return this.list(key, (v, where) => {
      if (typeof v !== 'string' || !DECIMAL.test(v)) throw answerInvalid(where, 'must be a decimal string');
      return BigInt(v);
    });
  }
  enums<T extends string>(key: string, values: readonly T[]): T[] {
    return this.list(key, (v, where) => {
      if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw answerInvalid(where, `must be one of ${values.join(', ')}`);
      return v as T;
    });
  }
}

export function answerInvalid(where: string, what: string): LedgerError {
  return new LedgerError(LedgerErrorCode.answerInvalid, `${where} answered badly: ${what}`);
}

/** Fails unless a list the node answered has one entry per item the client sent. */
export function sameLength(where: string, what: string, got: number, sent: number): void {
  if (got !== sent) throw answerInvalid(where, `${got} ${what} for ${sent} sent`);
}
