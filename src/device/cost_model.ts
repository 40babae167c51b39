// Device-class cost model (DESIGN §4): turns each SE command's operation counts into time and
// energy on representative SE and microcontroller classes, so "how long does a tap take on a
// ring" has a number, and the number moves when the protocol does.
//
// Operation counts are derived from the protocol (notes below, per command); per-operation costs
// are ESTIMATES scaled from published figures, not measurements of one chip:
//  - BLS12-381 on Cortex-M: BN254 optimal-ate pairing and ECC on Cortex-M0+ (Unterluggauer &
//    Wenger, CHES 2014) and the RELIC / MIRACL Core Cortex-M benchmarks, scaled by (381/254)^2 for
//    the larger field: G1 scalar mult ≈ 6.5 Mcycles, Miller loop ≈ 25 Mcycles, final exp ≈ 30 Mcycles.
//  - MSM: Straus/Pippenger amortize to ≈ 0.3–0.4 of a full scalar mult per point for 64+ points.
//  - X25519 on Cortex-M4 ≈ 0.9 Mcycles (Fujii & Aranha, LATINCRYPT 2017); ECDSA P-256 sign ≈ 3.6
//    Mcycles (micro-ecc class code); SE coprocessors do P-256 in ≈ 15–40 ms (vendor datasheets).
//  - Smart-card SEs (SLE78 / P71 class) run 384-bit modular multiplication on a PKA coprocessor in
//    ≈ 1–2 µs: ≈ 12 ms per G1 mult; phone eSEs (faster core, same PKA family) ≈ 2.5× faster.
//  - NVM: SE EEPROM/flash ≈ 2 ms per page-program + ≈ 10 µs per byte; MCU flash ≈ 1 ms + 5 µs/byte.
//  - Power: SE active ≈ 20–30 mW; Cortex-M4 at 120 MHz ≈ 40 mW; Cortex-M33 at 160 MHz ≈ 25 mW.
// The `host` class is this repository's engine (mcl-wasm on the 2-core dev machine) and calibrates
// the counts: its prediction should land near the measured command times (see the test).

import { assert } from '../crypto/assert.ts';
import type { HardwareClass } from './profiles.ts';

export interface OpCounts {
  /** Full G1 scalar multiplications. */
  g1Mul: number;
  /** Points in multi-scalar multiplications (all MSMs of the command summed). */
  g1MsmPoints: number;
  /** G1/G2 points decoded from bytes (decompression + subgroup check). */
  pointDecodes: number;
  millerLoops: number;
  finalExps: number;
  /** SHA-256 compression blocks (transcripts, hashes to scalar, HKDF). */
  sha256Blocks: number;
  ecdsaSign: number;
  ecdsaVerify: number;
  /** X25519 scalar multiplications (key generation and shared secret). */
  x25519: number;
  /** Persistent writes (journal + cells + journal removal) and the bytes they carry. */
  nvmWrites: number;
  nvmBytes: number;
}

export interface HardwareCosts {
  readonly label: string;
  readonly ms: { [K in Exclude<keyof OpCounts, 'nvmBytes'>]: number } & { nvmByte: number };
  /** Average power while busy, milliwatts. */
  readonly activeMw: number;
}

export type CostedHardware = HardwareClass | 'host';

