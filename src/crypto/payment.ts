// The payment proof of DESIGN §3.2: one non-interactive proof, bound to the payment context, that
// the payer holds a valid credential of epoch e, that N is the PRF of its key and a counter the
// issuer signed as below L, that T tags that key under this context, that (E1, E2) escrows the key
// to the regulator, and that the committed amount is within the tier's cap. notes/payment.md states
// every relation in the names used here; the transcript order there is the order below.
//
// Why this shape — what runs when (DESIGN §3.2, notes/payment.md "What runs when"):
//  - precomputeSpendToken (the SE, while idle): everything that does not depend on the payee's
//    request — w, N, the escrow, R_a = r_a·H, W_T = w·h_T(e), both BBS presentations' randomisation
//    (credential; counter-set signature on n, which replaces a counter range proof) and every sigma
//    commitment. No relation's commitment depends on R: the tag uses the witness v = R·w, tied to w
//    by R·N = v·g_N(e), so its commitment k~·g_K + v~·h_T(e) is fixed before R is known.
//  - proveAmountRange (the host, at tap): the amount's range proof over C_a = a·G + r_a·H. It needs
//    a and r_a only; the payee learns both anyway.
//  - finishPayment (the SE, at tap): C_a = a·G + R_a, T = K + R·W_T — one scalar multiplication —,
//    the challenge and a dozen scalar responses.
// Every check is an equation in an EquationBatch, so verifying one payment and a thousand are the
// same code. Statement and proof are plain data; encoding lives in payment_codec.ts.

import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import { EquationBatch, verifyBatches, type MsmEquation } from './batch.ts';
import { createGenerators, type BbsSignature } from './bbs_core.ts';
import {
  appendBbsCommitment,
  appendBbsStatement,
  bbsPresentationCommit,
  bbsPresentationEquations,
  bbsPresentationRespond,
  type BbsCommitment,
  type BbsPresentationState,
  type BbsResponses,
} from './bbs_presentation.ts';
import { COUNTER_MESSAGE_COUNT, counterSetHeader } from './counter_set.ts';
import { encryptDeviceKey } from './escrow.ts';
import { G1Point, G2Point, R_ORDER, mod, scalarMul, scalarNeg } from './group.ts';
import { bulletproofU, gK, gN, hT, pedersenG, pedersenH } from './generators.ts';
import { vectorBases } from './range_proof_nonces.ts';
import { computeNullifier, computeTag, contextScalar, nullifierExponent } from './nullifier.ts';
import { commit } from './pedersen.ts';
import {
  RangeProofNonces,
  encodeRangeProof,
  proveRange,
  proveRangeSkippingValueCheck,
  rangeProofBatchEquations,
  type RangeBits,
  type RangeProof,
} from './range_proof.ts';
import { randomScalar, type Rng } from './rng.ts';
import { appendSigma, sigmaCommit, sigmaEquations, sigmaRespond, type LinearRelation } from './sigma.ts';
import { Transcript } from './transcript.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT, CredentialIndex } from './credential.ts';

export const PAYMENT_PROTOCOL = 'TALLY-V1/payment/2';
/** The amount range proof's own transcript: made by the host, bound into the payment by its bytes. */
export const AMOUNT_RANGE_PROTOCOL = 'TALLY-V1/payment/amount-range';
/** Context bytes are built by the protocol layer; this bounds what a verifier hashes. */
export const PAYMENT_CONTEXT_BYTES_MAX = 256;
/** Range-proof widths a payment may use; the policy's cap picks the smallest that holds it. */
export const PAYMENT_RANGE_WIDTHS: readonly RangeBits[] = [8, 16, 32];
/** Values in the amount range proof: a and cap − a. */
export const AMOUNT_RANGE_VALUES = 2;

