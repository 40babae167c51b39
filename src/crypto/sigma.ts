// Generic sigma proofs (Schnorr/Maurer) for conjunctions of linear relations over G1 with shared
// witnesses: each relation says image = Σ x_idx·base, and one witness may appear in many
// relations (and in other proofs: the payment proof shares `k` with the BBS presentation by
// presetting its tilde). Proofs carry the commitments T_j, not the challenge, so a verifier can
// fold every check into an EquationBatch. Response convention: z_i = x̃_i + c·x_i.
//
// Notation (notes/sigma.md): relation j: P_j = Σ_i x_i·B_ji; prover picks x̃_i, sends
// T_j = Σ_i x̃_i·B_ji; challenge c from the transcript; response z_i = x̃_i + c·x_i; verifier checks
// Σ_i z_i·B_ji − c·P_j − T_j = 0 for every j.

import { assert } from './assert.ts';
import type { MsmEquation } from './batch.ts';
import { EquationBatch } from './batch.ts';
import { G1Point, R_ORDER, mod, msmVartime, scalarAdd, scalarMul, scalarNeg } from './group.ts';
import { randomScalar, systemRng, type Rng } from './rng.ts';
import { Transcript } from './transcript.ts';

export interface LinearRelation {
  /** Stable name, absorbed into the transcript. */
  name: string;
  image: G1Point;
  /**
   * A public scalar s when the relation's left side is s·image rather than image (the payment's
   * R·N = v·g_N(e)): the verifier folds s into its MSM scalar, so no point is multiplied.
   */
  imageScale?: bigint;
  /**
   * [witness index, base] or [witness index, base, coefficient] triples: the term is
   * coefficient·x_idx·base. A public coefficient (e.g. the context scalar R in the tag relation
   * T = k·g_K + w·(R·h_T)) lets the verifier fold it into the MSM scalar instead of multiplying a
   * point.
   */
  terms: ReadonlyArray<readonly [number, G1Point] | readonly [number, G1Point, bigint]>;
}

export interface SigmaProof {
  commitments: G1Point[];
  responses: bigint[];
}

/** Upper bounds that keep a hostile statement from making the verifier do unbounded work. */
export const SIGMA_RELATIONS_MAX = 64;
export const SIGMA_WITNESSES_MAX = 64;

function checkShape(relations: readonly LinearRelation[], witnessCount: number): void {
  assert(relations.length > 0 && relations.length <= SIGMA_RELATIONS_MAX, 'sigma: relation count out of range');
  assert(witnessCount > 0 && witnessCount <= SIGMA_WITNESSES_MAX, 'sigma: witness count out of range');
  for (const r of relations) {
    assert(r.terms.length > 0, `sigma: relation '${r.name}' has no terms`);
    for (const [i] of r.terms) assert(Number.isInteger(i) && i >= 0 && i < witnessCount, `sigma: '${r.name}' bad index ${i}`);
  }
}

/** First move: random x̃_i (or the caller's preset ones) and T_j = Σ x̃_i·B_ji. */
export function sigmaCommit(
  relations: readonly LinearRelation[],
  witnessCount: number,
  rng: Rng,
  presetTildes: ReadonlyMap<number, bigint> = new Map(),
): { tildes: bigint[]; commitments: G1Point[] } {
  checkShape(relations, witnessCount);
  const tildes = Array.from({ length: witnessCount }, (_, i) => presetTildes.get(i) ?? randomScalar(rng));
  const commitments = relations.map((r) =>
    msmVartime(
      r.terms.map(([, b]) => b),
      r.terms.map((term) => scalarMul(term[2] ?? 1n, tildes[term[0]]!)),
    ),
  );
  return { tildes, commitments };
}

/** Third move: z_i = x̃_i + c·x_i. */
export function sigmaRespond(tildes: readonly bigint[], witnesses: readonly bigint[], c: bigint): bigint[] {
  assert(tildes.length === witnesses.length, 'sigmaRespond: tildes and witnesses differ in length');
  return tildes.map((t, i) => scalarAdd(t, scalarMul(c, witnesses[i]!)));
}

