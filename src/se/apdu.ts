// ISO/IEC 7816-4 APDU codec: command APDUs (CLA INS P1 P2 [Lc data] [Le]) in short and extended
// length, response APDUs (data SW1 SW2), command chaining (CLA bit 0x10) and response chaining
// (61xx + GET RESPONSE).
//
// Why this shape: the host is untrusted and only moves bytes, so the decoder is the SE's first
// line of defence. It accepts exactly the seven ISO cases (1, 2S, 3S, 4S, 2E, 3E, 4E), with no
// trailing bytes, no zero extended Lc and no reserved CLA/INS values, and reports every other
// input as an ApduError with a stable code — nothing else is ever thrown on bad bytes.
// Ne (the number of response bytes the host accepts) is kept as a number 0..65536: 0 means "no Le
// field", 256 is the short Le byte 00, 65536 the extended Le 0000.

import { concat } from './bytes.ts';

export const SHORT_DATA_MAX = 255;
export const SHORT_NE_MAX = 256;
export const EXTENDED_DATA_MAX = 65_535;
export const EXTENDED_NE_MAX = 65_536;
/** Largest encoded command APDU: case 4E, 4 header + 3 Lc + data + 2 Le. */
export const COMMAND_APDU_BYTES_MAX = 4 + 3 + EXTENDED_DATA_MAX + 2;
/** CLA bit that says "more parts of this command follow" (ISO 7816-4 §5.4.1). */
export const CLA_CHAIN_BIT = 0x10;
/** ISO GET RESPONSE instruction, used after a 61xx status. */
export const INS_GET_RESPONSE = 0xc0;

export type ApduErrorCode =
  | 'TOO_SHORT'
  | 'TOO_LONG'
  | 'LENGTH_MISMATCH'
  | 'ZERO_LC'
  | 'INVALID_CLA'
  | 'INVALID_INS'
  | 'BAD_FIELD'
  | 'CHAIN_MISMATCH'
  | 'CHAIN_TOO_LONG';

/** Typed error for bytes or fields that are not a valid APDU. */
export class ApduError extends Error {
  constructor(
    readonly code: ApduErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApduError';
  }
}

export interface ApduCommand {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Maximum response data length the host accepts, 0..65536 (0 = no Le field). */
  readonly ne: number;
}

export interface ApduResponse {
  readonly data: Uint8Array;
  readonly sw: number;
}

const isByte = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xff;

/** ISO 7816-4 §5.1: CLA FF is reserved for PPS; INS 6X and 9X are reserved for status bytes. */
export function isValidIns(ins: number): boolean {
  const hi = ins & 0xf0;
  return isByte(ins) && hi !== 0x60 && hi !== 0x90;
}

function checkFields(cmd: ApduCommand): void {
  for (const [name, v] of [['CLA', cmd.cla], ['INS', cmd.ins], ['P1', cmd.p1], ['P2', cmd.p2]] as const) {
    if (!isByte(v)) throw new ApduError('BAD_FIELD', `APDU field ${name} must be a byte (got ${v})`);
  }
  if (cmd.cla === 0xff) throw new ApduError('INVALID_CLA', 'APDU CLA FF is reserved for PPS');
  if (!isValidIns(cmd.ins)) {
    throw new ApduError('INVALID_INS', `APDU INS ${hex2(cmd.ins)} is reserved (6X and 9X are status bytes)`);
  }
  if (cmd.data.length > EXTENDED_DATA_MAX) {
    throw new ApduError('TOO_LONG', `APDU data must be at most ${EXTENDED_DATA_MAX} bytes (got ${cmd.data.length})`);
  }
  if (!Number.isInteger(cmd.ne) || cmd.ne < 0 || cmd.ne > EXTENDED_NE_MAX) {
    throw new ApduError('BAD_FIELD', `APDU Ne must be in [0, ${EXTENDED_NE_MAX}] (got ${cmd.ne})`);
  }
}

