// Byte encoding of a range proof: a fixed layout with no length fields, because m and n are known
// from the context (a payment fixes 2 values of the width its policy cap needs, payment.ts):
//     A | S | T1 | T2 (48 each) | taux | mu | tHat (32 each) | L_0 | R_0 | … | L_{k−1} | R_{k−1} | a | b
// with k = log2(m·n); 1024 bytes for 4 × 32. The decoder checks the size, then the length, then
// every point (canonical, on the curve, in G1, not the identity) and scalar (canonical, < r), and
// answers anything else with a RangeProofError whose code says which check failed.

import { assert } from './assert.ts';
import { CryptoDecodeError, G1_BYTES, G1Point, SCALAR_BYTES, scalarFromBytes, scalarToBytes } from './group.ts';
import { log2Exact } from './inner_product.ts';
import { decodeG1, g1Bytes } from './point_bytes.ts';
import { RangeProofError, rangeProofBytes, sizeProblem, type RangeProof } from './range_proof_types.ts';


export function encodeRangeProof(proof: RangeProof): Uint8Array {
  const k = proof.ipa.L.length;
  assert(proof.ipa.R.length === k, 'encodeRangeProof: L and R lengths differ');
  // Cached encodings: a verifier hashes the encoding of the proof it has just decoded.
  const parts: Uint8Array[] = [proof.A, proof.S, proof.T1, proof.T2].map(g1Bytes);
  parts.push(scalarToBytes(proof.taux), scalarToBytes(proof.mu), scalarToBytes(proof.tHat));
  for (let j = 0; j < k; j++) parts.push(g1Bytes(proof.ipa.L[j]!), g1Bytes(proof.ipa.R[j]!));
  parts.push(scalarToBytes(proof.ipa.a), scalarToBytes(proof.ipa.b));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  assert(out.length === (4 + 2 * k) * G1_BYTES + 5 * SCALAR_BYTES, 'encodeRangeProof: wrong size');
  return out;
}

/** Decodes a proof for m values of `bits` bits: length first, then each point and scalar. */
export function decodeRangeProof(bytes: Uint8Array, shape: { m: number; bits: number }): RangeProof {
  const size = sizeProblem(shape.m, shape.bits);
  if (size !== undefined) throw new RangeProofError('SIZE', `Cannot decode range proof: ${size}`);
  const expected = rangeProofBytes(shape.m, shape.bits);
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    throw new RangeProofError('LENGTH', `Cannot decode range proof: expected ${expected} bytes, got ${bytes?.length}`);
  }
  let offset = 0;
  const point = (name: string): G1Point => {
    const slice = bytes.subarray(offset, (offset += G1_BYTES));
    try {
      // Range-proof points only enter EquationBatch MSMs: their subgroup check is deferred there.
      return decodeG1(slice, { deferSubgroupCheck: true });
    } catch (e) {
      if (!(e instanceof CryptoDecodeError)) throw e;
      throw new RangeProofError('POINT', `Cannot decode range proof: ${name} is not a valid G1 point (${e.code}: ${e.message})`);
    }
  };
  const scalar = (name: string): bigint => {
    const slice = bytes.subarray(offset, (offset += SCALAR_BYTES));
    try {
      return scalarFromBytes(slice);
    } catch (e) {
      if (!(e instanceof CryptoDecodeError)) throw e;
      throw new RangeProofError('SCALAR', `Cannot decode range proof: ${name} is not a canonical scalar (${e.code})`);
    }
  };
  const A = point('A');
  const S = point('S');
  const T1 = point('T1');
  const T2 = point('T2');
  const taux = scalar('taux');
  const mu = scalar('mu');
  const tHat = scalar('tHat');
  const L: G1Point[] = [];
  const R: G1Point[] = [];
  const k = log2Exact(shape.m * shape.bits);
  for (let j = 0; j < k; j++) {
    L.push(point(`L_${j}`));
    R.push(point(`R_${j}`));
  }
  const a = scalar('a');
  const b = scalar('b');
  assert(offset === expected, 'decodeRangeProof: did not consume every byte');
  return { A, S, T1, T2, taux, mu, tHat, ipa: { L, R, a, b } };
}
