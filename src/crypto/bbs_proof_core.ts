// The BBS proof of knowledge of a signature at the scalar level, exactly as
// draft-irtf-cfrg-bbs-signatures defines it: ProofInit, ProofChallengeCalculate, ProofFinalize,
// ProofVerifyInit, CoreProofGen and CoreProofVerify. Notation and signs follow notes/bbs.md.
//
// Why separate from bbs_core.ts: the composable presentation (bbs_presentation.ts) reuses
// ProofInit with a Tally transcript challenge in place of the draft's challenge, while the octet
// interface (bbs.ts) runs the draft's own challenge. Both share this file so the relations exist
// once.

import { assert } from './assert.ts';
import {
  G1Point,
  G2Point,
  R_ORDER,
  concatBytes,
  hashToScalar,
  msmVartime,
  pairingProductIsOne,
  scalarAdd,
  scalarInv,
  scalarMul,
  scalarSub,
  scalarToBytes,
} from './group.ts';
import { API_ID, type BbsSignature, bbsP1, calculateDomain, computeB, h2sDst, i2osp8 } from './bbs_core.ts';

/** The five random scalars plus one m~ per undisclosed message, in the draft's order. */
export interface ProofRandomScalars {
  readonly r1: bigint;
  readonly r2: bigint;
  readonly eTilde: bigint;
  readonly r1Tilde: bigint;
  readonly r3Tilde: bigint;
  /** m~_j for the undisclosed indexes j, ascending. */
  readonly mTilde: readonly bigint[];
}

/** init_res: (Abar, Bbar, D, T1, T2, domain). */
export interface ProofInitResult {
  readonly Abar: G1Point;
  readonly Bbar: G1Point;
  readonly D: G1Point;
  readonly T1: G1Point;
  readonly T2: G1Point;
  readonly domain: bigint;
}

/** −BP2, the second argument of the proof's pairing check. */
export const NEG_BP2: G2Point = G2Point.BASE.neg();

/** A decoded proof: (Abar, Bbar, D, e^, r1^, r3^, (m^_j), c). */
export interface BbsProof {
  readonly Abar: G1Point;
  readonly Bbar: G1Point;
  readonly D: G1Point;
  readonly eHat: bigint;
  readonly r1Hat: bigint;
  readonly r3Hat: bigint;
  readonly mHat: readonly bigint[];
  readonly challenge: bigint;
}

/** Splits the flat random_scalars vector (r1, r2, e~, r1~, r3~, m~_j1..m~_jU). */
export function splitRandomScalars(flat: readonly bigint[]): ProofRandomScalars {
  assert(flat.length >= 5, `splitRandomScalars: need at least 5 scalars, got ${flat.length}`);
  const [r1, r2, eTilde, r1Tilde, r3Tilde] = flat as [bigint, bigint, bigint, bigint, bigint];
  return { r1, r2, eTilde, r1Tilde, r3Tilde, mTilde: flat.slice(5) };
}

/**
 * Disclosed indexes must be strictly ascending and inside [0, L). Returns the complement in
 * ascending order, or undefined when the indexes are not of that form.
 */
export function undisclosedIndexes(messageCount: number, disclosed: readonly number[]): number[] | undefined {
  if (disclosed.length > messageCount) return undefined;
  let prev = -1;
  for (const i of disclosed) {
    if (!Number.isInteger(i) || i <= prev || i >= messageCount) return undefined;
    prev = i;
  }
  const set = new Set(disclosed);
  const out: number[] = [];
  for (let j = 0; j < messageCount; j++) if (!set.has(j)) out.push(j);
  return out;
}

/**
 * ProofInit: D = B·r2, Abar = A·(r1·r2), Bbar = D·r1 − Abar·e, T1 = Abar·e~ + D·r1~,
 * T2 = D·r3~ + Σ_j H_j·m~_j.
 */
export function proofInit(
  pk: G2Point,
  signature: BbsSignature,
  generators: readonly G1Point[],
  random: ProofRandomScalars,
  header: Uint8Array,
  messages: readonly bigint[],
  undisclosed: readonly number[],
  apiId: Uint8Array = API_ID,
): ProofInitResult {
  assert(generators.length === messages.length + 1, 'proofInit: generator count does not match message count');
  assert(random.mTilde.length === undisclosed.length, 'proofInit: one m~ per undisclosed message');
  const domain = calculateDomain(pk, generators[0]!, generators.slice(1), header, apiId);
  const B = computeB(generators, domain, messages.map((m, i) => [i, m] as const));
  const D = B.mul(random.r2);
  const Abar = signature.A.mul(scalarMul(random.r1, random.r2));
  const Bbar = msmVartime([D, Abar], [random.r1, R_ORDER - signature.e]);
  const T1 = msmVartime([Abar, D], [random.eTilde, random.r1Tilde]);
  const T2 = msmVartime(
    [D, ...undisclosed.map((j) => generators[j + 1]!)],
    [random.r3Tilde, ...random.mTilde],
  );
  return { Abar, Bbar, D, T1, T2, domain };
}

/**
 * ProofChallengeCalculate: hash_to_scalar(serialize((R, i1, msg_i1, ..., iR, msg_iR, Abar, Bbar,
 * D, T1, T2, domain)) || I2OSP(len(ph), 8) || ph, api_id || "H2S_").
 */