/** Encodes a command, in short form when both Nc ≤ 255 and Ne ≤ 256, else in extended form. */
export function encodeCommand(cmd: ApduCommand): Uint8Array {
  checkFields(cmd);
  const nc = cmd.data.length;
  const extended = nc > SHORT_DATA_MAX || cmd.ne > SHORT_NE_MAX;
  const out: number[] = [cmd.cla, cmd.ins, cmd.p1, cmd.p2];
  if (!extended) {
    if (nc > 0) out.push(nc);
    const head = Uint8Array.from(out);
    const tail = cmd.ne > 0 ? [cmd.ne === SHORT_NE_MAX ? 0 : cmd.ne] : [];
    return concat(head, cmd.data, Uint8Array.from(tail));
  }
  out.push(0);
  if (nc > 0) out.push(nc >> 8, nc & 0xff);
  const le = cmd.ne === EXTENDED_NE_MAX ? 0 : cmd.ne;
  const tail = cmd.ne > 0 ? [le >> 8, le & 0xff] : [];
  return concat(Uint8Array.from(out), cmd.data, Uint8Array.from(tail));
}

/** Decodes exactly one command APDU (the seven ISO cases); anything else is an ApduError. */
export function decodeCommand(bytes: Uint8Array): ApduCommand {
  if (bytes.length < 4) throw new ApduError('TOO_SHORT', `command APDU needs at least 4 bytes (got ${bytes.length})`);
  if (bytes.length > COMMAND_APDU_BYTES_MAX) {
    throw new ApduError('TOO_LONG', `command APDU must be at most ${COMMAND_APDU_BYTES_MAX} bytes (got ${bytes.length})`);
  }
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const body = bytes.subarray(4);
  const make = (data: Uint8Array, ne: number): ApduCommand => {
    const cmd = { cla, ins, p1, p2, data: data.slice(), ne };
    checkFields(cmd);
    return cmd;
  };
  if (body.length === 0) return make(new Uint8Array(0), 0); // case 1
  if (body.length === 1) return make(new Uint8Array(0), body[0] === 0 ? SHORT_NE_MAX : body[0]!); // case 2S
  if (body[0] !== 0) {
    const lc = body[0]!;
    if (body.length === 1 + lc) return make(body.subarray(1), 0); // case 3S
    if (body.length === 2 + lc) {
      const le = body[1 + lc]!;
      return make(body.subarray(1, 1 + lc), le === 0 ? SHORT_NE_MAX : le); // case 4S
    }
    throw new ApduError('LENGTH_MISMATCH', `short Lc ${lc} does not match ${body.length - 1} body bytes`);
  }
  if (body.length === 3) return make(new Uint8Array(0), extendedNe(body[1]!, body[2]!)); // case 2E
  if (body.length < 3) throw new ApduError('LENGTH_MISMATCH', `extended length field needs 3 bytes (got ${body.length})`);
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw new ApduError('ZERO_LC', 'extended Lc 0000 is not allowed when data follows');
  if (body.length === 3 + lc) return make(body.subarray(3), 0); // case 3E
  if (body.length === 5 + lc) return make(body.subarray(3, 3 + lc), extendedNe(body[3 + lc]!, body[4 + lc]!)); // 4E
  throw new ApduError('LENGTH_MISMATCH', `extended Lc ${lc} does not match ${body.length - 3} body bytes`);
}

function extendedNe(hi: number, lo: number): number {
  const le = (hi << 8) | lo;
  return le === 0 ? EXTENDED_NE_MAX : le;
}

export function encodeResponse(res: ApduResponse): Uint8Array {
  if (!Number.isInteger(res.sw) || res.sw < 0 || res.sw > 0xffff) {
    throw new ApduError('BAD_FIELD', `status word must be 16 bits (got ${res.sw})`);
  }
  if (res.data.length > EXTENDED_NE_MAX) {
    throw new ApduError('TOO_LONG', `response data must be at most ${EXTENDED_NE_MAX} bytes (got ${res.data.length})`);
  }
  return concat(res.data, Uint8Array.of(res.sw >> 8, res.sw & 0xff));
}

