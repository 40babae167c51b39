// Tests for the ISO 7816-4 APDU codec: the seven cases byte for byte, round trips, chaining, and
// a fuzzer showing the decoder throws nothing but ApduError on hostile bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ApduError,
  ChainAssembler,
  CLA_CHAIN_BIT,
  EXTENDED_NE_MAX,
  decodeCommand,
  decodeResponse,
  encodeCommand,
  encodeResponse,
  isValidIns,
  splitChained,
  type ApduCommand,
} from './apdu.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const cmd = (data: number[] | Uint8Array, ne: number): ApduCommand => ({
  cla: 0x80,
  ins: 0x30,
  p1: 1,
  p2: 2,
  data: Uint8Array.from(data),
  ne,
});

test('encodeCommand() produces each ISO case byte for byte', () => {
  assert.equal(hex(encodeCommand(cmd([], 0))), '80300102'); // case 1
  assert.equal(hex(encodeCommand(cmd([], 16))), '8030010210'); // 2S
  assert.equal(hex(encodeCommand(cmd([], 256))), '8030010200'); // 2S, Le=00 means 256
  assert.equal(hex(encodeCommand(cmd([0xaa, 0xbb], 0))), '8030010202aabb'); // 3S
  assert.equal(hex(encodeCommand(cmd([0xaa], 256))), '8030010201aa00'); // 4S
  assert.equal(hex(encodeCommand(cmd([], 257))), '80300102000101'); // 2E
  assert.equal(hex(encodeCommand(cmd([], EXTENDED_NE_MAX))), '80300102000000'); // 2E, Le=0000 means 65536
  const big = new Uint8Array(300).fill(7);
  assert.equal(hex(encodeCommand(cmd(big, 0))).slice(0, 14), '8030010200012c'); // 3E
  const e4 = encodeCommand(cmd(big, 0x1234)); // 4E
  assert.equal(e4.length, 4 + 3 + 300 + 2);
  assert.equal(hex(e4.subarray(e4.length - 2)), '1234');
});

test('decodeCommand() reads each ISO case and rejects near misses with typed codes', () => {
  assert.deepEqual(decodeCommand(unhex('8030010200')).ne, 256);
  assert.deepEqual(decodeCommand(unhex('8030010202aabb')).data, Uint8Array.of(0xaa, 0xbb));
  assert.equal(decodeCommand(unhex('8030010201aa05')).ne, 5);
  assert.equal(decodeCommand(unhex('80300102000000')).ne, EXTENDED_NE_MAX);
  const cases: Array<[string, string]> = [
    ['803001', 'TOO_SHORT'],
    ['8030010203aabb', 'LENGTH_MISMATCH'], // Lc says 3, 2 bytes follow
    ['8030010201aa0505', 'LENGTH_MISMATCH'], // trailing byte
    ['803001020000', 'LENGTH_MISMATCH'], // extended marker with one length byte
    ['8030010200000005', 'ZERO_LC'],
    ['8030010200000201', 'LENGTH_MISMATCH'],
    ['ff300102', 'INVALID_CLA'],
    ['80600102', 'INVALID_INS'],
    ['80900102', 'INVALID_INS'],
  ];
  for (const [bytes, code] of cases) {
    assert.throws(() => decodeCommand(unhex(bytes)), (e: unknown) => e instanceof ApduError && e.code === code, bytes);
  }
});

const commandArb = fc.record({
  cla: fc.integer({ min: 0, max: 0xfe }),
  ins: fc.integer({ min: 0, max: 0xff }).filter(isValidIns),
  p1: fc.integer({ min: 0, max: 0xff }),
  p2: fc.integer({ min: 0, max: 0xff }),
  data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 250, maxLength: 2000 })),
  ne: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: EXTENDED_NE_MAX })),
}).map((c): ApduCommand => ({ ...c }));

test('decodeCommand(encodeCommand(c)) returns c for every valid command', () => {
  fc.assert(
    fc.property(commandArb, (c) => {
      assert.deepEqual(decodeCommand(encodeCommand(c)), c);
    }),
    { numRuns: 400 },
  );
});

test('decodeResponse(encodeResponse(r)) returns r', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 0xffff }), (data, sw) => {
      assert.deepEqual(decodeResponse(encodeResponse({ data, sw })), { data, sw });
    }),
  );
  assert.throws(() => decodeResponse(Uint8Array.of(0x90)), (e: unknown) => e instanceof ApduError && e.code === 'TOO_SHORT');
});

test('decodeCommand() throws only ApduError on random and mutated bytes', () => {
  const onlyApduError = (bytes: Uint8Array): void => {
    try {
      const c = decodeCommand(bytes);
      // Whatever decodes must re-encode to a command that decodes to the same thing.
      assert.deepEqual(decodeCommand(encodeCommand(c)), c);
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), onlyApduError), { numRuns: 2000 });
  const mutated = fc
    .tuple(commandArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(40))
    .map(([c, flips, cut]) => {
      const bytes = encodeCommand(c).slice();
      for (const [at, v] of flips) bytes[at % bytes.length] = v;
      return cut % 3 === 0 ? bytes.subarray(0, Math.max(0, bytes.length - cut)) : bytes;
    });
  fc.assert(fc.property(mutated, onlyApduError), { numRuns: 2000 });
});

test('splitChained() refuses a CLA whose chained form would be the reserved 0xFF', () => {
  assert.throws(() => splitChained({ cla: 0xef, ins: 1, p1: 0, p2: 0, data: new Uint8Array(300), ne: 0 }, 255), ApduError);
});

test('splitChained() and ChainAssembler reassemble any command', () => {
  fc.assert(
    fc.property(commandArb, fc.integer({ min: 1, max: 255 }), (c0, chunk) => {
      const c = { ...c0, cla: c0.cla & ~CLA_CHAIN_BIT };
      // 0xEF with the chaining bit is 0xFF, which ISO 7816-3 reserves (PPS): no chain can carry it.
      fc.pre((c.cla | CLA_CHAIN_BIT) !== 0xff || c.data.length <= chunk);
      const parts = splitChained(c, chunk);
      assert.ok(parts.slice(0, -1).every((p) => (p.cla & CLA_CHAIN_BIT) !== 0 && p.data.length === chunk));
      const asm = new ChainAssembler(4096);
      let whole: ApduCommand | null = null;
      for (const p of parts) whole = asm.push(decodeCommand(encodeCommand(p)));
      assert.deepEqual(whole, c);
      assert.equal(asm.inProgress, false);
    }),
    { numRuns: 200 },
  );
});

test('ChainAssembler refuses a chain that changes INS or grows past its bound', () => {
  const asm = new ChainAssembler(10);
  assert.equal(asm.push({ ...cmd([1, 2, 3], 0), cla: 0x90 }), null);
  assert.throws(() => asm.push({ ...cmd([4], 0), ins: 0x32 }), (e: unknown) => e instanceof ApduError && e.code === 'CHAIN_MISMATCH');
  assert.equal(asm.inProgress, false);
  assert.equal(asm.push({ ...cmd([1, 2, 3, 4, 5, 6], 0), cla: 0x90 }), null);
  assert.throws(() => asm.push(cmd([7, 8, 9, 10, 11], 0)), (e: unknown) => e instanceof ApduError && e.code === 'CHAIN_TOO_LONG');
  assert.throws(() => asm.push(cmd([1, 2, 3, 4], 0), 3), (e: unknown) => e instanceof ApduError && e.code === 'CHAIN_TOO_LONG');
});
