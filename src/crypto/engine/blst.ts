// The native back end: Tally's own N-API addon (native/tally_blst.c) over blst, built at
// npm install from the blst sources of the pinned c-kzg package (scripts/build_native.mjs).
// `loadBlst()` answers null when the addon was not built; index.ts then falls back to mcl.
//
// A point is a Uint8Array holding blst's Jacobian struct (G1 144 bytes, G2 288). Points are carved
// out of shared slabs: a V8 typed array above 64 bytes would otherwise get its own off-heap
// backing store, and allocation would cost more than a point addition (notes/engine.md).

import { createRequire } from 'node:module';
import type { CurveEngine, Decoded, PointDecodeFailure } from './types.ts';

interface Addon {
  sizes: { g1: number; g2: number };
  g1Decode(bytes: Uint8Array, out: Uint8Array, check: number): number;
  g1Encode(p: Uint8Array, out: Uint8Array): void;
  g1Add(out: Uint8Array, a: Uint8Array, b: Uint8Array): void;
  g1Sub(out: Uint8Array, a: Uint8Array, b: Uint8Array): void;
  g1Neg(out: Uint8Array, a: Uint8Array): void;
  g1Dbl(out: Uint8Array, a: Uint8Array): void;
  g1Mul(out: Uint8Array, p: Uint8Array, s: Uint8Array): void;
  g1MulSmall(out: Uint8Array, p: Uint8Array, s: Uint8Array, nbits: number): void;
  g1Eq(a: Uint8Array, b: Uint8Array): boolean;
  g1IsInf(a: Uint8Array): boolean;
  g1InGroup(a: Uint8Array): boolean;
  g1Generator(out: Uint8Array): void;
  g1Msm(out: Uint8Array, points: Uint8Array, scalars: Uint8Array, n: number): void;
  hashToG1(out: Uint8Array, msg: Uint8Array, dst: Uint8Array): void;
  g1FixedRowSize(): number;
  g1FixedRow(row: Uint8Array, point: Uint8Array): void;
  g1MsmFixed(out: Uint8Array, rows: Uint8Array, slots: Uint32Array, fixedScalars: Uint8Array, points: Uint8Array, scalars: Uint8Array, m: number): void;
  g2Decode(bytes: Uint8Array, out: Uint8Array, check: number): number;
  g2Encode(p: Uint8Array, out: Uint8Array): void;
  g2Add(out: Uint8Array, a: Uint8Array, b: Uint8Array): void;
  g2Sub(out: Uint8Array, a: Uint8Array, b: Uint8Array): void;
  g2Neg(out: Uint8Array, a: Uint8Array): void;
  g2Mul(out: Uint8Array, p: Uint8Array, s: Uint8Array): void;
  g2Eq(a: Uint8Array, b: Uint8Array): boolean;
  g2IsInf(a: Uint8Array): boolean;
  g2Generator(out: Uint8Array): void;
  pairingIsOne(g1s: Uint8Array, g2s: Uint8Array, n: number): boolean;
}

const ADDON_PATH = '../../../native/build/Release/tally_blst.node';

/** Why the addon did not load, when it did not (for `tally --version` and the fallback notice). */
export let blstUnavailableReason: string | null = null;

function loadAddon(): Addon | null {
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (e) {
    blstUnavailableReason = (e as Error).message.split('\n')[0] ?? 'unknown error';
    return null;
  }
}

const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
const H_EFF_LE = Uint8Array.from([0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xd2]); // 0xd201000000010001
const DECODE_FAILURES: Record<number, PointDecodeFailure> = {
  1: 'POINT_NOT_CANONICAL',
  2: 'POINT_NOT_ON_CURVE',
  3: 'POINT_NOT_IN_SUBGROUP',
};
const DECODE_IDENTITY = 4;
/** Most fixed-base rows kept (12 KiB each: 2^(8−1) affine multiples per base); later ones get none. */
const FIXED_SLOTS_MAX = 2048;

class Slab {
  private buf = new ArrayBuffer(0);
  private off = 0;
  constructor(
    private readonly size: number,
    private readonly perSlab: number,
  ) {}
  take(): Uint8Array {
    if (this.off + this.size > this.buf.byteLength) {
      this.buf = new ArrayBuffer(this.size * this.perSlab);
      this.off = 0;
    }
    const v = new Uint8Array(this.buf, this.off, this.size);
    this.off += this.size;
    return v;
  }
}

/** Writes x (reduced mod r) as 32 little-endian bytes at byte offset `at` of `view`. */
function putScalar(view: DataView, at: number, x: bigint): void {
  let v = x >= 0n && x < R ? x : ((x % R) + R) % R;
  for (let i = 0; i < 4; i++) {
    view.setBigUint64(at + 8 * i, BigInt.asUintN(64, v), true);
    v >>= 64n;
  }
}

