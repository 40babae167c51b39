// Device-class cost model (DESIGN §4, §8): turns each payment step's operation counts into time
// and energy on representative SE and microcontroller classes, so "how long does a tap take on a
// ring" has a number, and the number moves when the protocol does.
//
// Counts are data with a comment deriving each; the parts that exist in today's code are checked
// against the code by counting (src/crypto/op_count.ts, cost_model.test.ts), within
// COUNT_TOLERANCE. Per-operation costs live in cost_hardware.ts, each with its source.
// Two payment shapes are priced:
//  - `commandOps`: today's commands (BUILD / AUTHORIZE / ACCEPT / PRECOMPUTE_PAYMENT), the
//    4 × 32-bit range proof proved in the SE at tap;
//  - `stepOps`: the restructured payment of issue 9 (/work notes: design9, src/crypto/notes/
//    payment.md): per-counter spend tokens precomputed while idle, a constant tap-time SE path,
//    the amount range proof (2 × b bits) on the host.

import { assert } from '../crypto/assert.ts';
import { HARDWARE, type CostedHardware, type OpCostsMs } from './cost_hardware.ts';

export { HARDWARE, type CostedHardware, type HardwareCosts } from './cost_hardware.ts';

export interface OpCounts extends Record<keyof OpCostsMs, number> {
  /** Persistent cell writes (journal entry + cells + journal removal count separately). */
  nvmWrites: number;
  /** Bytes those writes carry (journal copy included). */
  nvmBytes: number;
}

/** Counts from the code may differ from the model's by this share (rounding, small helpers). */
export const COUNT_TOLERANCE = 0.1;

/** Bytes of one seen-nullifier entry in NVM (48-byte point + epoch + CBOR framing). */
const NULLIFIER_ENTRY_BYTES = 57;
/** Range-proof bit width of the default policy table (issue 9: the smallest width holding cap and L). */
export const POLICY_RANGE_BITS = 16;

const zero: OpCounts = {
  g1Mul: 0, g2Mul: 0, g1MsmPoints: 0, g1Add: 0, pointDecodes: 0, pointDecodesDeferred: 0, millerLoops: 0, finalExps: 0,
  scalarMul: 0, sha256Blocks: 0, ecdsaSign: 0, ecdsaVerify: 0, x25519: 0, nvmWrites: 0, nvmBytes: 0,
};
const ops = (o: Partial<OpCounts>): OpCounts => ({ ...zero, ...o });

export function sumOps(...xs: OpCounts[]): OpCounts {
  const out = { ...zero };
  for (const x of xs) for (const k of Object.keys(out) as Array<keyof OpCounts>) out[k] += x[k];
  return out;
}

// ---- Building blocks (counted against today's code in cost_model.test.ts) -----------------------

/**
 * BBS presentation of a credential with `messages` signed messages, 2 hidden (bbs_proof_core.ts
 * proofInit): B = P1 + Q1·dom + Σ H_i·m_i (messages + 2 points), D = r2·B and Abar = (r1·r2)·A
 * (2 mults), Bbar = r1·D − e·Abar (2), T1 = e~·Abar + r1~·D (2), T2 = r3~·D + Σ m~_j·H_j (3).
 * Plus the issuer key (G2) and the stored signature's A decoded. `cachedB`: B computed once per
 * credential and kept (its messages never change), as a spend token does; `keysDecoded`: the
 * issuer key and signature already decoded in RAM (a batch of tokens decodes them once).
 */
export function bbsProveOps(messages: number, opts: { cachedB?: boolean; keysDecoded?: boolean } = {}): OpCounts {
  const B = opts.cachedB ? 0 : messages + 2;
  return ops({ g1Mul: 2, g1MsmPoints: B + 2 + 2 + 3, pointDecodes: opts.keysDecoded ? 0 : 2, sha256Blocks: 12 });
}

/**
 * Verification of one BBS presentation with `messages` messages, 2 hidden, alone
 * (credential_proof.ts): Abar, Bbar, D, T1, T2 decoded (5, full) + the issuer key (G2, 1); one
 * MSM merging eq1 (4 points) and eq2 (D, P1, Q1, T2 + messages) into messages + 7 distinct points
 * (shared D) and a cofactor clear; e(Abar, W)·e(Bbar, −P2): 2 Miller loops, 1 final exp.
 */