/** The verifier's equations: Σ z_i·B_ji − c·P_j − T_j = 0 for each relation j. */
export function sigmaEquations(relations: readonly LinearRelation[], proof: SigmaProof, c: bigint): MsmEquation[] {
  assert(proof.commitments.length === relations.length, 'sigmaEquations: commitment count mismatch');
  const negC = scalarNeg(c);
  return relations.map((r, j) => {
    const eq: MsmEquation = r.terms.map((term) => [term[1], scalarMul(term[2] ?? 1n, proof.responses[term[0]]!)] as const);
    eq.push([r.image, r.imageScale === undefined ? negC : scalarMul(negC, r.imageScale)], [proof.commitments[j]!, scalarNeg(1n)]);
    return eq;
  });
}

const RELATION_NAMES_MAX = 256;
const relationNames = new Map<string, Uint8Array>();
/** UTF-8 of a relation name, kept: names are program constants absorbed for every proof. */
function relationName(name: string): Uint8Array {
  let b = relationNames.get(name);
  if (b === undefined) {
    if (relationNames.size >= RELATION_NAMES_MAX) relationNames.clear();
    relationNames.set(name, (b = new TextEncoder().encode(name)));
  }
  return b;
}

/** Absorbs the statement (names, images, bases) and the prover's commitments. */
export function appendSigma(t: Transcript, relations: readonly LinearRelation[], commitments: readonly G1Point[]): void {
  t.appendU64('sigma.relations', relations.length);
  relations.forEach((r, j) => {
    t.appendBytes('sigma.name', relationName(r.name));
    t.appendPoint('sigma.image', r.image, { allowIdentity: true });
    if (r.imageScale !== undefined) t.appendScalar('sigma.imageScale', mod(r.imageScale));
    t.appendU64('sigma.terms', r.terms.length);
    for (const term of r.terms) {
      t.appendU64('sigma.index', term[0]);
      t.appendPoint('sigma.base', term[1]);
      t.appendScalar('sigma.coefficient', mod(term[2] ?? 1n));
    }
    t.appendPoint('sigma.T', commitments[j]!, { allowIdentity: true });
  });
}

/** Standalone non-interactive proof; `bind` absorbs the caller's context first. */
export function proveSigma(
  label: string,
  relations: readonly LinearRelation[],
  witnesses: readonly bigint[],
  rng: Rng,
  bind?: (t: Transcript) => void,
): SigmaProof {
  const { tildes, commitments } = sigmaCommit(relations, witnesses.length, rng);
  const t = new Transcript(label);
  bind?.(t);
  appendSigma(t, relations, commitments);
  const c = t.challengeScalar('sigma.c');
  const proof = { commitments, responses: sigmaRespond(tildes, witnesses, c) };
  return proof;
}

/** Equations of a standalone proof, for batching; null when the proof is malformed. */
export function sigmaProofEquations(
  label: string,
  relations: readonly LinearRelation[],
  witnessCount: number,
  proof: SigmaProof,
  bind?: (t: Transcript) => void,
): MsmEquation[] | null {
  if (proof.commitments.length !== relations.length || proof.responses.length !== witnessCount) return null;
  // Responses must be canonical (< r): otherwise one proof would have many valid encodings.
  if (!proof.responses.every((z) => typeof z === 'bigint' && z >= 0n && z < R_ORDER)) return null;
  const t = new Transcript(label);
  bind?.(t);
  appendSigma(t, relations, proof.commitments);
  const c = t.challengeScalar('sigma.c');
  return sigmaEquations(relations, proof, c);
}

export function verifySigma(
  label: string,
  relations: readonly LinearRelation[],
  witnessCount: number,
  proof: SigmaProof,
  bind?: (t: Transcript) => void,
  rng: Rng = systemRng,
): boolean {
  if (!shapeIsValid(relations, witnessCount)) return false;
  const eqs = sigmaProofEquations(label, relations, witnessCount, proof, bind);
  if (eqs === null) return false;
  const batch = new EquationBatch();
  eqs.forEach((e) => batch.addMsm(e));
  return batch.check(rng);
}

/** The verifier's version of checkShape: false instead of an assertion. */
function shapeIsValid(relations: readonly LinearRelation[], witnessCount: number): boolean {
  if (relations.length === 0 || relations.length > SIGMA_RELATIONS_MAX) return false;
  if (!Number.isInteger(witnessCount) || witnessCount <= 0 || witnessCount > SIGMA_WITNESSES_MAX) return false;
  return relations.every(
    (r) => r.terms.length > 0 && r.terms.every(([i]) => Number.isInteger(i) && i >= 0 && i < witnessCount),
  );
}
