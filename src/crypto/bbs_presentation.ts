// Composable BBS presentation: the draft's proof of knowledge of a signature (ProofInit and
// ProofFinalize of draft-irtf-cfrg-bbs-signatures) cut into commit / respond / equations, so the
// payment proof can run it inside one Tally Transcript next to other sigma relations.
//
// Three changes from the draft's CoreProofGen, all deliberate (notes/bbs.md, "Presentation"):
// the challenge c comes from the caller's Transcript instead of the draft's hash; T1 and T2 are
// sent instead of being recomputed, so a verifier can fold both relations into one batched MSM
// (EquationBatch) instead of hashing them; and a caller may preset m~_j for a hidden message j
// (the device secret k at index 0), so another relation that uses the same m~ gets the same
// response m^_j = m~_j + c·m_j and the two proofs are tied to one witness.

import { assert } from './assert.ts';
import type { MsmEquation, PairingEquation } from './batch.ts';
import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  G2Point,
  R_ORDER,
  SCALAR_BYTES,
  concatBytes,
  scalarAdd,
  scalarFromBytes,
  scalarInv,
  scalarMul,
  scalarSub,
  scalarToBytes,
} from './group.ts';
import { decodeG1 } from './point_bytes.ts';
import { randomScalar, type Rng } from './rng.ts';
import type { Transcript } from './transcript.ts';
import { BBS_MESSAGES_MAX, type BbsSignature, bbsP1, calculateDomain, createGenerators } from './bbs_core.ts';
import { NEG_BP2, proofInit, undisclosedIndexes } from './bbs_proof_core.ts';

/** The prover's first message: (Abar, Bbar, D) re-randomise the signature, T1 and T2 commit. */
export interface BbsCommitment {
  readonly Abar: G1Point;
  readonly Bbar: G1Point;
  readonly D: G1Point;
  readonly T1: G1Point;
  readonly T2: G1Point;
}

/** The prover's responses; mHat holds one entry per undisclosed index, ascending. */
export interface BbsResponses {
  readonly eHat: bigint;
  readonly r1Hat: bigint;
  readonly r3Hat: bigint;
  readonly mHat: readonly bigint[];
}

/** Secret prover state between commit and respond. Usable once. */
export interface BbsPresentationState {
  readonly undisclosed: readonly number[];
  readonly witnesses: { readonly e: bigint; readonly r1: bigint; readonly r3: bigint; readonly m: readonly bigint[] };
  readonly tildes: { readonly eTilde: bigint; readonly r1Tilde: bigint; readonly r3Tilde: bigint; readonly mTilde: readonly bigint[] };
  used: boolean;
}

export const BBS_COMMITMENT_BYTES = 5 * G1_BYTES;

const inRange = (x: bigint) => x >= 0n && x < R_ORDER;

/**
 * First move. Draws r1, r2, e~, r1~, r3~ and m~_j (or takes m~_j from presetMTilde) and runs the
 * draft's ProofInit. Indexes are the caller's own choice, so bad ones are a programmer error.
 */
export function bbsPresentationCommit(args: {
  publicKey: G2Point;
  signature: BbsSignature;
  header: Uint8Array;
  messages: readonly bigint[];
  disclosedIndexes: readonly number[];
  rng: Rng;
  presetMTilde?: ReadonlyMap<number, bigint>;
}): { commitment: BbsCommitment; state: BbsPresentationState } {
  const { messages, rng } = args;
  const preset = args.presetMTilde ?? new Map<number, bigint>();
  const undisclosed = undisclosedIndexes(messages.length, args.disclosedIndexes);
  assert(undisclosed !== undefined, 'bbsPresentationCommit: disclosed indexes must be ascending, unique and in range');
  assert(messages.every(inRange) && messages.length <= BBS_MESSAGES_MAX, 'bbsPresentationCommit: message scalars out of range');
  for (const [j, t] of preset) {
    assert(undisclosed.includes(j), `bbsPresentationCommit: preset m~ for index ${j}, which is not hidden`);
    assert(t >= 0n && t < R_ORDER, 'bbsPresentationCommit: preset m~ out of range');
  }
  const random = {
    r1: randomScalar(rng),
    r2: randomScalar(rng),
    eTilde: randomScalar(rng),
    r1Tilde: randomScalar(rng),
    r3Tilde: randomScalar(rng),
    mTilde: undisclosed.map((j) => preset.get(j) ?? randomScalar(rng)),
  };
  const generators = createGenerators(messages.length + 1);
  const init = proofInit(args.publicKey, args.signature, generators, random, args.header, messages, undisclosed);
  const { Abar, Bbar, D, T1, T2 } = init;
  const state: BbsPresentationState = {
    undisclosed,
    witnesses: { e: args.signature.e, r1: random.r1, r3: scalarInv(random.r2), m: undisclosed.map((j) => messages[j]!) },
    tildes: { eTilde: random.eTilde, r1Tilde: random.r1Tilde, r3Tilde: random.r3Tilde, mTilde: random.mTilde },
    used: false,
  };
  return { commitment: { Abar, Bbar, D, T1, T2 }, state };
}

