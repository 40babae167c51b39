// The counter set (DESIGN §3.2, "range proofs sized by the policy"; notes/payment.md): the issuer of
// epoch e signs every counter value n ∈ {0 … L−1} as a one-message BBS signature whose header names
// L. A payment proves knowledge of a signature on its hidden counter instead of a range proof that
// 0 ≤ n < L: the proof is a BBS presentation, which an SE randomises while idle in a few group
// operations, and it adds no pairing to a batch because it is under the same issuer key as the
// credential. The set is public (anyone may hold it); only the issuer can extend it.
//
// Why the header carries L: a signature on n under header(L) says "n < L"; a tier with another L gets
// another set, and a proof for one L can never be replayed as one for another. The one-message domain
// differs from the five-message credential's domain (message count and header both enter it), so a
// counter signature is never a credential.

import { assert } from './assert.ts';
import { bbsP1, calculateDomain, coreSign, createGenerators, type BbsSignature } from './bbs_core.ts';
import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  G2Point,
  SCALAR_BYTES,
  concatBytes,
  mod,
  msmVartime,
  pairingProductIsOne,
  scalarAdd,
  scalarFromBytes,
  scalarMul,
  scalarToBytes,
} from './group.ts';
import { randomScalar, type Rng } from './rng.ts';

export const COUNTER_SET_TAG = 'TALLY-V1/counter-set';
/** One message: the counter n. */
export const COUNTER_MESSAGE_COUNT = 1;
/** L of one set is at most this (the policy codec bounds L far below it). */
export const COUNTER_SET_SIZE_MAX = 512;
/** Encoded signature: A (48) ‖ e (32). */
export const COUNTER_SIGNATURE_BYTES = G1_BYTES + SCALAR_BYTES;

/** header(L) = "TALLY-V1/counter-set" ‖ u32be(L). */
export function counterSetHeader(L: number): Uint8Array {
  assert(Number.isInteger(L) && L > 0 && L <= COUNTER_SET_SIZE_MAX, `counterSetHeader: L = ${L} out of range`);
  const tag = new TextEncoder().encode(COUNTER_SET_TAG);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, L);
  return concatBytes(tag, len);
}

const generators = (): readonly G1Point[] => createGenerators(COUNTER_MESSAGE_COUNT + 1);

/** The issuer's signatures on 0 … L−1 under header(L); deterministic (CoreSign derives e). */
export function signCounterSet(secretKey: bigint, publicKey: G2Point, L: number): BbsSignature[] {
  const header = counterSetHeader(L);
  const gens = generators();
  return Array.from({ length: L }, (_, n) => coreSign(secretKey, publicKey, gens, header, [BigInt(n)]));
}

/**
 * Checks a whole set with one pairing product: for random ρ_n,
 *   e(Σ ρ_n·A_n, W) · e(Σ ρ_n·(e_n·A_n − B_n), P2) = 1,   B_n = P1 + Q_1·domain + H_1·n,
 * which holds for every n with probability 1 − L·2^-128 when any signature is bad. False on any
 * malformed part; never throws.
 */
export function verifyCounterSet(publicKey: G2Point, L: number, signatures: readonly BbsSignature[], rng: Rng): boolean {
  if (!Number.isInteger(L) || L <= 0 || L > COUNTER_SET_SIZE_MAX || signatures.length !== L || publicKey.isIdentity()) return false;
  if (signatures.some((s) => s.A.isIdentity() || s.e <= 0n)) return false;
  const gens = generators();
  const domain = calculateDomain(publicKey, gens[0]!, gens.slice(1), counterSetHeader(L));
  const rho = signatures.map(() => randomScalar(rng) >> 127n || 1n);
  let sumRho = 0n;
  let sumRhoN = 0n;
  rho.forEach((r, n) => {
    sumRho = scalarAdd(sumRho, r);
    sumRhoN = scalarAdd(sumRhoN, scalarMul(r, BigInt(n)));
  });
  const As = signatures.map((s) => s.A);
  const X = msmVartime(As, rho);
  const Y = msmVartime(
    [...As, bbsP1(), gens[0]!, gens[1]!],
    [...signatures.map((s, n) => scalarMul(rho[n]!, s.e)), -sumRho, -scalarMul(sumRho, domain), -sumRhoN].map(mod),
  );
  return pairingProductIsOne([
    [X, publicKey],
    [Y, G2Point.BASE],
  ]);
}

export function encodeCounterSet(signatures: readonly BbsSignature[]): Uint8Array {
  return concatBytes(...signatures.map((s) => concatBytes(s.A.toBytes(), scalarToBytes(s.e))));
}

/** Decodes L signatures: length, then every A (canonical, in G1, not the identity) and e (< r). */
export function decodeCounterSet(bytes: Uint8Array, L: number): BbsSignature[] {
  if (!Number.isInteger(L) || L <= 0 || L > COUNTER_SET_SIZE_MAX) throw new CryptoDecodeError('LENGTH', `counter set size ${L} out of range`);
  if (bytes.length !== L * COUNTER_SIGNATURE_BYTES) {
    throw new CryptoDecodeError('LENGTH', `counter set of ${L} must be ${L * COUNTER_SIGNATURE_BYTES} bytes, got ${bytes.length}`);
  }
  const out: BbsSignature[] = [];
  for (let o = 0; o < bytes.length; o += COUNTER_SIGNATURE_BYTES) {
    const A = G1Point.fromBytes(bytes.subarray(o, o + G1_BYTES));
    const e = scalarFromBytes(bytes.subarray(o + G1_BYTES, o + COUNTER_SIGNATURE_BYTES));
    out.push({ A, e });
  }
  return out;
}

/** The signature of counter n from an encoded set, decoding only that entry. */
export function counterSignatureAt(bytes: Uint8Array, n: number): BbsSignature {
  const o = n * COUNTER_SIGNATURE_BYTES;
  if (!Number.isInteger(n) || n < 0 || o + COUNTER_SIGNATURE_BYTES > bytes.length) {
    throw new CryptoDecodeError('LENGTH', `counter set of ${bytes.length / COUNTER_SIGNATURE_BYTES} has no entry ${n}`);
  }
  return { A: G1Point.fromBytes(bytes.subarray(o, o + G1_BYTES)), e: scalarFromBytes(bytes.subarray(o + G1_BYTES, o + COUNTER_SIGNATURE_BYTES)) };
}