export function bbsVerifyOps(messages: number): OpCounts {
  return ops({ pointDecodes: 6, g1MsmPoints: messages + 7, millerLoops: 2, finalExps: 1, sha256Blocks: 12 });
}

/**
 * Aggregated Bulletproof over m values of `bits` bits, nm = m·bits, counted on today's prover
 * (range_proof.ts at 2 × 32): commitments V_j = v·G + γ·H and A = α·H + … (2m + 1 mults);
 * MSM points ≈ 10·nm + 1 (A and S over 2nm generators, T1, T2, and the inner-product rounds'
 * L, R and generator folds); nm + 2 point additions. SHA-256: ≈ 2 blocks per IPA round + 10.
 */
export function rangeProveOps(m: number, bits: number): OpCounts {
  const nm = m * bits;
  return ops({ g1Mul: 2 * m + 1, g1MsmPoints: 10 * nm + 1, g1Add: nm + 2, sha256Blocks: 2 * Math.log2(nm) + 10 });
}

/** Its verification alone: one MSM over 2nm generators + 2·log2(nm) round points + m + 7 others, one cofactor clear. */
export function rangeVerifyOps(m: number, bits: number): OpCounts {
  const nm = m * bits;
  return ops({ g1MsmPoints: 2 * nm + 2 * Math.log2(nm) + m + 7, sha256Blocks: 2 * Math.log2(nm) + 10 });
}

// ---- Today's commands ---------------------------------------------------------------------------

const CREDENTIAL_MESSAGES = 5;
/** Share of today's range proof done ahead by PRECOMPUTE_PAYMENT (S and part of round one; counted: 513). */
export const PRECOMPUTED_RANGE_POINTS = 513;

export type PaymentCommand = 'BUILD_PAYMENT_REQUEST' | 'AUTHORIZE_PAYMENT' | 'ACCEPT_PAYMENT' | 'PRECOMPUTE_PAYMENT';

/**
 * Operation counts of today's payment commands. `seenNullifiers` sizes the nullifier-set cell
 * the payee rewrites on ACCEPT; `precomputed` says whether AUTHORIZE found a precomputation.
 */
export function commandOps(command: PaymentCommand, opts: { seenNullifiers?: number; precomputed?: boolean } = {}): OpCounts {
  switch (command) {
    case 'BUILD_PAYMENT_REQUEST':
      // Credential proof, X25519 key pair, one NVM transaction over the pending-request table.
      return sumOps(bbsProveOps(CREDENTIAL_MESSAGES), ops({ x25519: 1, sha256Blocks: 4, nvmWrites: 3, nvmBytes: 2 * 1_700 }));
    case 'AUTHORIZE_PAYMENT': {
      // Payee credential proof verified, session (keygen + DH + HKDF + AEAD), payment proof:
      // N, T, E1, E2, C_a, C_n, BBS part, 7 sigma commitments, the 4 × 32 range proof; then
      // wallet, spending and the 2.4 KB last payment written.
      const pre = opts.precomputed ? PRECOMPUTED_RANGE_POINTS : 0;
      return sumOps(
        bbsVerifyOps(CREDENTIAL_MESSAGES), bbsProveOps(CREDENTIAL_MESSAGES), rangeProveOps(4, 32),
        ops({ g1Mul: 6, g1MsmPoints: 8 + 15 - pre, scalarMul: 30, x25519: 2, sha256Blocks: 40, nvmWrites: 5, nvmBytes: 2 * 2_700 }),
      );
    }
    case 'ACCEPT_PAYMENT': {
      // Points decoded (public inputs full, proof elements deferred), session DH + AEAD, C_a
      // opening, batched verification of the BBS, sigma and range equations, receipt signature,
      // one NVM transaction: receipt entry, nullifier set, wallet, log meta, request table.
      const nvmSet = (opts.seenNullifiers ?? 64) * NULLIFIER_ENTRY_BYTES;
      return sumOps(
        bbsVerifyOps(CREDENTIAL_MESSAGES), rangeVerifyOps(4, 32),
        ops({ pointDecodes: 4, pointDecodesDeferred: 28, g1MsmPoints: 2 + 28, x25519: 1, ecdsaSign: 1, sha256Blocks: 48, nvmWrites: 7, nvmBytes: 2 * (2_600 + nvmSet + 1_800) }),
      );
    }
    case 'PRECOMPUTE_PAYMENT':
      return ops({ g1MsmPoints: PRECOMPUTED_RANGE_POINTS, sha256Blocks: 2 });
  }
}

