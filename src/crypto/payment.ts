// The payment proof of DESIGN §3.2: one non-interactive proof, bound to the payment context, that
// the payer holds a valid credential of epoch e, that N is the PRF of its key and a counter below L,
// that T tags that key under this context, that (E1, E2) escrows the key to the regulator, and that
// the committed amount is within the tier's cap. notes/payment.md states every relation in the
// names used here; the transcript order there is the order below.
//
// Why this shape: every check is expressed as an equation in an EquationBatch, so verifying one
// payment and verifying a thousand are the same code with different batch sizes, and a ledger pays
// for one MSM and one multi-pairing per batch. Statement and proof are plain data; encoding lives in
// payment_codec.ts.

import { assert } from './assert.ts';
import { EquationBatch, verifyBatches } from './batch.ts';
import { createGenerators, type BbsSignature } from './bbs_core.ts';
import {
  appendBbsCommitment,
  appendBbsStatement,
  bbsPresentationCommit,
  bbsPresentationEquations,
  bbsPresentationRespond,
  type BbsCommitment,
  type BbsResponses,
} from './bbs_presentation.ts';
import { encryptDeviceKey, escrowRelations } from './escrow.ts';
import { G1Point, G2Point, R_ORDER, scalarNeg } from './group.ts';
import { bulletproofU, gK, pedersenG, pedersenH } from './generators.ts';
import { vectorBases } from './range_proof_nonces.ts';
import { computeNullifier, computeTag, contextScalar, nullifierExponent, nullifierRelations } from './nullifier.ts';
import { commit } from './pedersen.ts';
import {
  RangeProofNonces,
  proveRange,
  proveRangeSkippingValueCheck,
  rangeProofEquations,
  type RangeProof,
} from './range_proof.ts';
import { randomScalar, type Rng } from './rng.ts';
import { appendSigma, sigmaCommit, sigmaEquations, sigmaRespond, type LinearRelation } from './sigma.ts';
import { Transcript } from './transcript.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT, CredentialIndex } from './credential.ts';

export const PAYMENT_PROTOCOL = 'TALLY-V1/payment';
/** Bits per range-proof value; caps and L must be below 2^RANGE_BITS (checked in policy). */
export const PAYMENT_RANGE_BITS = 32;
/** Context bytes are built by the protocol layer; this bounds what a verifier hashes. */
export const PAYMENT_CONTEXT_BYTES_MAX = 256;

/** Sigma witness indexes; k's response is the BBS m^_0, so the two proofs share one k. */
export const W = { k: 0, n: 1, w: 2, a: 3, r_a: 4, r_n: 5, u: 6 } as const;
const WITNESS_COUNT = 7;
/** BBS messages hidden in a payment: k and the issuance blinding scalar. */
const HIDDEN = [CredentialIndex.k, CredentialIndex.sBlind] as const;
const DISCLOSED = [CredentialIndex.epoch, CredentialIndex.tier, CredentialIndex.deviceClass] as const;

/** What everyone verifying a payment must agree on, from the signed policy and key lists. */
export interface PaymentParams {
  /** BBS issuer key of the credential's epoch. */
  issuerKey: G2Point;
  /** Regulator escrow key Y_reg. */
  regulatorKey: G1Point;
  /** cap(t) in minor units and L for the payer's tier. */
  capMinor: bigint;
  paymentsPerEpoch: number;
}

export interface PaymentStatement {
  epoch: bigint;
  tier: number;
  deviceClass: number;
  C_a: G1Point;
  C_n: G1Point;
  N: G1Point;
  T: G1Point;
  E1: G1Point;
  E2: G1Point;
  /** Payment context bytes; R = H(ctx). */
  context: Uint8Array;
}

export interface PaymentProof {
  bbs: BbsCommitment;
  bbsResponses: BbsResponses;
  sigmaCommitments: G1Point[];
  /** Responses for n, w, a, r_a, r_n, u (k's is bbsResponses.mHat[0]). */
  sigmaResponses: bigint[];
  range: RangeProof;
}

/** A device credential: a BBS signature on (k, e, t, c, s_blind). */
export interface Credential {
  signature: BbsSignature;
  messages: readonly bigint[];
}

export type PaymentProofErrorCode = 'COUNTER_EXHAUSTED' | 'AMOUNT_NEGATIVE' | 'AMOUNT_ABOVE_CAP' | 'CONTEXT_TOO_LONG';

/** The payer asked for something the policy forbids; no proof is made. */
export class PaymentProofError extends Error {
  constructor(
    readonly code: PaymentProofErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentProofError';
  }
}

export interface PaymentProveResult {
  statement: PaymentStatement;
  proof: PaymentProof;
  /** Sent to the payee over the encrypted session; opens C_a. */
  opening: { amountMinor: bigint; r_a: bigint };
}

