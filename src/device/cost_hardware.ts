// Per-operation costs of each hardware class the device cost model prices (cost_model.ts), each
// figure with its source next to it. docs/cost_model.md has the same table with the reasoning,
// and lists every figure that changed and why.
//
// Three kinds of figure, marked at each number:
//  - MEASURED: a published measurement of that operation on that class of chip;
//  - SCALED: a published measurement of a neighbouring operation, scaled by an argument written
//    out below (e.g. P-256 → BLS12-381 by the field-multiplication cost ratio);
//  - ESTIMATE: no published figure found; the reasoning is given, and the figure is never lower
//    than the one it replaced.
// The `host` class is this repository's engine on the development machine, measured with
// bench/offline.bench.ts (`offline.cost_model.host.*`), which also compares the model against the
// real SE commands here (a benchmark, not a test: timings are not asserted in `npm test`).
//
// Anchors (all SCALED figures derive from these):
//  [ECT]  ECTester (crocs-muni), JavaCard ECDSA P-256 sign measured at the host on NXP JCOP,
//         G&D SmartCafe and Infineon cards: 145–241 ms. Midpoint 193 ms is the model's card.
//  [JCS]  An open JavaCard e-cash applet's timing report: BIP-340 Schnorr on NXP JCOP4 J3R180,
//         740–814 ms per signature. Same card family as [ECT]; the 3–5× gap over ECDSA is the cost
//         of arithmetic the JavaCard API does not offer natively (mod-n multiply, point parity),
//         emulated in bytecode. The model assumes a NATIVE applet (vendor OS, direct PKA access);
//         a pure-JavaCard build would pay [JCS]-like costs per scalar operation (docs/cost_model.md).
//  [EM4]  Emill/P256-Cortex-M4 README, nRF52840 (Cortex-M4) @ 64 MHz, hand-written assembly:
//         ECDSA sign 375 k cycles (5.9 ms), verify 976 k, ECDH shared secret (variable-base
//         scalar multiplication) 906 k, point decompression 48 k. Generic C: sign 89 ms (≈ 15×).
//  [PES]  M. Pesonen, MSc thesis, U. Turku 2020 (for Nordic Semiconductor): BN254 optimal-ate
//         pairing on nRF9160 (Cortex-M33 @ 64 MHz), optimised C library: 26 M cycles (410 ms).
//  [FA17] Fujii & Aranha, LATINCRYPT 2017: X25519 on Cortex-M4 ≈ 907 k cycles.
//  [NRF]  nRF5340 Product Specification, NVMC: t_WRITE 43 µs per 32-bit word, t_ERASEPAGE
//         87.5 ms per 4 KB page.
//  [EEP]  ST M95256 datasheet: 64-byte EEPROM page written within 4 ms. [NOR] ST M25P40
//         datasheet: 256-byte flash page programmed in 1.5 ms typical.
//
// Scaling P-256 → BLS12-381 G1 (SCALED g1Mul): the scalar has the same length (r is 255 bits),
// so a scalar multiplication does the same number of doublings and additions with formulas of
// similar cost (both curves have cheap-a forms); what changes is the field: a 381-bit
// multiplication on a word- or digit-serial multiplier costs (381/256)² ≈ 2.21× a 256-bit one.
// On a Cortex-M the ratio is larger (P-256's Solinas prime reduces almost for free, BLS12-381
// needs Montgomery reduction: ≈ 3.6×), so 906 k × 3.6 ≈ 3.3 M cycles for assembly-grade code;
// the model keeps its earlier 6.5 M cycles (optimised C, ≈ 2× assembly). GLV on G1 could save a
// further ≈ 40 %; no published measurement, so not taken.
//
// Pairing (SCALED millerLoops / finalExps): [PES] 26 M cycles for BN254 × (381/254)² ≈ 2.25 for
// the larger field (both Montgomery; loop lengths 65 vs 64 bits) ≈ 58.5 M cycles for BLS12-381,
// split ≈ 45 % Miller loop / 55 % final exponentiation (the split of published BLS12-381
// software, e.g. blst): 26.3 M + 32.2 M cycles. As ratios to the 6.5 M-cycle G1 multiplication:
// Miller loop ≈ 4.05×, final exponentiation ≈ 4.95×; the SE classes use the same ratios, as their
// extension-field arithmetic is built from the same base-field multiplications.

import { engineInfo } from '../crypto/engine/index.ts';
import type { HardwareClass } from './profiles.ts';