export const HARDWARE: Readonly<Record<CostedHardware, HardwareCosts>> = {
  'se-smartcard': {
    label: 'smart-card SE (SLE78/P71 class, PKA coprocessor)',
    ms: { g1Mul: 12, g1MsmPoints: 4.2, pointDecodes: 7, millerLoops: 60, finalExps: 80, sha256Blocks: 0.01, ecdsaSign: 35, ecdsaVerify: 45, x25519: 10, nvmWrites: 2, nvmByte: 0.01 },
    activeMw: 20,
  },
  'se-embedded': {
    label: 'phone / wearable embedded SE (faster core, PKA)',
    ms: { g1Mul: 5, g1MsmPoints: 1.75, pointDecodes: 3, millerLoops: 25, finalExps: 33, sha256Blocks: 0.005, ecdsaSign: 15, ecdsaVerify: 20, x25519: 4, nvmWrites: 2, nvmByte: 0.01 },
    activeMw: 30,
  },
  'mcu-cortex-m4': {
    label: 'Cortex-M4 @ 120 MHz, software crypto',
    ms: { g1Mul: 54, g1MsmPoints: 19, pointDecodes: 30, millerLoops: 208, finalExps: 250, sha256Blocks: 0.011, ecdsaSign: 30, ecdsaVerify: 38, x25519: 7.6, nvmWrites: 1, nvmByte: 0.005 },
    activeMw: 40,
  },
  'mcu-cortex-m33': {
    label: 'Cortex-M33 @ 160 MHz, software crypto',
    ms: { g1Mul: 40, g1MsmPoints: 14, pointDecodes: 22, millerLoops: 156, finalExps: 188, sha256Blocks: 0.008, ecdsaSign: 22, ecdsaVerify: 28, x25519: 5.7, nvmWrites: 1, nvmByte: 0.005 },
    activeMw: 25,
  },
  host: {
    label: 'this machine (mcl-wasm, Node 20)',
    ms: { g1Mul: 0.65, g1MsmPoints: 0.055, pointDecodes: 0.35, millerLoops: 2.6, finalExps: 3, sha256Blocks: 0.002, ecdsaSign: 1.5, ecdsaVerify: 2, x25519: 0.6, nvmWrites: 0.05, nvmByte: 0 },
    activeMw: 15_000,
  },
};

/** Bytes of one seen-nullifier entry in NVM (48-byte point + epoch + CBOR framing). */
const NULLIFIER_ENTRY_BYTES = 57;

const zero: OpCounts = {
  g1Mul: 0, g1MsmPoints: 0, pointDecodes: 0, millerLoops: 0, finalExps: 0, sha256Blocks: 0, ecdsaSign: 0, ecdsaVerify: 0, x25519: 0, nvmWrites: 0, nvmBytes: 0,
};
const ops = (o: Partial<OpCounts>): OpCounts => ({ ...zero, ...o });

/**
 * BBS presentation with 5 messages, 2 hidden (credential_proof.ts / the payment's credential part):
 * B = P1 + Q1·dom + Σ H_i·m_i (6 points), D = r2·B, Abar = (r1·r2)·A, Bbar = r1·D − e·Abar (2),
 * T1 = e~·Abar + r1~·D (2), T2 = r3~·D + Σ m~_j·H_j (3).
 */
const BBS_PROVE = ops({ g1Mul: 2, g1MsmPoints: 13, sha256Blocks: 12 });
/** Its verification: one MSM of ≈ 14 points (merged into a batch) and e(Abar, W)·e(Bbar, −P2) = 1. */
const BBS_VERIFY = ops({ g1MsmPoints: 14, pointDecodes: 6, millerLoops: 2, finalExps: 1, sha256Blocks: 12 });
/**
 * Aggregated Bulletproof over 4 × 32 bits (n = 128, 2n = 256 generators): A and S are 257-point
 * MSMs, T1 and T2 2-point; 7 inner-product rounds each commit L and R over the live half of the
 * vectors (Σ ≈ 1020 points) and fold G and H (Σ ≈ 1016 two-point combinations).
 */
const RANGE_PROVE = ops({ g1MsmPoints: 257 * 2 + 4 + 1020 + 1016, sha256Blocks: 30 });
/** Share of RANGE_PROVE done ahead by PRECOMPUTE_PAYMENT (S and part of round one). */
export const PRECOMPUTED_RANGE_POINTS = 257 + 256;
/** Range verification: one MSM over 2n generators + 2·log2(n) round points + the commitments. */
const RANGE_VERIFY = ops({ g1MsmPoints: 256 + 14 + 8, pointDecodes: 18, sha256Blocks: 30 });

function sum(...xs: OpCounts[]): OpCounts {
  const out = { ...zero };
  for (const x of xs) for (const k of Object.keys(out) as Array<keyof OpCounts>) out[k] += x[k];
  return out;
}

export type PaymentCommand = 'BUILD_PAYMENT_REQUEST' | 'AUTHORIZE_PAYMENT' | 'ACCEPT_PAYMENT' | 'PRECOMPUTE_PAYMENT';