/**
 * Third move, the draft's ProofFinalize with the caller's c: e^ = e~ + c·e, r1^ = r1~ − c·r1,
 * r3^ = r3~ − c·r3, m^_j = m~_j + c·m_j. In the Tally convention (hat = tilde + c·witness) the
 * witnesses are e, −r1, −r3 and m_j.
 */
export function bbsPresentationRespond(state: BbsPresentationState, c: bigint): BbsResponses {
  assert(!state.used, 'bbsPresentationRespond: this presentation state was already used');
  assert(c > 0n && c < R_ORDER, 'bbsPresentationRespond: challenge out of range');
  state.used = true;
  const { witnesses: w, tildes: t } = state;
  const responses = {
    eHat: scalarAdd(t.eTilde, scalarMul(c, w.e)),
    r1Hat: scalarSub(t.r1Tilde, scalarMul(c, w.r1)),
    r3Hat: scalarSub(t.r3Tilde, scalarMul(c, w.r3)),
    mHat: t.mTilde.map((mt, n) => scalarAdd(mt, scalarMul(c, w.m[n]!))),
  };
  assert(responses.mHat.length === state.undisclosed.length, 'bbsPresentationRespond: one m^ per hidden message');
  return responses;
}

/** Domains kept per issuer key; a verifier sees one credential header and a few counter-set headers. */
const DOMAINS_PER_KEY_MAX = 16;
const domains = new WeakMap<G2Point, Map<string, bigint>>();

/**
 * calculate_domain for (publicKey, generators, header), kept per key object: it hashes the key and
 * every generator (~25 µs), and a batch verifier asks for the same few domains for every payment.
 */
function cachedDomain(publicKey: G2Point, generators: readonly G1Point[], header: Uint8Array): bigint {
  let byHeader = domains.get(publicKey);
  if (byHeader === undefined) domains.set(publicKey, (byHeader = new Map()));
  const key = `${generators.length}/${Buffer.from(header).toString('hex')}`;
  let d = byHeader.get(key);
  if (d === undefined) {
    d = calculateDomain(publicKey, generators[0]!, generators.slice(1), header);
    if (byHeader.size >= DOMAINS_PER_KEY_MAX) byHeader.clear();
    byHeader.set(key, d);
  }
  return d;
}

function isStructural(args: {
  publicKey: G2Point;
  messageCount: number;
  disclosed: ReadonlyMap<number, bigint>;
  commitment: BbsCommitment;
  responses: BbsResponses;
  c: bigint;
}): boolean {
  const { messageCount: L, commitment: com, responses: r } = args;
  if (!Number.isInteger(L) || L < 0 || L > BBS_MESSAGES_MAX) return false;
  if (args.publicKey.isIdentity() || com.Abar.isIdentity() || com.Bbar.isIdentity() || com.D.isIdentity()) return false;
  if (args.c <= 0n || args.c >= R_ORDER) return false;
  for (const [i, m] of args.disclosed) if (!Number.isInteger(i) || i < 0 || i >= L || !inRange(m)) return false;
  if (r.mHat.length !== L - args.disclosed.size) return false;
  return [r.eHat, r.r1Hat, r.r3Hat, ...r.mHat].every(inRange);
}

/**
 * The verifier's relations (notes/bbs.md):
 *   Abar·e^ + D·r1^ + Bbar·c − T1 = 0
 *   D·r3^ + Σ_j H_j·m^_j + c·(P1 + Q_1·domain + Σ_i H_i·m_i) − T2 = 0
 *   e(Abar, W)·e(Bbar, −BP2) = 1
 * `structural` is false (and the equation lists empty) when a part is out of range, a count does
 * not match, or Abar, Bbar, D or W is the identity; the caller must then reject.
 */
export function bbsPresentationEquations(args: {
  publicKey: G2Point;
  header: Uint8Array;
  messageCount: number;
  disclosed: ReadonlyMap<number, bigint>;
  commitment: BbsCommitment;
  responses: BbsResponses;
  c: bigint;
}): { msm: MsmEquation[]; pairing: PairingEquation; structural: boolean } {
  if (!isStructural(args)) return { msm: [], pairing: [], structural: false };
  const { commitment: com, responses: r, c } = args;
  const generators = createGenerators(args.messageCount + 1);
  const domain = cachedDomain(args.publicKey, generators, args.header);
  const minusOne = R_ORDER - 1n;
  const eq1: MsmEquation = [
    [com.Abar, r.eHat],
    [com.D, r.r1Hat],
    [com.Bbar, c],
    [com.T1, minusOne],
  ];
  const eq2: MsmEquation = [
    [com.D, r.r3Hat],
    [bbsP1(), c],
    [generators[0]!, scalarMul(c, domain)],
  ];
  let n = 0;
  for (let i = 0; i < args.messageCount; i++) {
    const m = args.disclosed.get(i);
    eq2.push(m === undefined ? [generators[i + 1]!, r.mHat[n++]!] : [generators[i + 1]!, scalarMul(c, m)]);
  }
  eq2.push([com.T2, minusOne]);
  assert(n === r.mHat.length, 'bbsPresentationEquations: every m^ used once');
  const pairing: PairingEquation = [
    [com.Abar, args.publicKey],
    [com.Bbar, NEG_BP2],
  ];
  return { msm: [eq1, eq2], pairing, structural: true };
}