/**
 * Work a payer can do before it knows the payment: the range proof's blinding vectors and the
 * points that depend only on them (S and part of the first inner-product round), about a quarter of
 * the proving time. An SE computes one while idle, after each payment. Single use.
 */
export interface PaymentPrecomputation {
  rangeNonces: RangeProofNonces;
}

const RANGE_VALUES = 4;

export function precomputePayment(rng: Rng): PaymentPrecomputation {
  return { rangeNonces: RangeProofNonces.precompute(RANGE_VALUES, PAYMENT_RANGE_BITS, rng) };
}

interface ProveArgs {
  params: PaymentParams;
  credential: Credential;
  counter: number;
  amountMinor: bigint;
  context: Uint8Array;
  rng: Rng;
  precomputed?: PaymentPrecomputation;
}

function checkRequest(params: PaymentParams, counter: number, amountMinor: bigint, context: Uint8Array): void {
  if (!Number.isInteger(counter) || counter < 0 || counter >= params.paymentsPerEpoch) {
    throw new PaymentProofError('COUNTER_EXHAUSTED', `counter ${counter} is not below L = ${params.paymentsPerEpoch}`);
  }
  if (amountMinor < 0n) throw new PaymentProofError('AMOUNT_NEGATIVE', `amount ${amountMinor} is negative`);
  if (amountMinor > params.capMinor) {
    throw new PaymentProofError('AMOUNT_ABOVE_CAP', `amount ${amountMinor} is above the cap ${params.capMinor}`);
  }
  if (context.length > PAYMENT_CONTEXT_BYTES_MAX) {
    throw new PaymentProofError('CONTEXT_TOO_LONG', `context is ${context.length} bytes, at most ${PAYMENT_CONTEXT_BYTES_MAX}`);
  }
}

function relationsOf(params: PaymentParams, s: PaymentStatement, R: bigint): LinearRelation[] {
  const G = pedersenG();
  const H = pedersenH();
  return [
    ...nullifierRelations({ epoch: s.epoch, N: s.N, T: s.T, R }, { k: W.k, n: W.n, w: W.w }),
    ...escrowRelations({ E1: s.E1, E2: s.E2, Y_reg: params.regulatorKey }, { k: W.k, s: W.u }),
    { name: 'counter-commitment', image: s.C_n, terms: [[W.n, G], [W.r_n, H]] },
    { name: 'amount-commitment', image: s.C_a, terms: [[W.a, G], [W.r_a, H]] },
  ];
}

/** x·G for the few policy constants (L − 1, cap): a verifier sees the same handful over and over. */
const policyMultiples = new Map<bigint, G1Point>();
const POLICY_MULTIPLES_MAX = 64;
function multipleOfG(x: bigint): G1Point {
  let p = policyMultiples.get(x);
  if (p === undefined) {
    if (policyMultiples.size >= POLICY_MULTIPLES_MAX) policyMultiples.clear();
    p = pedersenG().mul(x);
    policyMultiples.set(x, p);
  }
  return p;
}

/** The four range-proof commitments: C_n, (L−1)·G − C_n, C_a, cap·G − C_a. */
function rangeCommitments(params: PaymentParams, s: PaymentStatement): G1Point[] {
  return [
    s.C_n,
    multipleOfG(BigInt(params.paymentsPerEpoch - 1)).sub(s.C_n),
    s.C_a,
    multipleOfG(params.capMinor).sub(s.C_a),
  ];
}

function disclosedMessages(s: PaymentStatement): Map<number, bigint> {
  return new Map<number, bigint>([
    [CredentialIndex.epoch, s.epoch],
    [CredentialIndex.tier, BigInt(s.tier)],
    [CredentialIndex.deviceClass, BigInt(s.deviceClass)],
  ]);
}

/** Steps 1 of the transcript order: the whole public input. */
function startTranscript(params: PaymentParams, s: PaymentStatement, R: bigint): Transcript {
  const t = new Transcript(PAYMENT_PROTOCOL);
  t.appendBytes('ctx', s.context);
  t.appendScalar('R', R);
  t.appendU64('cap', params.capMinor);
  t.appendU64('L', params.paymentsPerEpoch);
  t.appendPoint('Y_reg', params.regulatorKey);
  appendBbsStatement(t, {
    publicKey: params.issuerKey,
    header: CREDENTIAL_HEADER,
    messageCount: CREDENTIAL_MESSAGE_COUNT,
    disclosed: disclosedMessages(s),
  });
  for (const [label, p] of [
    ['C_a', s.C_a],
    ['C_n', s.C_n],
    ['N', s.N],
    ['T', s.T],
    ['E1', s.E1],
    ['E2', s.E2],
  ] as const) {
    t.appendPoint(label, p);
  }
  return t;
}