/** Sigma witness indexes; k's response is the credential's m^_0 and n's the counter's m^_0. */
export const W = { k: 0, n: 1, w: 2, v: 3, u: 4 } as const;
const WITNESS_COUNT = 5;
/** Sigma responses carried in the proof: w, v, u (k and n come from the two presentations). */
export const SIGMA_RESPONSE_COUNT = 3;
export const SIGMA_RELATION_COUNT = 6;
/** BBS messages hidden in a payment: k and the issuance blinding scalar. */
const HIDDEN = [CredentialIndex.k, CredentialIndex.sBlind] as const;
const DISCLOSED = [CredentialIndex.epoch, CredentialIndex.tier, CredentialIndex.deviceClass] as const;

/**
 * The smallest supported width b with cap < 2^b: a ∈ [0, 2^b) and cap − a ∈ [0, 2^b) then give
 * 0 ≤ a ≤ cap (16 bits for every tier of the default table).
 */
export function paymentRangeBits(capMinor: bigint): RangeBits {
  assert(capMinor >= 0n, 'paymentRangeBits: cap must be non-negative');
  const b = PAYMENT_RANGE_WIDTHS.find((w) => capMinor < 1n << BigInt(w));
  assert(b !== undefined, `paymentRangeBits: cap ${capMinor} needs more than 32 bits`);
  return b;
}

/** What everyone verifying a payment must agree on, from the signed policy and key lists. */
export interface PaymentParams {
  /** BBS issuer key of the credential's epoch; it also signed the epoch's counter sets. */
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
  /** Width of the amount range proof; must equal paymentRangeBits(cap). */
  rangeBits: number;
  C_a: G1Point;
  N: G1Point;
  T: G1Point;
  E1: G1Point;
  E2: G1Point;
  /** Payment context bytes; R = H(ctx). */
  context: Uint8Array;
}

export interface PaymentProof {
  /** Presentation of the credential (k and s hidden). */
  bbs: BbsCommitment;
  bbsResponses: BbsResponses;
  /** Presentation of the counter-set signature on n (n hidden). */
  counter: BbsCommitment;
  counterResponses: BbsResponses;
  sigmaCommitments: G1Point[];
  /** Responses for w, v, u (k's is bbsResponses.mHat[0], n's is counterResponses.mHat[0]). */
  sigmaResponses: bigint[];
  /** Amount range proof: a and cap − a in [0, 2^rangeBits). */
  range: RangeProof;
}

/**
 * A device credential: a BBS signature on (k, e, t, c, s_blind), and the issuer's counter-set
 * signatures on 0 … L−1 for the credential's tier (counter_set.ts; public data).
 */
export interface Credential {
  signature: BbsSignature;
  messages: readonly bigint[];
  counterSet: readonly BbsSignature[];
}

export type PaymentProofErrorCode =
  | 'COUNTER_EXHAUSTED'
  | 'AMOUNT_NEGATIVE'
  | 'AMOUNT_ABOVE_CAP'
  | 'CONTEXT_TOO_LONG'
  | 'TOKEN_MISMATCH';

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

// ---- The relations -------------------------------------------------------------------------------

/**
 * The six linear relations (notes/payment.md table), witnesses (k, n, w, v, u):
 *   N = w·g_N(e);  g_N(e) = k·N + n·N;  R·N = v·g_N(e);  T = k·g_K + v·h_T(e);
 *   E1 = u·G;  E2 = k·g_K + u·Y_reg.
 * Their bases depend on N and the epoch only, never on R or T, so the prover's commitments can be
 * made before the payee is known. `images` are absent while precomputing (commitments use bases only).
 */