export function proofChallengeCalculate(
  init: ProofInitResult,
  disclosedMessages: readonly bigint[],
  disclosedIndexes: readonly number[],
  ph: Uint8Array,
  apiId: Uint8Array = API_ID,
): bigint {
  assert(disclosedMessages.length === disclosedIndexes.length, 'proofChallengeCalculate: one message per index');
  const parts: Uint8Array[] = [i2osp8(disclosedIndexes.length)];
  disclosedIndexes.forEach((i, n) => parts.push(i2osp8(i), scalarToBytes(disclosedMessages[n]!)));
  for (const P of [init.Abar, init.Bbar, init.D, init.T1, init.T2]) parts.push(P.toBytes());
  parts.push(scalarToBytes(init.domain), i2osp8(ph.length), ph);
  return hashToScalar(concatBytes(...parts), h2sDst(apiId));
}

/**
 * ProofFinalize: e^ = e~ + e·c, r1^ = r1~ − r1·c, r3^ = r3~ − r3·c with r3 = 1/r2,
 * m^_j = m~_j + m_j·c.
 */
export function proofFinalize(
  init: ProofInitResult,
  challenge: bigint,
  e: bigint,
  random: ProofRandomScalars,
  undisclosedMessages: readonly bigint[],
): BbsProof {
  assert(undisclosedMessages.length === random.mTilde.length, 'proofFinalize: one m~ per undisclosed message');
  const r3 = scalarInv(random.r2);
  return {
    Abar: init.Abar,
    Bbar: init.Bbar,
    D: init.D,
    eHat: scalarAdd(random.eTilde, scalarMul(e, challenge)),
    r1Hat: scalarSub(random.r1Tilde, scalarMul(random.r1, challenge)),
    r3Hat: scalarSub(random.r3Tilde, scalarMul(r3, challenge)),
    mHat: random.mTilde.map((mt, n) => scalarAdd(mt, scalarMul(undisclosedMessages[n]!, challenge))),
    challenge,
  };
}

/**
 * ProofVerifyInit: T1 = Bbar·c + Abar·e^ + D·r1^, Bv = P1 + Q_1·domain + Σ_i H_i·msg_i,
 * T2 = Bv·c + D·r3^ + Σ_j H_j·m^_j. Undefined when the index set does not fit the proof.
 */
export function proofVerifyInit(
  pk: G2Point,
  proof: BbsProof,
  generators: readonly G1Point[],
  header: Uint8Array,
  disclosedMessages: readonly bigint[],
  disclosedIndexes: readonly number[],
  apiId: Uint8Array = API_ID,
): ProofInitResult | undefined {
  const L = proof.mHat.length + disclosedIndexes.length;
  const undisclosed = undisclosedIndexes(L, disclosedIndexes);
  if (undisclosed === undefined || undisclosed.length !== proof.mHat.length) return undefined;
  if (disclosedMessages.length !== disclosedIndexes.length || generators.length !== L + 1) return undefined;
  const c = proof.challenge;
  const domain = calculateDomain(pk, generators[0]!, generators.slice(1), header, apiId);
  const T1 = msmVartime([proof.Bbar, proof.Abar, proof.D], [c, proof.eHat, proof.r1Hat]);
  const points = [bbsP1(), generators[0]!, proof.D];
  const scalars = [c, scalarMul(c, domain), proof.r3Hat];
  disclosedIndexes.forEach((i, n) => {
    points.push(generators[i + 1]!);
    scalars.push(scalarMul(c, disclosedMessages[n]!));
  });
  undisclosed.forEach((j, n) => {
    points.push(generators[j + 1]!);
    scalars.push(proof.mHat[n]!);
  });
  const T2 = msmVartime(points, scalars);
  return { Abar: proof.Abar, Bbar: proof.Bbar, D: proof.D, T1, T2, domain };
}

/** CoreProofGen with the random scalars supplied (the caller draws or mocks them). */
export function coreProofGen(
  pk: G2Point,
  signature: BbsSignature,
  generators: readonly G1Point[],
  header: Uint8Array,
  ph: Uint8Array,
  messages: readonly bigint[],
  disclosedIndexes: readonly number[],
  randomScalars: readonly bigint[],
  apiId: Uint8Array = API_ID,
): { proof: BbsProof; init: ProofInitResult } {
  const undisclosed = undisclosedIndexes(messages.length, disclosedIndexes);
  assert(undisclosed !== undefined, 'coreProofGen: disclosed indexes must be ascending, unique and in range');
  assert(randomScalars.length === 5 + undisclosed.length, 'coreProofGen: need 5 + U random scalars');
  const random = splitRandomScalars(randomScalars);
  const init = proofInit(pk, signature, generators, random, header, messages, undisclosed, apiId);
  const disclosedMessages = disclosedIndexes.map((i) => messages[i]!);
  const c = proofChallengeCalculate(init, disclosedMessages, disclosedIndexes, ph, apiId);
  const proof = proofFinalize(init, c, signature.e, random, undisclosed.map((j) => messages[j]!));
  return { proof, init };
}

/** CoreProofVerify: recompute the challenge, then e(Abar, W)·e(Bbar, −BP2) = 1. */
export function coreProofVerify(
  pk: G2Point,
  proof: BbsProof,
  generators: readonly G1Point[],
  header: Uint8Array,
  ph: Uint8Array,
  disclosedMessages: readonly bigint[],
  disclosedIndexes: readonly number[],
  apiId: Uint8Array = API_ID,
): boolean {
  if (pk.isIdentity() || proof.Abar.isIdentity() || proof.Bbar.isIdentity() || proof.D.isIdentity()) return false;
  const init = proofVerifyInit(pk, proof, generators, header, disclosedMessages, disclosedIndexes, apiId);
  if (init === undefined) return false;
  const c = proofChallengeCalculate(init, disclosedMessages, disclosedIndexes, ph, apiId);
  if (c !== proof.challenge) return false;
  return pairingProductIsOne([
    [proof.Abar, pk],
    [proof.Bbar, NEG_BP2],
  ]);
}
