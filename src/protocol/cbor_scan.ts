// A structural pre-pass over untrusted CBOR, run before cborg builds any object. It walks item
// heads only, so it allocates nothing proportional to a declared length, and it gives each
// deviation from RFC 8949 §4.2 deterministic encoding its own WireError code: truncation,
// non-minimal heads, indefinite lengths, unsorted or duplicate map keys (compared as encoded
// bytes, §4.2.1), depth, item count, and types the wire never uses. cborg's own strict mode misses
// map ordering and reports everything as one generic error, hence this pass.

import { WireError, WireErrorCode } from './wire_error.ts';

export interface ScanLimits {
  depthMax: number;
  itemsMax: number;
  /** Tag numbers allowed to appear; every other tag is UNSUPPORTED_TYPE. */
  allowedTags: ReadonlySet<number>;
}

interface Cursor {
  readonly bytes: Uint8Array;
  pos: number;
  items: number;
  readonly limits: ScanLimits;
}

interface Head {
  major: number;
  info: number;
  /** Argument for majors 0–6; for major 7 the simple value or float bits are not needed. */
  arg: bigint;
  start: number;
}

const MAJOR_NAMES = ['uint', 'negint', 'bytes', 'text', 'array', 'map', 'tag', 'simple/float'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks that `bytes` is exactly one deterministic CBOR item within the limits; throws WireError. */
export function scanCanonical(bytes: Uint8Array, limits: ScanLimits): void {
  const cur: Cursor = { bytes, pos: 0, items: 0, limits };
  if (bytes.length === 0) throw new WireError(WireErrorCode.TRUNCATED, 'Expected a CBOR item, found 0 bytes');
  scanItem(cur, 1);
  if (cur.pos !== bytes.length) {
    throw new WireError(
      WireErrorCode.TRAILING_BYTES,
      `Expected one CBOR item of ${cur.pos} bytes, found ${bytes.length - cur.pos} extra bytes after it`,
    );
  }
}

function need(cur: Cursor, n: number, what: string): void {
  if (cur.pos + n > cur.bytes.length) {
    throw new WireError(
      WireErrorCode.TRUNCATED,
      `Expected ${n} bytes of ${what} at offset ${cur.pos}, found ${cur.bytes.length - cur.pos}`,
    );
  }
}

function readHead(cur: Cursor): Head {
  need(cur, 1, 'item head');
  const start = cur.pos;
  const ib = cur.bytes[cur.pos++]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  if (info < 24) return { major, info, arg: BigInt(info), start };
  if (info >= 28 && info <= 30) {
    throw new WireError(WireErrorCode.MALFORMED, `Reserved additional info ${info} at offset ${start} (initial byte 0x${ib.toString(16)})`);
  }
  if (info === 31) return { major, info, arg: -1n, start };
  const len = 1 << (info - 24);
  need(cur, len, `${MAJOR_NAMES[major]} argument`);
  let arg = 0n;
  for (let i = 0; i < len; i++) arg = (arg << 8n) | BigInt(cur.bytes[cur.pos++]!);
  if (major !== 7) {
    const floor = info === 24 ? 24n : 1n << BigInt(8 * (len / 2));
    if (arg < floor) {
      throw new WireError(
        WireErrorCode.NOT_CANONICAL,
        `Non-minimal ${MAJOR_NAMES[major]} head at offset ${start}: value ${arg} took ${len + 1} bytes, expected fewer`,
      );
    }
  }
  return { major, info, arg, start };
}

function countItem(cur: Cursor): void {
  cur.items += 1;
  if (cur.items > cur.limits.itemsMax) {
    throw new WireError(WireErrorCode.TOO_MANY_ITEMS, `Expected at most ${cur.limits.itemsMax} CBOR items, found more`);
  }
}

function scanItem(cur: Cursor, depth: number): void {
  countItem(cur);
  const head = readHead(cur);
  if (head.info === 31) rejectIndefinite(head);
  switch (head.major) {
    case 0:
    case 1:
      return;
    case 2:
    case 3:
      return scanString(cur, head);
    case 4:
      return scanArray(cur, head, depth);
    case 5:
      return scanMap(cur, head, depth);
    case 6:
      return scanTag(cur, head, depth);
    default:
      return scanSimple(head);
  }
}

function rejectIndefinite(head: Head): never {
  if (head.major >= 2 && head.major <= 5) {
    throw new WireError(
      WireErrorCode.NOT_CANONICAL,
      `Indefinite-length ${MAJOR_NAMES[head.major]} at offset ${head.start}; deterministic CBOR needs a definite length`,
    );
  }
  const what = head.major === 7 ? 'stray break code' : `additional info 31 on ${MAJOR_NAMES[head.major]}`;
  throw new WireError(WireErrorCode.MALFORMED, `Unexpected ${what} at offset ${head.start}`);
}

function remaining(cur: Cursor): bigint {
  return BigInt(cur.bytes.length - cur.pos);
}

function scanString(cur: Cursor, head: Head): void {
  if (head.arg > remaining(cur)) {
    throw new WireError(
      WireErrorCode.TRUNCATED,
      `${MAJOR_NAMES[head.major]} at offset ${head.start} declares ${head.arg} bytes, only ${remaining(cur)} remain`,
    );
  }
  const len = Number(head.arg);
  if (head.major === 3) {
    try {
      utf8.decode(cur.bytes.subarray(cur.pos, cur.pos + len));
    } catch {
      throw new WireError(WireErrorCode.MALFORMED, `Text string at offset ${head.start} is not valid UTF-8`);
    }
  }
  cur.pos += len;
}

function enter(cur: Cursor, head: Head, depth: number): void {
  if (depth + 1 > cur.limits.depthMax) {
    throw new WireError(
      WireErrorCode.TOO_DEEP,
      `${MAJOR_NAMES[head.major]} at offset ${head.start} nests to depth ${depth + 1}, expected at most ${cur.limits.depthMax}`,
    );
  }
}

function scanArray(cur: Cursor, head: Head, depth: number): void {
  // Every element takes at least one byte: a count above the bytes left is a truncation, found
  // before looping over a count an attacker chose.
  if (head.arg > remaining(cur)) {
    throw new WireError(WireErrorCode.TRUNCATED, `Array at offset ${head.start} declares ${head.arg} items, only ${remaining(cur)} bytes remain`);
  }
  if (head.arg > 0n) enter(cur, head, depth);
  for (let i = 0n; i < head.arg; i++) scanItem(cur, depth + 1);
}

function scanMap(cur: Cursor, head: Head, depth: number): void {
  if (2n * head.arg > remaining(cur)) {
    throw new WireError(WireErrorCode.TRUNCATED, `Map at offset ${head.start} declares ${head.arg} entries, only ${remaining(cur)} bytes remain`);
  }
  if (head.arg > 0n) enter(cur, head, depth);
  let previousKey: Uint8Array | undefined;
  for (let i = 0n; i < head.arg; i++) {
    const keyStart = cur.pos;
    scanItem(cur, depth + 1);
    const key = cur.bytes.subarray(keyStart, cur.pos);
    if (previousKey !== undefined) {
      const order = compareBytes(previousKey, key);
      if (order === 0) {
        throw new WireError(WireErrorCode.DUPLICATE_KEY, `Map at offset ${head.start} repeats a key at offset ${keyStart}`);
      }
      if (order > 0) {
        throw new WireError(
          WireErrorCode.NOT_CANONICAL,
          `Map at offset ${head.start}: key at offset ${keyStart} sorts before the previous key; expected bytewise ascending keys`,
        );
      }
    }
    previousKey = key;
    scanItem(cur, depth + 1);
  }
}

function scanTag(cur: Cursor, head: Head, depth: number): void {
  if (head.arg > BigInt(Number.MAX_SAFE_INTEGER) || !cur.limits.allowedTags.has(Number(head.arg))) {
    throw new WireError(WireErrorCode.UNSUPPORTED_TYPE, `Tag ${head.arg} at offset ${head.start} is not allowed on the wire`);
  }
  enter(cur, head, depth);
  scanItem(cur, depth + 1);
}

function scanSimple(head: Head): void {
  // false (20), true (21) and null (22) are the only simple values with one meaning and one form.
  if (head.info >= 20 && head.info <= 22) return;
  const found = head.info === 23 ? 'undefined' : head.info >= 25 ? 'a float' : `simple value ${head.arg}`;
  throw new WireError(WireErrorCode.UNSUPPORTED_TYPE, `Found ${found} at offset ${head.start}; the wire uses no floats or simple values`);
}

/** Bytewise lexicographic order (RFC 8949 §4.2.1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