function relationsOf(
  regulatorKey: G1Point,
  epoch: bigint,
  N: G1Point,
  images: { T: G1Point; E1: G1Point; E2: G1Point; R: bigint } | null,
): LinearRelation[] {
  const g_N = gN(epoch);
  const h_T = hT(epoch);
  const g_K = gK();
  const none = G1Point.IDENTITY;
  return [
    { name: 'nullifier', image: N, terms: [[W.w, g_N]] },
    { name: 'nullifier-inverse', image: g_N, terms: [[W.k, N], [W.n, N]] },
    { name: 'tag-exponent', image: N, imageScale: images?.R ?? 1n, terms: [[W.v, g_N]] },
    { name: 'tag', image: images?.T ?? none, terms: [[W.k, g_K], [W.v, h_T]] },
    { name: 'escrow-E1', image: images?.E1 ?? none, terms: [[W.u, pedersenG()]] },
    { name: 'escrow-E2', image: images?.E2 ?? none, terms: [[W.k, g_K], [W.u, regulatorKey]] },
  ];
}

/** x·G for the few policy constants (cap): a verifier sees the same handful over and over. */
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

function disclosedMessages(s: { epoch: bigint; tier: number; deviceClass: number }): Map<number, bigint> {
  return new Map<number, bigint>([
    [CredentialIndex.epoch, s.epoch],
    [CredentialIndex.tier, BigInt(s.tier)],
    [CredentialIndex.deviceClass, BigInt(s.deviceClass)],
  ]);
}

// ---- The amount range proof (host side) ---------------------------------------------------------

function amountRangeTranscript(capMinor: bigint, bits: number): Transcript {
  return new Transcript(AMOUNT_RANGE_PROTOCOL).appendU64('cap', capMinor).appendU64('bits', bits);
}

/** The two commitments the amount range proof is about: C_a and cap·G − C_a. */
function amountCommitments(capMinor: bigint, C_a: G1Point): G1Point[] {
  return [C_a, multipleOfG(capMinor).sub(C_a)];
}

/**
 * The range equations with s·(cap·G − C_a) written as s·(cap·G) − s·C_a: the same equation, but the
 * MSM then holds the cached cap·G and C_a (already there) instead of one more point per payment.
 * The derived point is still computed: the range transcript absorbs its bytes.
 */
function withoutDerivedCommitment(terms: MsmEquation, commitments: readonly G1Point[], capMinor: bigint): MsmEquation {
  const [C_a, derived] = commitments as [G1Point, G1Point];
  const out: MsmEquation = [];
  for (const term of terms) {
    if (term[0] === derived) out.push([multipleOfG(capMinor), term[1]], [C_a, -term[1]]);
    else out.push(term);
  }
  return out;
}

/** Nonces for the amount range proof, made while idle by whoever will prove it (a host). */
export function precomputeAmountRange(capMinor: bigint, rng: Rng): RangeProofNonces {
  return RangeProofNonces.precompute(AMOUNT_RANGE_VALUES, paymentRangeBits(capMinor), rng);
}

/**
 * The host's part at tap time: C_a = a·G + r_a·H and the range proof that a and cap − a are in
 * [0, 2^b). r_a comes from the SE's spend token (it is not a secret the SE keeps: the payee learns it).
 */
export function proveAmountRange(args: {
  capMinor: bigint;
  amountMinor: bigint;
  r_a: bigint;
  rng: Rng;
  nonces?: RangeProofNonces;
  /** Soundness tests only: prove the truncated bits of an out-of-range amount. */
  cheat?: boolean;
}): { C_a: G1Point; range: RangeProof } {
  const { capMinor: cap, amountMinor: a, r_a } = args;
  if (!args.cheat) {
    if (a < 0n) throw new PaymentProofError('AMOUNT_NEGATIVE', `amount ${a} is negative`);
    if (a > cap) throw new PaymentProofError('AMOUNT_ABOVE_CAP', `amount ${a} is above the cap ${cap}`);
  }
  const bits = paymentRangeBits(cap);
  const values = [a, cap - a];
  const input = {
    transcript: amountRangeTranscript(cap, bits),
    // A cheating prover can only commit to the b-bit truncation; the verifier derives the real V_j.
    values: args.cheat ? values.map((v) => BigInt.asUintN(bits, v)) : values,
    blindings: [r_a, scalarNeg(r_a)],
    bits,
    rng: args.rng,
    nonces: args.nonces,
  } as const;
  const { proof } = args.cheat ? proveRangeSkippingValueCheck(input) : proveRange(input);
  return { C_a: commit(a, r_a), range: proof };
}

