// Proof that a sync batch's Σ C_a commits to the Σa its report states, without revealing the
// blinding sum ρ = Σ r_a (notes/batch_opening.md). Handing ρ to the FI would let it open C_a of a
// one-receipt batch and show any third party which amount one named payment carried; a Schnorr
// proof of knowledge of ρ with P = Σ C_a − Σa·G = ρ·H convinces the FI that Σa is right and
// reveals nothing more (honest-verifier zero knowledge, made non-interactive by the Transcript).
//
// The statement is bound to the device, the batch id and the log digest (which hashes every
// payment of the batch, hence every C_a), so a proof cannot be moved to another batch or device.
// Encoding: T (48-byte compressed G1, never the identity) | z (32-byte canonical scalar).

import { assert } from './assert.ts';
import { CryptoDecodeError, G1Point, G1_BYTES, SCALAR_BYTES, R_ORDER, bytesToBigintBE, mod, scalarAdd, scalarMul, scalarToBytes } from './group.ts';
import { pedersenG, pedersenH } from './generators.ts';
import { randomScalar, type Rng } from './rng.ts';
import { Transcript } from './transcript.ts';

export const BATCH_OPENING_LABEL = 'TALLY-V1/batch-opening';
export const BATCH_OPENING_PROOF_BYTES = G1_BYTES + SCALAR_BYTES;

/** The public inputs: who reports which batch, its log digest, Σa and Σ C_a. */
export interface BatchOpeningStatement {
  deviceId: Uint8Array;
  batchId: bigint;
  logDigest: Uint8Array;
  receivedMinor: bigint;
  /** Σ C_a over the batch (the identity for an empty batch). */
  sumCa: G1Point;
}

export interface BatchOpeningProof {
  T: G1Point;
  z: bigint;
}

/** P = Σ C_a − Σa·G: the point the prover knows the H-logarithm of. */
function statementPoint(s: BatchOpeningStatement): G1Point {
  return s.sumCa.sub(pedersenG().mul(mod(s.receivedMinor)));
}

function challenge(s: BatchOpeningStatement, P: G1Point, T: G1Point): bigint {
  const t = new Transcript(BATCH_OPENING_LABEL);
  t.appendBytes('deviceId', s.deviceId);
  t.appendU64('batchId', s.batchId);
  t.appendBytes('logDigest', s.logDigest);
  t.appendU64('receivedMinor', s.receivedMinor);
  t.appendPoint('sumCa', s.sumCa, { allowIdentity: true });
  t.appendPoint('P', P, { allowIdentity: true });
  t.appendPoint('T', T);
  return t.challengeScalar('c');
}

/** Proves knowledge of ρ with Σ C_a − Σa·G = ρ·H. The caller passes the true ρ (asserted). */
export function proveBatchOpening(s: BatchOpeningStatement, rho: bigint, rng: Rng): BatchOpeningProof {
  const P = statementPoint(s);
  assert(pedersenH().mul(mod(rho)).equals(P), 'proveBatchOpening: ρ does not open Σ C_a to Σa');
  const rhoTilde = randomScalar(rng);
  const T = pedersenH().mul(rhoTilde);
  const c = challenge(s, P, T);
  const z = scalarAdd(rhoTilde, scalarMul(c, mod(rho)));
  assert(pedersenH().mul(z).equals(T.add(P.mul(c))), 'proveBatchOpening: proof does not verify');
  return { T, z };
}

/** z·H = T + c·P; false on any mismatch, never throws. */
export function verifyBatchOpening(s: BatchOpeningStatement, proof: BatchOpeningProof): boolean {
  if (proof.T.isIdentity() || proof.z < 0n || proof.z >= R_ORDER) return false;
  if (s.batchId < 0n || s.batchId >= 1n << 64n || s.receivedMinor < 0n || s.receivedMinor >= 1n << 64n) return false;
  const P = statementPoint(s);
  const c = challenge(s, P, proof.T);
  return pedersenH().mul(proof.z).equals(proof.T.add(P.mul(c)));
}

export function encodeBatchOpening(proof: BatchOpeningProof): Uint8Array {
  const out = new Uint8Array(BATCH_OPENING_PROOF_BYTES);
  out.set(proof.T.toBytes(), 0);
  out.set(scalarToBytes(proof.z), G1_BYTES);
  return out;
}

/** Canonical decode: exact length, T a non-identity point of G1, z < r. Throws CryptoDecodeError. */
export function decodeBatchOpening(bytes: Uint8Array): BatchOpeningProof {
  if (!(bytes instanceof Uint8Array) || bytes.length !== BATCH_OPENING_PROOF_BYTES) {
    throw new CryptoDecodeError('LENGTH', `batch opening proof must be ${BATCH_OPENING_PROOF_BYTES} bytes, got ${bytes?.length}`);
  }
  const T = G1Point.fromBytes(bytes.subarray(0, G1_BYTES));
  const z = bytesToBigintBE(bytes.subarray(G1_BYTES));
  if (z >= R_ORDER) throw new CryptoDecodeError('SCALAR_NOT_CANONICAL', 'batch opening response z is not below r');
  return { T, z };
}