/**
 * Makes a payment of `amountMinor` with spending counter `counter`. Throws PaymentProofError when
 * the policy forbids the payment (the SE checks the same limits before it calls this).
 */
export function provePayment(args: ProveArgs): PaymentProveResult {
  checkRequest(args.params, args.counter, args.amountMinor, args.context);
  return proveWith(args, false);
}

/**
 * A cheating prover: skips the policy pre-check and the range prover's value check, so it emits a
 * proof for any counter and amount. Exported only for the soundness tests, which show such a proof
 * never verifies; production code calls provePayment.
 */
export function provePaymentUnchecked(args: ProveArgs): PaymentProveResult {
  return proveWith(args, true);
}

/** The statement's witness scalars besides the credential: w = 1/(k+n) and the fresh blindings. */
export interface PaymentWitness {
  k: bigint;
  n: bigint;
  w: bigint;
  a: bigint;
  r_a: bigint;
  r_n: bigint;
  u: bigint;
}

/**
 * The public input of one payment from credential messages (k, e, t, c, s), counter, amount and
 * context: exactly what a payee and the ledger see of it besides the zero-knowledge proof. The
 * prover calls it first; the privacy tests call it alone to study what records reveal.
 */
export function paymentStatement(args: {
  messages: readonly bigint[]; counter: number; amountMinor: bigint; context: Uint8Array; regulatorKey: G1Point; rng: Rng;
}): { statement: PaymentStatement; witness: PaymentWitness } {
  const m = args.messages;
  assert(m.length === CREDENTIAL_MESSAGE_COUNT, 'paymentStatement: credential must have 5 messages');
  const k = m[CredentialIndex.k]!;
  const epoch = m[CredentialIndex.epoch]!;
  const n = BigInt(args.counter);
  const a = args.amountMinor;
  const w = nullifierExponent(k, n);
  const R = contextScalar(args.context);
  const [r_a, r_n, u] = [randomScalar(args.rng), randomScalar(args.rng), randomScalar(args.rng)];
  const { E1, E2 } = encryptDeviceKey(gK().mul(k), args.regulatorKey, u);
  const statement: PaymentStatement = {
    epoch,
    tier: Number(m[CredentialIndex.tier]!),
    deviceClass: Number(m[CredentialIndex.deviceClass]!),
    C_a: commit(a, r_a),
    C_n: commit(n, r_n),
    N: computeNullifier(k, n, epoch),
    T: computeTag(k, w, R, epoch),
    E1,
    E2,
    context: args.context,
  };
  return { statement, witness: { k, n, w, a, r_a, r_n, u } };
}

function proveWith(args: ProveArgs, cheat: boolean): PaymentProveResult {
  const { params, credential, rng } = args;
  const m = credential.messages;
  const { statement, witness } = paymentStatement({
    messages: m, counter: args.counter, amountMinor: args.amountMinor, context: args.context, regulatorKey: params.regulatorKey, rng,
  });
  const { k, n, w, a, r_a, r_n, u } = witness;
  const R = contextScalar(args.context);
  const transcript = startTranscript(params, statement, R);

  const relations = relationsOf(params, statement, R);
  const sigma = sigmaCommit(relations, WITNESS_COUNT, rng);
  const bbs = bbsPresentationCommit({
    publicKey: params.issuerKey,
    signature: credential.signature,
    header: CREDENTIAL_HEADER,
    messages: m,
    disclosedIndexes: [...DISCLOSED],
    rng,
    presetMTilde: new Map([[CredentialIndex.k, sigma.tildes[W.k]!]]),
  });
  appendBbsCommitment(transcript, bbs.commitment);
  appendSigma(transcript, relations, sigma.commitments);
  const c = transcript.challengeScalar('payment.c');
  const bbsResponses = bbsPresentationRespond(bbs.state, c);
  const z = sigmaRespond(sigma.tildes, [k, n, w, a, r_a, r_n, u], c);
  assert(z[W.k] === bbsResponses.mHat[0], 'provePayment: BBS and sigma responses for k differ');

  const L = BigInt(params.paymentsPerEpoch);
  const values = [n, L - 1n - n, a, params.capMinor - a];
  const rangeInput = {
    transcript,
    // A cheating prover can only commit to the 32-bit truncation; the verifier derives the real V_j.
    values: cheat ? values.map((v) => BigInt.asUintN(PAYMENT_RANGE_BITS, v)) : values,
    blindings: [r_n, scalarNeg(r_n), r_a, scalarNeg(r_a)],
    bits: PAYMENT_RANGE_BITS,
    rng,
    nonces: args.precomputed?.rangeNonces,
  } as const;
  const { proof: range } = cheat ? proveRangeSkippingValueCheck(rangeInput) : proveRange(rangeInput);
  const proof: PaymentProof = {
    bbs: bbs.commitment,
    bbsResponses,
    sigmaCommitments: sigma.commitments,
    sigmaResponses: z.slice(1),
    range,
  };
  return { statement, proof, opening: { amountMinor: a, r_a } };
}