// ---- Spend tokens (SE, idle) ----------------------------------------------------------------------

/**
 * Everything of one future payment that does not depend on its payee: secrets (w, u, r_a, the
 * presentations' randomisers, every sigma nonce) and the points made from them. Single use: two
 * challenges answered from one token reveal k and the credential (special soundness), and both
 * answers carry the token's N, so a token used twice is a detected, attributed double spend.
 */
export interface SpendToken {
  readonly epoch: bigint;
  readonly tier: number;
  readonly deviceClass: number;
  readonly counter: number;
  /** L the counter signature was made for. */
  readonly paymentsPerEpoch: number;
  readonly w: bigint;
  readonly u: bigint;
  readonly r_a: bigint;
  /** Sigma nonces, indexed by W; [W.k] and [W.n] are also the presentations' m~. */
  readonly sigmaTildes: readonly bigint[];
  readonly bbs: BbsPresentationState;
  readonly counterBbs: BbsPresentationState;
  readonly K: G1Point;
  readonly N: G1Point;
  readonly E1: G1Point;
  readonly E2: G1Point;
  /** w·h_T(e): T = K + R·W_T at tap. */
  readonly W_T: G1Point;
  /** r_a·H: C_a = a·G + R_a at tap. */
  readonly R_a: G1Point;
  readonly bbsCommitment: BbsCommitment;
  readonly counterCommitment: BbsCommitment;
  readonly sigmaCommitments: readonly G1Point[];
}

/** Builds the spend token for counter `counter` of `credential` (the SE's idle work, ~20 G1 mults). */
export function precomputeSpendToken(args: {
  params: PaymentParams;
  credential: Pick<Credential, 'signature' | 'messages'> & { counterSet?: readonly BbsSignature[] };
  counter: number;
  rng: Rng;
  /** The set's signature on `counter`, when the caller holds only that one (an SE reads one entry). */
  counterSignature?: BbsSignature;
  K?: G1Point;
}): SpendToken {
  const { params, credential, counter, rng } = args;
  const m = credential.messages;
  assert(m.length === CREDENTIAL_MESSAGE_COUNT, 'precomputeSpendToken: credential must have 5 messages');
  if (!Number.isInteger(counter) || counter < 0 || counter >= params.paymentsPerEpoch) {
    throw new PaymentProofError('COUNTER_EXHAUSTED', `counter ${counter} is not below L = ${params.paymentsPerEpoch}`);
  }
  const set = credential.counterSet;
  const counterSignature = args.counterSignature ?? (set !== undefined && set.length === params.paymentsPerEpoch ? set[counter] : undefined);
  if (counterSignature === undefined) {
    throw new PaymentProofError('TOKEN_MISMATCH', `no counter-set signature for counter ${counter} of L = ${params.paymentsPerEpoch}`);
  }
  const k = m[CredentialIndex.k]!;
  const epoch = m[CredentialIndex.epoch]!;
  const n = BigInt(counter);
  const w = nullifierExponent(k, n);
  const N = computeNullifier(k, n, epoch);
  const K = args.K ?? gK().mul(k);
  const u = randomScalar(rng);
  const { E1, E2 } = encryptDeviceKey(K, params.regulatorKey, u);
  const r_a = randomScalar(rng);
  const sigma = sigmaCommit(relationsOf(params.regulatorKey, epoch, N, null), WITNESS_COUNT, rng);
  const bbs = bbsPresentationCommit({
    publicKey: params.issuerKey, signature: credential.signature, header: CREDENTIAL_HEADER, messages: m,
    disclosedIndexes: [...DISCLOSED], rng, presetMTilde: new Map([[CredentialIndex.k, sigma.tildes[W.k]!]]),
  });
  const counterBbs = bbsPresentationCommit({
    publicKey: params.issuerKey, signature: counterSignature, header: counterSetHeader(params.paymentsPerEpoch), messages: [n],
    disclosedIndexes: [], rng, presetMTilde: new Map([[0, sigma.tildes[W.n]!]]),
  });
  return {
    epoch, tier: Number(m[CredentialIndex.tier]!), deviceClass: Number(m[CredentialIndex.deviceClass]!), counter,
    paymentsPerEpoch: params.paymentsPerEpoch, w, u, r_a, sigmaTildes: sigma.tildes, bbs: bbs.state, counterBbs: counterBbs.state,
    K, N, E1, E2, W_T: hT(epoch).mul(w), R_a: pedersenH().mul(r_a),
    bbsCommitment: bbs.commitment, counterCommitment: counterBbs.commitment, sigmaCommitments: sigma.commitments,
  };
}