/** Absorbs the commitment in the fixed order Abar, Bbar, D, T1, T2. */
export function appendBbsCommitment(transcript: Transcript, commitment: BbsCommitment): void {
  // Identity is allowed here so a verifier can absorb hostile input before the structural check
  // refuses it; an honest prover never produces one.
  const opts = { allowIdentity: true };
  transcript.appendPoint('bbs.Abar', commitment.Abar, opts);
  transcript.appendPoint('bbs.Bbar', commitment.Bbar, opts);
  transcript.appendPoint('bbs.D', commitment.D, opts);
  transcript.appendPoint('bbs.T1', commitment.T1, opts);
  transcript.appendPoint('bbs.T2', commitment.T2, opts);
}

/**
 * Absorbs the statement the presentation is about: issuer key, header, message count and the
 * disclosed (index, message) pairs in index order. Call it before appendBbsCommitment.
 */
export function appendBbsStatement(
  transcript: Transcript,
  statement: { publicKey: G2Point; header: Uint8Array; messageCount: number; disclosed: ReadonlyMap<number, bigint> },
): void {
  transcript.appendG2('bbs.W', statement.publicKey);
  transcript.appendBytes('bbs.header', statement.header);
  transcript.appendU64('bbs.L', statement.messageCount);
  const indexes = [...statement.disclosed.keys()].sort((a, b) => a - b);
  transcript.appendU64('bbs.R', indexes.length);
  for (const i of indexes) {
    transcript.appendU64('bbs.i', i);
    transcript.appendScalar('bbs.m', statement.disclosed.get(i)!);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire encodings (fixed length, strict decode)

export function bbsCommitmentToBytes(c: BbsCommitment): Uint8Array {
  return concatBytes(c.Abar.toBytes(), c.Bbar.toBytes(), c.D.toBytes(), c.T1.toBytes(), c.T2.toBytes());
}

/** Abar, Bbar, D must not be the identity; T1, T2 may be (an honest one is with probability 2^-255). */
export function bbsCommitmentFromBytes(bytes: Uint8Array): BbsCommitment {
  if (bytes.length !== BBS_COMMITMENT_BYTES) {
    throw new CryptoDecodeError('LENGTH', `BBS commitment must be ${BBS_COMMITMENT_BYTES} bytes, got ${bytes.length}`);
  }
  // Abar and Bbar enter the pairing and are fully checked; D, T1 and T2 only enter MSM equations,
  // whose batch check clears the cofactor, so their subgroup check is deferred there.
  const at = (n: number, allowIdentity: boolean, deferSubgroupCheck = false) =>
    decodeG1(bytes.subarray(n * G1_BYTES, (n + 1) * G1_BYTES), { allowIdentity, deferSubgroupCheck });
  return { Abar: at(0, false), Bbar: at(1, false), D: at(2, false, true), T1: at(3, true, true), T2: at(4, true, true) };
}

export const bbsResponsesBytes = (hiddenCount: number): number => (3 + hiddenCount) * SCALAR_BYTES;

export function bbsResponsesToBytes(r: BbsResponses): Uint8Array {
  return concatBytes(...[r.eHat, r.r1Hat, r.r3Hat, ...r.mHat].map(scalarToBytes));
}

/** Decodes responses for a presentation hiding `hiddenCount` messages (known from the statement). */
export function bbsResponsesFromBytes(bytes: Uint8Array, hiddenCount: number): BbsResponses {
  assert(Number.isInteger(hiddenCount) && hiddenCount >= 0 && hiddenCount <= BBS_MESSAGES_MAX, 'bbsResponsesFromBytes: bad count');
  if (bytes.length !== bbsResponsesBytes(hiddenCount)) {
    throw new CryptoDecodeError('LENGTH', `BBS responses must be ${bbsResponsesBytes(hiddenCount)} bytes, got ${bytes.length}`);
  }
  const s: bigint[] = [];
  for (let o = 0; o < bytes.length; o += SCALAR_BYTES) s.push(scalarFromBytes(bytes.subarray(o, o + SCALAR_BYTES)));
  return { eHat: s[0]!, r1Hat: s[1]!, r3Hat: s[2]!, mHat: s.slice(3) };
}
