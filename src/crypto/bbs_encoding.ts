// Octet encodings of BBS signatures, proofs and public keys, as draft-irtf-cfrg-bbs-signatures
// defines them: signature = A (48) || e (32); proof = Abar || Bbar || D (48 each) || e^ || r1^ ||
// r3^ || m^_j1..m^_jU || c (32 each); public key = W (96, compressed G2).
//
// Decoding is strict: points go through G1Point/G2Point.fromBytes (canonical, on the curve, in
// the subgroup, not the identity) and scalars must lie in [1, r). Every refusal is a
// CryptoDecodeError with a stable code; the public verifiers turn it into `false`.

import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  G2Point,
  SCALAR_BYTES,
  concatBytes,
  scalarFromBytes,
  scalarToBytes,
} from './group.ts';
import { BBS_MESSAGES_MAX, type BbsSignature } from './bbs_core.ts';
import type { BbsProof } from './bbs_proof_core.ts';

export const BBS_SIGNATURE_BYTES = G1_BYTES + SCALAR_BYTES;
/** proof_len_floor = 3·octet_point_length + 4·octet_scalar_length (no undisclosed message). */
export const BBS_PROOF_BYTES_MIN = 3 * G1_BYTES + 4 * SCALAR_BYTES;
/** A proof hiding every one of BBS_MESSAGES_MAX messages. */
export const BBS_PROOF_BYTES_MAX = BBS_PROOF_BYTES_MIN + BBS_MESSAGES_MAX * SCALAR_BYTES;

/** Scalars inside signatures and proofs are in [1, r): zero is refused as the draft says. */
function nonZeroScalar(bytes: Uint8Array, what: string): bigint {
  const x = scalarFromBytes(bytes);
  if (x === 0n) throw new CryptoDecodeError('MALFORMED', `BBS ${what} must not be zero`);
  return x;
}

export function signatureToOctets(sig: BbsSignature): Uint8Array {
  return concatBytes(sig.A.toBytes(), scalarToBytes(sig.e));
}

/** octets_to_signature: exactly 80 bytes, A a non-identity subgroup point, 0 < e < r. */
export function octetsToSignature(bytes: Uint8Array): BbsSignature {
  if (bytes.length !== BBS_SIGNATURE_BYTES) {
    throw new CryptoDecodeError('LENGTH', `BBS signature must be ${BBS_SIGNATURE_BYTES} bytes, got ${bytes.length}`);
  }
  const A = G1Point.fromBytes(bytes.subarray(0, G1_BYTES));
  const e = nonZeroScalar(bytes.subarray(G1_BYTES), 'signature scalar e');
  return { A, e };
}

/** octets_to_pubkey: a canonical, non-identity G2 subgroup point. */
export function octetsToPublicKey(bytes: Uint8Array): G2Point {
  return G2Point.fromBytes(bytes);
}

export function proofToOctets(proof: BbsProof): Uint8Array {
  return concatBytes(
    proof.Abar.toBytes(),
    proof.Bbar.toBytes(),
    proof.D.toBytes(),
    scalarToBytes(proof.eHat),
    scalarToBytes(proof.r1Hat),
    scalarToBytes(proof.r3Hat),
    ...proof.mHat.map(scalarToBytes),
    scalarToBytes(proof.challenge),
  );
}

/** octets_to_proof: length floor, whole scalars, length cap, then each element strictly. */
export function octetsToProof(bytes: Uint8Array): BbsProof {
  if (bytes.length < BBS_PROOF_BYTES_MIN || bytes.length > BBS_PROOF_BYTES_MAX) {
    throw new CryptoDecodeError(
      'LENGTH',
      `BBS proof must be ${BBS_PROOF_BYTES_MIN}..${BBS_PROOF_BYTES_MAX} bytes, got ${bytes.length}`,
    );
  }
  if ((bytes.length - 3 * G1_BYTES) % SCALAR_BYTES !== 0) {
    throw new CryptoDecodeError('LENGTH', `BBS proof scalars must be whole ${SCALAR_BYTES}-byte blocks, got ${bytes.length} bytes`);
  }
  const point = (n: number) => G1Point.fromBytes(bytes.subarray(n * G1_BYTES, (n + 1) * G1_BYTES));
  const [Abar, Bbar, D] = [point(0), point(1), point(2)];
  const scalars: bigint[] = [];
  for (let o = 3 * G1_BYTES; o < bytes.length; o += SCALAR_BYTES) {
    scalars.push(nonZeroScalar(bytes.subarray(o, o + SCALAR_BYTES), `proof scalar ${scalars.length}`));
  }
  const [eHat, r1Hat, r3Hat] = scalars as [bigint, bigint, bigint];
  return { Abar, Bbar, D, eHat, r1Hat, r3Hat, mHat: scalars.slice(3, -1), challenge: scalars[scalars.length - 1]! };
}