// ---- The transcript ------------------------------------------------------------------------------

/** Transcript step 1: the whole public input, both presentations' statements and the range proof. */
function startTranscript(params: PaymentParams, s: PaymentStatement, R: bigint, range: RangeProof): Transcript {
  const t = new Transcript(PAYMENT_PROTOCOL);
  t.appendBytes('ctx', s.context);
  t.appendScalar('R', R);
  t.appendU64('cap', params.capMinor);
  t.appendU64('L', params.paymentsPerEpoch);
  t.appendU64('bits', s.rangeBits);
  t.appendPoint('Y_reg', params.regulatorKey);
  appendBbsStatement(t, {
    publicKey: params.issuerKey, header: CREDENTIAL_HEADER, messageCount: CREDENTIAL_MESSAGE_COUNT, disclosed: disclosedMessages(s),
  });
  appendBbsStatement(t, {
    publicKey: params.issuerKey, header: counterSetHeader(params.paymentsPerEpoch), messageCount: COUNTER_MESSAGE_COUNT, disclosed: new Map(),
  });
  for (const [label, p] of [['C_a', s.C_a], ['N', s.N], ['T', s.T], ['E1', s.E1], ['E2', s.E2]] as const) t.appendPoint(label, p);
  t.appendBytes('amount-range', sha256(encodeRangeProof(range)));
  return t;
}

/** Steps 2–4: both presentation commitments, the sigma statement and commitments, the challenge. */
function challengeOf(t: Transcript, bbs: BbsCommitment, counter: BbsCommitment, relations: readonly LinearRelation[], commitments: readonly G1Point[]): bigint {
  appendBbsCommitment(t, bbs);
  appendBbsCommitment(t, counter);
  appendSigma(t, relations, commitments);
  return t.challengeScalar('payment.c');
}

// ---- Tap time (SE) --------------------------------------------------------------------------------

/** comb[i][j] = j·16^i·G: a fixed table an SE keeps in ROM (16 nibbles cover every width up to 64). */
let comb: G1Point[][] | null = null;
function combTable(): G1Point[][] {
  if (comb === null) {
    const G = pedersenG();
    comb = Array.from({ length: 16 }, (_, i) => {
      const base = G.mul(1n << BigInt(4 * i));
      const row: G1Point[] = [G1Point.IDENTITY];
      for (let j = 1; j < 16; j++) row.push(row[j - 1]!.add(base));
      return row;
    });
  }
  return comb;
}

/** a·G for 0 ≤ a < 2^64 with one table lookup and at most one addition per nibble. */
export function combTimesG(a: bigint): G1Point {
  assert(a >= 0n && a < 1n << 64n, 'combTimesG: amount out of the table');
  const table = combTable();
  let acc = G1Point.IDENTITY;
  for (let i = 0; a >> BigInt(4 * i) > 0n; i++) {
    const nibble = Number((a >> BigInt(4 * i)) & 15n);
    if (nibble !== 0) acc = acc.add(table[i]![nibble]!);
  }
  return acc;
}