/**
 * Hashes every fixed generator a payment verifier uses (~1 ms each through hash-to-curve, ~270 of
 * them), so a long-running verifier pays this once at start-up instead of inside its first batch.
 * The per-epoch bases g_N(e) and h_T(e) are left to first use.
 */
export function warmUpPaymentVerifier(): void {
  vectorBases(RANGE_VALUES * PAYMENT_RANGE_BITS);
  bulletproofU();
  pedersenG();
  pedersenH();
  gK();
  createGenerators(CREDENTIAL_MESSAGE_COUNT + 1);
}

export type PaymentRejectReason =
  | 'CONTEXT_TOO_LONG'
  | 'PROOF_SHAPE'
  | 'CREDENTIAL_STRUCTURE'
  | 'RANGE_PROOF_SHAPE'
  | 'EQUATIONS_FAILED';

export type PaymentEquationsResult = { ok: true; batch: EquationBatch } | { ok: false; reason: PaymentRejectReason };

/** Rebuilds the transcript and returns every equation the payment must satisfy. Never throws. */
export function paymentEquations(params: PaymentParams, s: PaymentStatement, proof: PaymentProof): PaymentEquationsResult {
  try {
    if (s.context.length > PAYMENT_CONTEXT_BYTES_MAX) return { ok: false, reason: 'CONTEXT_TOO_LONG' };
    if (proof.sigmaResponses.length !== WITNESS_COUNT - 1 || proof.bbsResponses.mHat.length !== HIDDEN.length) {
      return { ok: false, reason: 'PROOF_SHAPE' };
    }
    if (!proof.sigmaResponses.every((z) => z >= 0n && z < R_ORDER)) return { ok: false, reason: 'PROOF_SHAPE' };
    const R = contextScalar(s.context);
    const transcript = startTranscript(params, s, R);
    const relations = relationsOf(params, s, R);
    if (proof.sigmaCommitments.length !== relations.length) return { ok: false, reason: 'PROOF_SHAPE' };
    appendBbsCommitment(transcript, proof.bbs);
    appendSigma(transcript, relations, proof.sigmaCommitments);
    const c = transcript.challengeScalar('payment.c');
    const bbs = bbsPresentationEquations({
      publicKey: params.issuerKey,
      header: CREDENTIAL_HEADER,
      messageCount: CREDENTIAL_MESSAGE_COUNT,
      disclosed: disclosedMessages(s),
      commitment: proof.bbs,
      responses: proof.bbsResponses,
      c,
    });
    if (!bbs.structural) return { ok: false, reason: 'CREDENTIAL_STRUCTURE' };
    const batch = new EquationBatch();
    bbs.msm.forEach((e) => batch.addMsm(e));
    batch.addPairing(bbs.pairing);
    const responses = [proof.bbsResponses.mHat[0]!, ...proof.sigmaResponses];
    sigmaEquations(relations, { commitments: proof.sigmaCommitments, responses }, c).forEach((e) => batch.addMsm(e));
    const range = rangeProofEquations({
      transcript,
      proof: proof.range,
      commitments: rangeCommitments(params, s),
      bits: PAYMENT_RANGE_BITS,
    });
    if (!range.ok) return { ok: false, reason: 'RANGE_PROOF_SHAPE' };
    range.equations.forEach((e) => batch.addMsm(e));
    return { ok: true, batch };
  } catch {
    return { ok: false, reason: 'PROOF_SHAPE' };
  }
}

export type PaymentVerifyResult = { ok: true } | { ok: false; reason: PaymentRejectReason };

export function verifyPayment(params: PaymentParams, s: PaymentStatement, proof: PaymentProof, rng: Rng): PaymentVerifyResult {
  const eqs = paymentEquations(params, s, proof);
  if (!eqs.ok) return eqs;
  return eqs.batch.check(rng) ? { ok: true } : { ok: false, reason: 'EQUATIONS_FAILED' };
}

export interface PaymentBatchItem {
  params: PaymentParams;
  statement: PaymentStatement;
  proof: PaymentProof;
}

/**
 * Verifies many payments with one MSM and one multi-pairing. On failure, halves the batch until
 * the failing payments are found, so a batch with one forgery costs about 2·log2(size) extra checks.
 */
export function verifyPaymentBatch(items: readonly PaymentBatchItem[], rng: Rng): { ok: boolean; failed: number[] } {
  const batches: Array<EquationBatch | null> = items.map((it) => {
    const r = paymentEquations(it.params, it.statement, it.proof);
    return r.ok ? r.batch : null;
  });
  return verifyBatches(batches, rng);
}