export function decodeResponse(bytes: Uint8Array): ApduResponse {
  if (bytes.length < 2) throw new ApduError('TOO_SHORT', `response APDU needs at least 2 bytes (got ${bytes.length})`);
  if (bytes.length > EXTENDED_NE_MAX + 2) {
    throw new ApduError('TOO_LONG', `response APDU must be at most ${EXTENDED_NE_MAX + 2} bytes (got ${bytes.length})`);
  }
  const n = bytes.length;
  return { data: bytes.slice(0, n - 2), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

/** Splits a command into chained short APDUs of at most `chunkBytes` data each; Ne rides on the last. */
export function splitChained(cmd: ApduCommand, chunkBytes = SHORT_DATA_MAX): ApduCommand[] {
  checkFields(cmd);
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > SHORT_DATA_MAX) {
    throw new ApduError('BAD_FIELD', `chain chunk must be 1..${SHORT_DATA_MAX} bytes (got ${chunkBytes})`);
  }
  if (cmd.cla & CLA_CHAIN_BIT) throw new ApduError('INVALID_CLA', 'command to split already has the chaining bit');
  if (cmd.data.length > chunkBytes && (cmd.cla | CLA_CHAIN_BIT) === 0xff) {
    throw new ApduError('INVALID_CLA', `CLA 0x${cmd.cla.toString(16)} cannot be chained: with the chaining bit it is the reserved 0xFF`);
  }
  const parts: ApduCommand[] = [];
  for (let off = 0; off < cmd.data.length || parts.length === 0; off += chunkBytes) {
    const data = cmd.data.subarray(off, off + chunkBytes);
    const last = off + chunkBytes >= cmd.data.length;
    parts.push({ ...cmd, cla: last ? cmd.cla : cmd.cla | CLA_CHAIN_BIT, data, ne: last ? cmd.ne : 0 });
  }
  return parts;
}

/**
 * Reassembles a chained command. Every part must repeat the first part's CLA (less the chaining
 * bit), INS, P1 and P2, and the total data may not exceed `maxBytes`; a violation discards the
 * chain and throws. `push` returns the whole command once a part without the chaining bit arrives.
 */
export class ChainAssembler {
  private parts: Uint8Array[] = [];
  private total = 0;
  private head: ApduCommand | null = null;

  constructor(private readonly maxBytes: number) {}

  get inProgress(): boolean {
    return this.head !== null;
  }

  reset(): void {
    this.parts = [];
    this.total = 0;
    this.head = null;
  }

  /** `limitBytes` narrows the bound for this command (e.g. the command table's maximum data length). */
  push(cmd: ApduCommand, limitBytes = this.maxBytes): ApduCommand | null {
    const bound = Math.min(limitBytes, this.maxBytes);
    const cla = cmd.cla & ~CLA_CHAIN_BIT;
    const head = this.head;
    if (head && (head.cla !== cla || head.ins !== cmd.ins || head.p1 !== cmd.p1 || head.p2 !== cmd.p2)) {
      this.reset();
      throw new ApduError('CHAIN_MISMATCH', `chained part ${hex2(cmd.ins)} does not continue the chain of ${hex2(head.ins)}`);
    }
    if (this.total + cmd.data.length > bound) {
      const got = this.total + cmd.data.length;
      this.reset();
      throw new ApduError('CHAIN_TOO_LONG', `chained command exceeds ${bound} bytes (got ${got})`);
    }
    if (!head) this.head = { ...cmd, cla, data: new Uint8Array(0), ne: 0 };
    this.parts.push(cmd.data);
    this.total += cmd.data.length;
    if (cmd.cla & CLA_CHAIN_BIT) return null;
    const whole = { ...this.head!, data: concat(...this.parts), ne: cmd.ne };
    this.reset();
    return whole;
  }
}

export const hex2 = (b: number): string => b.toString(16).padStart(2, '0').toUpperCase();
export const hex4 = (w: number): string => w.toString(16).padStart(4, '0').toUpperCase();