/**
 * The SE's work at tap: C_a from the amount it debits, T for this payee's context, the challenge and
 * the responses. `range` is the host's amount range proof; the SE hashes it into the transcript and
 * never verifies it (a bad one only makes the payment fail at the payee). The token must not be used
 * again, whatever happens next (the SE deletes it in the same NVM transaction as the debit).
 */
export function finishPayment(args: {
  params: PaymentParams;
  token: SpendToken;
  amountMinor: bigint;
  range: RangeProof;
  context: Uint8Array;
}): { statement: PaymentStatement; proof: PaymentProof } {
  return finishWith(args, false);
}

interface FinishArgs {
  params: PaymentParams;
  token: SpendToken;
  amountMinor: bigint;
  range: RangeProof;
  context: Uint8Array;
}

function finishWith(args: FinishArgs, cheat: boolean): { statement: PaymentStatement; proof: PaymentProof } {
  const { params, token, amountMinor: a, context } = args;
  if (token.paymentsPerEpoch !== params.paymentsPerEpoch || token.counter >= params.paymentsPerEpoch) {
    throw new PaymentProofError('TOKEN_MISMATCH', `token for counter ${token.counter} of L = ${token.paymentsPerEpoch}, policy L = ${params.paymentsPerEpoch}`);
  }
  if (!cheat && a < 0n) throw new PaymentProofError('AMOUNT_NEGATIVE', `amount ${a} is negative`);
  if (!cheat && a > params.capMinor) throw new PaymentProofError('AMOUNT_ABOVE_CAP', `amount ${a} is above the cap ${params.capMinor}`);
  if (context.length > PAYMENT_CONTEXT_BYTES_MAX) {
    throw new PaymentProofError('CONTEXT_TOO_LONG', `context is ${context.length} bytes, at most ${PAYMENT_CONTEXT_BYTES_MAX}`);
  }
  const R = contextScalar(context);
  const statement: PaymentStatement = {
    epoch: token.epoch, tier: token.tier, deviceClass: token.deviceClass, rangeBits: paymentRangeBits(params.capMinor),
    // a < 2^b: ⌈b/4⌉ additions from a fixed comb table, then + R_a (cost_model.ts counts them so).
    C_a: cheat ? pedersenG().mul(mod(a)).add(token.R_a) : combTimesG(a).add(token.R_a),
    N: token.N,
    // The one scalar multiplication at tap; R is public, so it may run in variable time.
    T: token.K.add(token.W_T.mul(R)),
    E1: token.E1,
    E2: token.E2,
    context,
  };
  const relations = relationsOf(params.regulatorKey, token.epoch, token.N, { T: statement.T, E1: token.E1, E2: token.E2, R });
  const c = challengeOf(startTranscript(params, statement, R, args.range), token.bbsCommitment, token.counterCommitment, relations, token.sigmaCommitments);
  const bbsResponses = bbsPresentationRespond(token.bbs, c);
  const counterResponses = bbsPresentationRespond(token.counterBbs, c);
  const k = token.bbs.witnesses.m[0]!;
  const n = token.counterBbs.witnesses.m[0]!;
  const v = scalarMul(R, token.w);
  const z = sigmaRespond(token.sigmaTildes, [k, n, token.w, v, token.u], c);
  assert(z[W.k] === bbsResponses.mHat[0], 'finishPayment: credential and sigma responses for k differ');
  assert(z[W.n] === counterResponses.mHat[0], 'finishPayment: counter and sigma responses for n differ');
  const proof: PaymentProof = {
    bbs: token.bbsCommitment, bbsResponses, counter: token.counterCommitment, counterResponses,
    sigmaCommitments: [...token.sigmaCommitments], sigmaResponses: z.slice(W.w), range: args.range,
  };
  return { statement, proof };
}

// ---- All at once (tests, benchmarks, the simulator's software payers) ---------------------------

interface ProveArgs {
  params: PaymentParams;
  credential: Credential;
  counter: number;
  amountMinor: bigint;
  context: Uint8Array;
  rng: Rng;
}