/**
 * Operation counts of each payment command. `seenNullifiers` sizes the nullifier-set cell the
 * payee rewrites on ACCEPT (the dominant NVM cost of a busy terminal); `precomputed` says whether
 * AUTHORIZE found a precomputation in RAM.
 */
export function commandOps(command: PaymentCommand, opts: { seenNullifiers?: number; precomputed?: boolean } = {}): OpCounts {
  switch (command) {
    case 'BUILD_PAYMENT_REQUEST':
      // Credential proof, X25519 key pair, one NVM transaction over the pending-request table.
      return sum(BBS_PROVE, ops({ x25519: 1, sha256Blocks: 4, nvmWrites: 3, nvmBytes: 2 * 1_700 }));
    case 'AUTHORIZE_PAYMENT': {
      // Payee credential proof + issuer key decode, session (keygen + DH + HKDF + AEAD), payment
      // proof: N, T, E1, E2, C_a, C_n (6 mults, 4 two-point MSMs), BBS part, 7 sigma commitments
      // (≈ 15 points), range proof; then wallet, spending and the 2.4 KB last payment written.
      const pre = opts.precomputed ? PRECOMPUTED_RANGE_POINTS : 0;
      return sum(
        BBS_VERIFY, ops({ pointDecodes: 1 }), BBS_PROVE, RANGE_PROVE,
        ops({ g1Mul: 6, g1MsmPoints: 8 + 15 - pre, x25519: 2, sha256Blocks: 40, nvmWrites: 5, nvmBytes: 2 * 2_700 }),
      );
    }
    case 'ACCEPT_PAYMENT': {
      // 36 points decoded, session DH + AEAD, C_a opening (2 points), batched verification of the
      // BBS, sigma (≈ 28 points) and range equations, receipt signature, and one NVM transaction:
      // receipt entry, nullifier set, wallet, log meta, request table.
      const nvmSet = (opts.seenNullifiers ?? 64) * NULLIFIER_ENTRY_BYTES;
      return sum(
        BBS_VERIFY, RANGE_VERIFY,
        ops({ pointDecodes: 12 + 1, g1MsmPoints: 2 + 28, x25519: 1, ecdsaSign: 1, sha256Blocks: 48, nvmWrites: 7, nvmBytes: 2 * (2_600 + nvmSet + 1_800) }),
      );
    }
    case 'PRECOMPUTE_PAYMENT':
      return ops({ g1MsmPoints: PRECOMPUTED_RANGE_POINTS, sha256Blocks: 2 });
  }
}

export interface CostEstimate {
  timeMs: number;
  energyMj: number;
  /** Time per operation kind, ms. */
  breakdown: Partial<Record<keyof OpCounts, number>>;
}

export function estimate(counts: OpCounts, hardware: CostedHardware): CostEstimate {
  const hw = HARDWARE[hardware];
  const breakdown: Partial<Record<keyof OpCounts, number>> = {};
  let timeMs = 0;
  for (const k of Object.keys(counts) as Array<keyof OpCounts>) {
    const per = k === 'nvmBytes' ? hw.ms.nvmByte : hw.ms[k];
    const t = counts[k] * per;
    if (t > 0) breakdown[k] = t;
    timeMs += t;
  }
  assert(Number.isFinite(timeMs) && timeMs >= 0, 'estimate: time must be finite and non-negative');
  return { timeMs, energyMj: (timeMs * hw.activeMw) / 1000, breakdown };
}

/** SE time of one whole payment: the payee builds and accepts, the payer authorizes. */
export function paymentCost(payer: CostedHardware, payee: CostedHardware, opts: { precomputed?: boolean; seenNullifiers?: number } = {}) {
  const build = estimate(commandOps('BUILD_PAYMENT_REQUEST'), payee);
  const authorize = estimate(commandOps('AUTHORIZE_PAYMENT', opts), payer);
  const accept = estimate(commandOps('ACCEPT_PAYMENT', opts), payee);
  return { build, authorize, accept, totalMs: build.timeMs + authorize.timeMs + accept.timeMs };
}