export function loadBlst(): CurveEngine<Uint8Array, Uint8Array> | null {
  const a = loadAddon();
  if (a === null) return null;
  const G1 = a.sizes.g1;
  const G2 = a.sizes.g2;
  const g1s = new Slab(G1, 64);
  const g2s = new Slab(G2, 32);
  const scalarBuf = new Uint8Array(32);
  const scalarView = new DataView(scalarBuf.buffer);
  const scalarBytes = (s: bigint): Uint8Array => {
    putScalar(scalarView, 0, s);
    return scalarBuf;
  };
  const scalarsBytes = (scalars: readonly bigint[]): Uint8Array => {
    const out = new Uint8Array(32 * scalars.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < scalars.length; i++) putScalar(view, 32 * i, scalars[i]!);
    return out;
  };
  const pack = (points: readonly Uint8Array[], size: number): Uint8Array => {
    const out = new Uint8Array(size * points.length);
    for (let i = 0; i < points.length; i++) out.set(points[i]!, size * i);
    return out;
  };
  // An addon call that fills a fresh point from the slab: binary (add, sub) or unary (neg, dbl).
  const op2 = (slab: Slab, f: (o: Uint8Array, x: Uint8Array, y: Uint8Array) => void) => (x: Uint8Array, y: Uint8Array) => {
    const o = slab.take();
    f(o, x, y);
    return o;
  };
  const op1 = (slab: Slab, f: (o: Uint8Array, x: Uint8Array) => void) => (x: Uint8Array) => {
    const o = slab.take();
    f(o, x);
    return o;
  };
  const G1_GEN = g1s.take();
  a.g1Generator(G1_GEN);
  const G2_GEN = g2s.take();
  a.g2Generator(G2_GEN);
  const ROW = a.g1FixedRowSize();
  let rows = new Uint8Array(ROW * 64);
  let slots = 0;
  const G1_ZERO = new Uint8Array(G1);
  const G2_ZERO = new Uint8Array(G2);

  const decode = (size: number, slab: Slab, f: Addon['g1Decode']) => (bytes: Uint8Array, check: boolean): Decoded<Uint8Array> => {
    const out = slab.take();
    const code = f(bytes, out, check ? 1 : 0);
    if (code === 0) return { ok: true, point: out, identity: false };
    if (code === DECODE_IDENTITY) return { ok: true, point: size === G1 ? G1_ZERO : G2_ZERO, identity: true };
    return { ok: false, code: DECODE_FAILURES[code] ?? 'POINT_NOT_CANONICAL' };
  };

  return {
    name: 'blst',
    detail: 'blst (native N-API addon built from the c-kzg@4.1.0 sources)',

    g1Identity: () => G1_ZERO,
    g1Generator: () => G1_GEN,
    g1Decode: decode(G1, g1s, a.g1Decode),
    g1Encode(p) {
      const out = new Uint8Array(48);
      a.g1Encode(p, out);
      return out;
    },
    g1Add: op2(g1s, a.g1Add),
    g1Sub: op2(g1s, a.g1Sub),
    g1Neg: op1(g1s, a.g1Neg),
    g1Dbl: op1(g1s, a.g1Dbl),
    g1Mul(p, s) {
      const o = g1s.take();
      a.g1Mul(o, p, scalarBytes(s));
      return o;
    },
    g1ClearCofactor(p) {
      const o = g1s.take();
      a.g1MulSmall(o, p, H_EFF_LE, 64);
      return o;
    },
    g1Eq: (x, y) => a.g1Eq(x, y),
    g1IsIdentity: (x) => a.g1IsInf(x),
    g1InSubgroup: (x) => a.g1InGroup(x),
    g1Msm(points, scalars) {
      const o = g1s.take();
      a.g1Msm(o, pack(points, G1), scalarsBytes(scalars), points.length);
      return o;
    },
    g1HashToCurve(msg, dst) {
      const o = g1s.take();
      a.hashToG1(o, msg, dst);
      return o;
    },
    g1FixedSlot(p) {
      if (slots >= FIXED_SLOTS_MAX) return null;
      if ((slots + 1) * ROW > rows.length) {
        const grown = new Uint8Array(rows.length * 2);
        grown.set(rows);
        rows = grown;
      }
      a.g1FixedRow(rows.subarray(slots * ROW, (slots + 1) * ROW), p);
      return slots++;
    },
    g1MsmFixed(fixedSlots, fixedScalars, points, scalars) {
      const o = g1s.take();
      a.g1MsmFixed(o, rows, fixedSlots, scalarsBytes(fixedScalars), pack(points, G1), scalarsBytes(scalars), points.length);
      return o;
    },

    g2Identity: () => G2_ZERO,
    g2Generator: () => G2_GEN,
    g2Decode: decode(G2, g2s, a.g2Decode),
    g2Encode(p) {
      const out = new Uint8Array(96);
      a.g2Encode(p, out);
      return out;
    },
    g2Add: op2(g2s, a.g2Add),
    g2Sub: op2(g2s, a.g2Sub),
    g2Neg: op1(g2s, a.g2Neg),
    g2Mul(p, s) {
      const o = g2s.take();
      a.g2Mul(o, p, scalarBytes(s));
      return o;
    },
    g2Eq: (x, y) => a.g2Eq(x, y),
    g2IsIdentity: (x) => a.g2IsInf(x),

    pairingIsOne(pairs) {
      if (pairs.length === 0) return true;
      return a.pairingIsOne(pack(pairs.map((p) => p[0]), G1), pack(pairs.map((p) => p[1]), G2), pairs.length);
    },
  };
}