/**
 * Makes a payment of `amountMinor` with spending counter `counter`: token, amount range proof and
 * tap-time finish in one call. Throws PaymentProofError when the policy forbids the payment.
 */
export function provePayment(args: ProveArgs): PaymentProveResult {
  if (args.context.length > PAYMENT_CONTEXT_BYTES_MAX) {
    throw new PaymentProofError('CONTEXT_TOO_LONG', `context is ${args.context.length} bytes, at most ${PAYMENT_CONTEXT_BYTES_MAX}`);
  }
  const token = precomputeSpendToken(args);
  const { range } = proveAmountRange({ capMinor: args.params.capMinor, amountMinor: args.amountMinor, r_a: token.r_a, rng: args.rng });
  const { statement, proof } = finishPayment({ params: args.params, token, amountMinor: args.amountMinor, range, context: args.context });
  return { statement, proof, opening: { amountMinor: args.amountMinor, r_a: token.r_a } };
}

/**
 * A cheating prover for the soundness tests: an amount outside [0, cap] with a range proof over its
 * truncated bits. Exported only for those tests, which show such a proof never verifies.
 */
export function provePaymentUnchecked(args: ProveArgs): PaymentProveResult {
  const token = precomputeSpendToken(args);
  const { range } = proveAmountRange({ capMinor: args.params.capMinor, amountMinor: args.amountMinor, r_a: token.r_a, rng: args.rng, cheat: true });
  const { statement, proof } = finishWith({ params: args.params, token, amountMinor: args.amountMinor, range, context: args.context }, true);
  return { statement, proof, opening: { amountMinor: args.amountMinor, r_a: token.r_a } };
}

/** The statement's witness scalars besides the credential. */
export interface PaymentWitness {
  k: bigint;
  n: bigint;
  w: bigint;
  a: bigint;
  r_a: bigint;
  u: bigint;
}

/**
 * The public input of one payment from credential messages (k, e, t, c, s), counter, amount and
 * context: exactly what a payee and the ledger see of it besides the zero-knowledge proof. The
 * privacy tests call it alone to study what records reveal.
 */
export function paymentStatement(args: {
  messages: readonly bigint[]; counter: number; amountMinor: bigint; context: Uint8Array; regulatorKey: G1Point; rng: Rng; capMinor?: bigint;
}): { statement: PaymentStatement; witness: PaymentWitness } {
  const m = args.messages;
  assert(m.length === CREDENTIAL_MESSAGE_COUNT, 'paymentStatement: credential must have 5 messages');
  const k = m[CredentialIndex.k]!;
  const epoch = m[CredentialIndex.epoch]!;
  const n = BigInt(args.counter);
  const a = args.amountMinor;
  const w = nullifierExponent(k, n);
  const R = contextScalar(args.context);
  const [r_a, u] = [randomScalar(args.rng), randomScalar(args.rng)];
  const { E1, E2 } = encryptDeviceKey(gK().mul(k), args.regulatorKey, u);
  const statement: PaymentStatement = {
    epoch,
    tier: Number(m[CredentialIndex.tier]!),
    deviceClass: Number(m[CredentialIndex.deviceClass]!),
    rangeBits: paymentRangeBits(args.capMinor ?? 0xffffn),
    C_a: commit(a, r_a),
    N: computeNullifier(k, n, epoch),
    T: computeTag(k, w, R, epoch),
    E1,
    E2,
    context: args.context,
  };
  return { statement, witness: { k, n, w, a, r_a, u } };
}

// ---- Verification ----------------------------------------------------------------------------------

/**
 * Hashes every fixed generator a payment verifier uses (~1 ms each through hash-to-curve), so a
 * long-running verifier pays this once at start-up instead of inside its first batch. The
 * per-epoch bases g_N(e) and h_T(e) are left to first use.
 */