/** Per-operation costs in ms, for the operation kinds of cost_model.ts's OpCounts. */
export interface OpCostsMs {
  g1Mul: number;
  g2Mul: number;
  /** Per point of an MSM (small MSMs on these classes: Straus/interleaving, no Pippenger gain). */
  g1MsmPoints: number;
  g1Add: number;
  /** Full decode: decompression + subgroup check. */
  pointDecodes: number;
  /** Decode whose subgroup check a batch defers: decompression (a square root) only. */
  pointDecodesDeferred: number;
  millerLoops: number;
  finalExps: number;
  /** One multiplication mod r (responses s = t + c·x). */
  scalarMul: number;
  sha256Blocks: number;
  ecdsaSign: number;
  ecdsaVerify: number;
  x25519: number;
}

export interface NvmCosts {
  /** Fixed cost per persistent cell write (journal bookkeeping, commit record). */
  readonly writeMs: number;
  /** Program time of one NVM page, and the page size; a write uses ≥ 1 page. */
  readonly pageMs: number;
  readonly pageBytes: number;
  /** Transfer / word-program cost per byte. */
  readonly byteMs: number;
}

export interface HardwareCosts {
  readonly label: string;
  readonly ms: Readonly<OpCostsMs>;
  readonly nvm: NvmCosts;
  /** Average power while busy, milliwatts (ESTIMATE for every class; unchanged). */
  readonly activeMw: number;
}

export type CostedHardware = HardwareClass | 'host';

// The `host` class prices this machine's own engine, so that link timing (waits, keep-alives) and
// the model's host step follow whichever curve engine runs (src/crypto/engine). MEASURED on the
// development machine (AMD EPYC guest, 2 cores, Node 20, @noble 2.4.0 for ECDSA, X25519, SHA-256);
// re-measured by `npm run bench -- --only offline` (offline.cost_model.host.*).
const HOST_MCL = {
  label: 'this machine (mcl-wasm, Node 20)',
  ms: {
    g1Mul: 0.93, g2Mul: 1.21, g1MsmPoints: 0.16, g1Add: 0.012, pointDecodes: 0.51, pointDecodesDeferred: 0.13,
    millerLoops: 1.76, finalExps: 3.58, scalarMul: 0.0012, sha256Blocks: 0.0015, ecdsaSign: 1.45, ecdsaVerify: 3.56, x25519: 2.3,
  },
  nvm: { writeMs: 0.05, pageMs: 0, pageBytes: 4096, byteMs: 0 },
  activeMw: 15_000,
};
// blst through the native addon, 2026-12-02 (a one-off micro-benchmark of each operation, medians; MSM
// per point of a 64-point MSM without fixed-base tables); ECDSA, X25519 and SHA-256 are @noble's
// on either engine and keep the mcl row's figures.
const HOST_BLST = {
  label: 'this machine (native blst, Node 20)',
  ms: {
    g1Mul: 0.092, g2Mul: 0.17, g1MsmPoints: 0.034, g1Add: 0.0011, pointDecodes: 0.063, pointDecodesDeferred: 0.016,
    millerLoops: 0.17, finalExps: 0.48, scalarMul: 0.0012, sha256Blocks: 0.0015, ecdsaSign: 1.45, ecdsaVerify: 3.56, x25519: 2.3,
  },
  nvm: HOST_MCL.nvm,
  activeMw: 15_000,
};

/** [ECT] midpoint: the model's JavaCard ECDSA P-256 sign, ms. */
const CARD_P256_MS = 193;
/** (381/256)²: a BLS12-381 base-field multiplication against a P-256 one, digit-serial. */
const FIELD_RATIO_PKA = (381 / 256) ** 2;
/** Phone eSE against a field-powered card: same PKA family, full clock from the battery (ESTIMATE, kept). */
const ESE_SPEEDUP = 2.5;
/** Pairing parts as multiples of a G1 multiplication (see the header). */
const MILLER_PER_G1MUL = 26.3 / 6.5;
const FINAL_EXP_PER_G1MUL = 32.2 / 6.5;

/**
 * Costs of a PKA-based SE, ms: `p256` is its P-256 scalar multiplication (ECDSA sign), `g1` its
 * BLS12-381 G1 multiplication, `overhead` scales the per-call costs (hash, modmul dispatch).
 */