// ---- The restructured payment (issue 9) ---------------------------------------------------------

export type PaymentStep = 'payer.se.precompute' | 'payer.se.tap' | 'payer.host.tap' | 'payee.se.build' | 'payee.se.accept';
export const PAYMENT_STEPS: readonly PaymentStep[] = ['payer.se.precompute', 'payer.se.tap', 'payer.host.tap', 'payee.se.build', 'payee.se.accept'];

/** Scalar multiplications of one inversion mod r by Fermat (≈ 255 squarings + ≈ 128 products). */
const SCALAR_INVERSION_MULS = 383;

/**
 * Operation counts of each step of the restructured payment, `bits` the policy's range width.
 * One entry per step; the comment derives each count from design9 (the lead reconciles them with
 * the new code by counting, as cost_model.test.ts does for the steps that exist today).
 */
export function stepOps(step: PaymentStep, opts: { bits?: number; seenNullifiers?: number } = {}): OpCounts {
  const bits = opts.bits ?? POLICY_RANGE_BITS;
  switch (step) {
    case 'payer.se.precompute':
      // One spend token for counter n, while idle. w = 1/(k+n) (one inversion). Single mults:
      // N = w·g_N(e), W_T = w·h_T(e), E1 = u·G, u·Y_reg (E2 = K + u·Y_reg, +1 add), R_a = r_a·H (5).
      // Credential presentation with B cached per credential (2 mults, 7 MSM points). Counter-set
      // signature on the single message n (B_n = P1 + Q1·dom + H1·n: 3 points, per token) (2 mults,
      // 10 points). Sigma commitments, none depending on R: w~·g_N, (k~+n~)·N, k~·g_K, w~·h_T,
      // u~·G, r_a~·H (6 mults), k~·g_K + u~·Y_reg and a~·G + r_a~·H (2 two-point MSMs).
      // ≈ 15 mults + 21 MSM points ≈ 22 mult-equivalents (design9: "about 20 G1 multiplications").
      // Nonces and blindings derived (≈ 10 blocks); the token (≈ 14 points + 15 scalars ≈ 1.2 KB)
      // written with its pool index in one journaled transaction (2 cells + journal write and
      // removal; journal checksum ≈ 20 blocks).
      return sumOps(
        bbsProveOps(CREDENTIAL_MESSAGES, { cachedB: true, keysDecoded: true }),
        bbsProveOps(1, { keysDecoded: true }),
        ops({ g1Mul: 5 + 6, g1Add: 1, g1MsmPoints: 4, scalarMul: SCALAR_INVERSION_MULS + 20, sha256Blocks: 30, nvmWrites: 4, nvmBytes: 2 * 1_250 }),
      );
    case 'payer.se.tap':
      // AUTHORIZE_PAYMENT after PRECOMPUTE: R = H(ctx) (hash to scalar, 4 blocks); C_a = a·G + R_a
      // from a comb table of j·16^i·G (payment.ts, combTimesG): ⌈b/4⌉ additions + 1; T = K + R·W_T: 1 mult + 1 add;
      // transcript over the ≈ 2.3 KB statement and commitments and the challenge (≈ 40 blocks);
      // ≈ 12 responses s = t + c·x mod r; one NVM transaction (nvm.ts): a journal cell holding
      // every write and its SHA-256 (≈ 3.3 KB: 55 blocks), then the 5 cells in place — the kept
      // payment in its own cell (payment 2.24 KB + context + hashes ≈ 2.65 KB), the paid request ids
      // (≤ 32 × 16 B), wallet, spending, the token's slot emptied — then the journal removed:
      // 7 writes, bytes × 2. No pairing, no X25519, no ECDSA; only the adds grow with the bits.
      return ops({ g1Mul: 1, g1Add: Math.ceil(bits / 4) + 2, scalarMul: 12, sha256Blocks: 44 + 55, nvmWrites: 7, nvmBytes: 2 * (2_650 + 560 + 64 + 64 + 32) });
    case 'payer.host.tap':
      // Phone AP / head unit / the reader driving a passive ring: the amount range proof over
      // C_a (m = 2: a and cap − a, b bits), X25519 key generation + DH, HKDF + AEAD sealing
      // (a, r_a) (≈ 6 blocks), and the payee's credential proof verified.
      return sumOps(rangeProveOps(2, bits), bbsVerifyOps(CREDENTIAL_MESSAGES), ops({ x25519: 2, sha256Blocks: 6 }));
    case 'payee.se.build':
      return commandOps('BUILD_PAYMENT_REQUEST');
    case 'payee.se.accept': {
      // Public inputs decoded in full (N, T, E1, E2, C_a, issuer key: 6), proof elements deferred
      // (2 × 5 BBS commitments, ≈ 10 sigma commitments, range proof A, S, T1, T2 + 2·log2(2b)).
      // One batch: two BBS presentations under one issuer key (MSM 2 × 12 points; the pairing
      // equations grouped by G2 side: 2 Miller loops + 1 final exp), ≈ 6 sigma relations
      // (≈ 18 points), the 2 × b range proof, the C_a opening (2 points), a cofactor clear.
      // Session DH + HKDF + AEAD, transcript, receipt signature, and today's NVM transaction.
      const nvmSet = (opts.seenNullifiers ?? 64) * NULLIFIER_ENTRY_BYTES;
      const range = rangeVerifyOps(2, bits);
      return sumOps(range, ops({
        pointDecodes: 6, pointDecodesDeferred: 10 + 10 + 4 + 2 * Math.log2(2 * bits),
        g1MsmPoints: 2 * (CREDENTIAL_MESSAGES + 7) + 18 + 2, millerLoops: 2, finalExps: 1,
        x25519: 1, ecdsaSign: 1, sha256Blocks: 60, nvmWrites: 7, nvmBytes: 2 * (2_300 + nvmSet + 1_800),
      }));
    }
  }
}