export function warmUpPaymentVerifier(): void {
  for (const b of [8, 16, 32] as const) vectorBases(AMOUNT_RANGE_VALUES * b);
  bulletproofU();
  pedersenG();
  pedersenH();
  gK();
  createGenerators(CREDENTIAL_MESSAGE_COUNT + 1);
  createGenerators(COUNTER_MESSAGE_COUNT + 1);
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
    if (!Number.isInteger(params.paymentsPerEpoch) || params.paymentsPerEpoch <= 0) return { ok: false, reason: 'PROOF_SHAPE' };
    if (
      proof.sigmaResponses.length !== SIGMA_RESPONSE_COUNT ||
      proof.sigmaCommitments.length !== SIGMA_RELATION_COUNT ||
      proof.bbsResponses.mHat.length !== HIDDEN.length ||
      proof.counterResponses.mHat.length !== COUNTER_MESSAGE_COUNT
    ) {
      return { ok: false, reason: 'PROOF_SHAPE' };
    }
    if (!proof.sigmaResponses.every((z) => z >= 0n && z < R_ORDER)) return { ok: false, reason: 'PROOF_SHAPE' };
    if (s.rangeBits !== paymentRangeBits(params.capMinor)) return { ok: false, reason: 'RANGE_PROOF_SHAPE' };
    const R = contextScalar(s.context);
    const relations = relationsOf(params.regulatorKey, s.epoch, s.N, { T: s.T, E1: s.E1, E2: s.E2, R });
    const c = challengeOf(startTranscript(params, s, R, proof.range), proof.bbs, proof.counter, relations, proof.sigmaCommitments);
    const credential = bbsPresentationEquations({
      publicKey: params.issuerKey, header: CREDENTIAL_HEADER, messageCount: CREDENTIAL_MESSAGE_COUNT, disclosed: disclosedMessages(s),
      commitment: proof.bbs, responses: proof.bbsResponses, c,
    });
    const counter = bbsPresentationEquations({
      publicKey: params.issuerKey, header: counterSetHeader(params.paymentsPerEpoch), messageCount: COUNTER_MESSAGE_COUNT, disclosed: new Map(),
      commitment: proof.counter, responses: proof.counterResponses, c,
    });
    if (!credential.structural || !counter.structural) return { ok: false, reason: 'CREDENTIAL_STRUCTURE' };
    const batch = new EquationBatch();
    for (const eqs of [credential, counter]) {
      eqs.msm.forEach((e) => batch.addMsm(e));
      batch.addPairing(eqs.pairing);
    }
    const responses = [proof.bbsResponses.mHat[0]!, proof.counterResponses.mHat[0]!, ...proof.sigmaResponses];
    sigmaEquations(relations, { commitments: proof.sigmaCommitments, responses }, c).forEach((e) => batch.addMsm(e));
    const commitments = amountCommitments(params.capMinor, s.C_a);
    const range = rangeProofBatchEquations({
      transcript: amountRangeTranscript(params.capMinor, s.rangeBits),
      proof: proof.range,
      commitments,
      bits: s.rangeBits,
    });
    if (!range.ok) return { ok: false, reason: 'RANGE_PROOF_SHAPE' };
    range.equations.forEach((e) => batch.addMsm(withoutDerivedCommitment(e.terms, commitments, params.capMinor), e.vectors));
    return { ok: true, batch };
  } catch {
    return { ok: false, reason: 'PROOF_SHAPE' };
  }
}

/**
 * The Fiat–Shamir challenge of a payment, from public data only. For analysis and the attack tests
 * (two payments answered with one set of nonces reveal k = Δm^_0 / Δc); verifiers use paymentEquations.
 */
export function paymentChallenge(params: PaymentParams, s: PaymentStatement, proof: PaymentProof): bigint {
  const R = contextScalar(s.context);
  const relations = relationsOf(params.regulatorKey, s.epoch, s.N, { T: s.T, E1: s.E1, E2: s.E2, R });
  return challengeOf(startTranscript(params, s, R, proof.range), proof.bbs, proof.counter, relations, proof.sigmaCommitments);
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