function seCosts(p256: number, g1: number, overhead: number): OpCostsMs {
  return {
    g1Mul: g1, // SCALED: [ECT] × FIELD_RATIO_PKA (÷ ESE_SPEEDUP for the eSE)
    g2Mul: 3 * g1, // ESTIMATE: an Fp2 multiplication ≈ 3 Fp multiplications, same scalar length
    g1MsmPoints: 0.35 * g1, // ESTIMATE (ratio kept): interleaved small MSMs ≈ 0.35 mult per point
    g1Add: g1 / 300, // ESTIMATE: a mult ≈ 255 doublings + ≈ 128 additions of ≈ 10–12 field mults each
    pointDecodes: 0.3 * g1, // SCALED: [EM4] decompression 48 k / 906 k ≈ 5 % + endomorphism subgroup check ≈ 25 %
    pointDecodesDeferred: 0.05 * g1, // SCALED: [EM4] decompression only
    millerLoops: MILLER_PER_G1MUL * g1, // SCALED: [PES], see the header
    finalExps: FINAL_EXP_PER_G1MUL * g1, // SCALED: [PES], see the header
    scalarMul: 0.2 * overhead, // ESTIMATE: one 256-bit PKA modmul ≈ 0.05 ms ([ECT] / ≈ 4 000 field mults) + call overhead
    sha256Blocks: 0.1 * overhead, // ESTIMATE: hardware hash, per-call overhead dominates (was 0.01 / 0.005)
    ecdsaSign: p256, // MEASURED [ECT] (card); ÷ ESE_SPEEDUP for the eSE
    ecdsaVerify: 1.5 * p256, // ESTIMATE: Shamir double-scalar multiplication ≈ 1.5 signs
    x25519: p256, // ESTIMATE: a 255-bit Montgomery ladder ≈ one P-256 multiplication
  };
}

const CARD_G1_MS = CARD_P256_MS * FIELD_RATIO_PKA; // ≈ 427 ms

/** The SEs' NVM: flash-based (SOLID FLASH, P71 flash), page 256 B (ESTIMATE) at 2 ms (kept; [NOR] 1.5 ms typ, [EEP] 4 ms). */
const SE_NVM: NvmCosts = { writeMs: 0, pageMs: 2, pageBytes: 256, byteMs: 0.01 };
/** MCU internal flash: [NRF] 43 µs per 32-bit word; erase (87.5 ms per 4 KB) runs while idle, not at tap. */
const MCU_NVM: NvmCosts = { writeMs: 1, pageMs: 0, pageBytes: 4096, byteMs: 0.043 / 4 };

/** Cycles → ms at `mhz`. */
const at = (mhz: number) => (cycles: number) => cycles / (mhz * 1_000);

function mcuCosts(mhz: number, ecdsaSignMs: number): OpCostsMs {
  const c = at(mhz);
  const g1 = c(6.5e6); // SCALED (kept): optimised C ≈ 2× the [EM4]-scaled 3.3 M cycles
  return {
    g1Mul: g1,
    g2Mul: 3 * g1, // ESTIMATE: Fp2 ≈ 3 Fp multiplications
    g1MsmPoints: 0.35 * g1, // ESTIMATE (ratio kept)
    g1Add: g1 / 300, // ESTIMATE, as for the SEs
    pointDecodes: Math.max(0.3 * g1, c(3.6e6)), // SCALED 0.3 × g1Mul, never below the earlier 3.6 M cycles
    pointDecodesDeferred: 0.05 * g1, // SCALED: [EM4] decompression ratio
    millerLoops: c(26.3e6), // SCALED: [PES]
    finalExps: c(32.2e6), // SCALED: [PES]
    scalarMul: c(2_000), // ESTIMATE: 8×8-word product + Barrett/Montgomery reduction mod r in C ([EM4] mulmod p: 406 cycles)
    sha256Blocks: c(3_500), // ESTIMATE: portable C SHA-256 (was 1.3 k cycles, unsourced)
    ecdsaSign: ecdsaSignMs, // kept: between [EM4] assembly (375 k cycles) and its generic C (5.7 M cycles)
    ecdsaVerify: ecdsaSignMs * (976 / 375), // SCALED: [EM4] verify / sign ratio (was 1.27×)
    x25519: c(907_000), // MEASURED [FA17]
  };
}

export const HARDWARE: Readonly<Record<CostedHardware, HardwareCosts>> = {
  'se-smartcard': {
    label: 'smart-card SE (SLE78 / P71 class, PKA coprocessor, native applet)',
    ms: seCosts(CARD_P256_MS, CARD_G1_MS, 2.5),
    nvm: SE_NVM,
    activeMw: 20,
  },
  'se-embedded': {
    label: 'phone / wearable embedded SE (same PKA family, full clock)',
    ms: seCosts(CARD_P256_MS / ESE_SPEEDUP, CARD_G1_MS / ESE_SPEEDUP, 1),
    nvm: SE_NVM,
    activeMw: 30,
  },
  'mcu-cortex-m4': {
    label: 'Cortex-M4 @ 120 MHz, software crypto',
    ms: mcuCosts(120, 30),
    nvm: MCU_NVM,
    activeMw: 40,
  },
  'mcu-cortex-m33': {
    label: 'Cortex-M33 @ 160 MHz, software crypto (UMAAL, same cycle counts as M4)',
    ms: mcuCosts(160, 22),
    nvm: MCU_NVM,
    activeMw: 25,
  },
  host: engineInfo.name === 'blst' ? HOST_BLST : HOST_MCL,
};