// ---- Pricing ------------------------------------------------------------------------------------

export interface CostEstimate {
  timeMs: number;
  energyMj: number;
  /** Time per operation kind, ms (NVM split into nvmWrites, nvmPages and nvmBytes). */
  breakdown: Partial<Record<keyof OpCounts | 'nvmPages', number>>;
}

export function estimate(counts: OpCounts, hardware: CostedHardware): CostEstimate {
  const hw = HARDWARE[hardware];
  const breakdown: CostEstimate['breakdown'] = {};
  let timeMs = 0;
  const add = (k: keyof CostEstimate['breakdown'], t: number) => {
    assert(Number.isFinite(t) && t >= 0, `estimate: ${k} costs ${t} ms on ${hardware}`);
    if (t > 0) breakdown[k] = t;
    timeMs += t;
  };
  for (const k of Object.keys(hw.ms) as Array<keyof OpCostsMs>) add(k, counts[k] * hw.ms[k]);
  // Every cell write starts a page; its bytes fill pages of the class's size.
  const pages = counts.nvmWrites + Math.floor(counts.nvmBytes / hw.nvm.pageBytes);
  add('nvmWrites', counts.nvmWrites * hw.nvm.writeMs);
  add('nvmPages', pages * hw.nvm.pageMs);
  add('nvmBytes', counts.nvmBytes * hw.nvm.byteMs);
  return { timeMs, energyMj: (timeMs * hw.activeMw) / 1000, breakdown };
}

/** SE time of one whole payment in today's shape: the payee builds and accepts, the payer authorizes. */
export function paymentCost(payer: CostedHardware, payee: CostedHardware, opts: { precomputed?: boolean; seenNullifiers?: number } = {}) {
  const build = estimate(commandOps('BUILD_PAYMENT_REQUEST'), payee);
  const authorize = estimate(commandOps('AUTHORIZE_PAYMENT', opts), payer);
  const accept = estimate(commandOps('ACCEPT_PAYMENT', opts), payee);
  return { build, authorize, accept, totalMs: build.timeMs + authorize.timeMs + accept.timeMs };
}

/** The restructured payment priced: payer SE idle and tap, payer host tap, payee SE. */
export function restructuredPaymentCost(payer: CostedHardware, payee: CostedHardware, opts: { bits?: number; seenNullifiers?: number; host?: CostedHardware } = {}) {
  const precompute = estimate(stepOps('payer.se.precompute', opts), payer);
  const tap = estimate(stepOps('payer.se.tap', opts), payer);
  const hostTap = estimate(stepOps('payer.host.tap', opts), opts.host ?? 'host');
  const build = estimate(stepOps('payee.se.build', opts), payee);
  const accept = estimate(stepOps('payee.se.accept', opts), payee);
  return { precompute, tap, hostTap, build, accept, payeeMs: build.timeMs + accept.timeMs };
}
