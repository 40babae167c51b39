// Fixed-layout encoding of a payment's statement and proof (everything but the context, which the
// payee rebuilds from its own session and logs beside the payment for the ledger). Fixed layout
// because every field has a fixed size in this protocol version: the decoder checks the total length
// first, then decodes each point and scalar canonically (G1Point.fromBytes, scalarFromBytes) and
// refuses the identity for public points. Layout, big-endian:
//
//   version u8 | epoch u64 | tier u8 | deviceClass u8 | C_a C_n N T E1 E2 (6×48)
//   | BBS commitment (5×48) | BBS responses e^ r1^ r3^ m^_k m^_s (5×32)
//   | sigma commitments (7×48) | sigma responses n w a r_a r_n u (6×32) | range proof (1024)

import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  SCALAR_BYTES,
  concatBytes,
  scalarFromBytes,
  scalarToBytes,
} from './group.ts';
import {
  BBS_COMMITMENT_BYTES,
  bbsCommitmentFromBytes,
  bbsCommitmentToBytes,
  bbsResponsesBytes,
  bbsResponsesFromBytes,
  bbsResponsesToBytes,
} from './bbs_presentation.ts';
import { RangeProofError, decodeRangeProof, encodeRangeProof, type RangeProof } from './range_proof.ts';
import { PAYMENT_RANGE_BITS, type PaymentProof, type PaymentStatement } from './payment.ts';

export const PAYMENT_ENCODING_VERSION = 1;
const PUBLIC_POINTS = 6;
const SIGMA_COMMITMENTS = 7;
const SIGMA_RESPONSES = 6;
const HIDDEN_MESSAGES = 2;
const RANGE_VALUES = 4;
const HEADER_BYTES = 1 + 8 + 1 + 1;
/** 2 + 2·log2(4·32) points and 5 scalars: A, S, T1, T2, L_j, R_j; taux, mu, tHat, a, b. */
export const RANGE_PROOF_BYTES = (4 + 2 * 7) * G1_BYTES + 5 * SCALAR_BYTES;
export const PAYMENT_BYTES =
  HEADER_BYTES +
  PUBLIC_POINTS * G1_BYTES +
  BBS_COMMITMENT_BYTES +
  bbsResponsesBytes(HIDDEN_MESSAGES) +
  SIGMA_COMMITMENTS * G1_BYTES +
  SIGMA_RESPONSES * SCALAR_BYTES +
  RANGE_PROOF_BYTES;

export function encodePaymentProof(statement: PaymentStatement, proof: PaymentProof): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint8(0, PAYMENT_ENCODING_VERSION);
  view.setBigUint64(1, statement.epoch);
  view.setUint8(9, statement.tier);
  view.setUint8(10, statement.deviceClass);
  const s = statement;
  const out = concatBytes(
    header,
    ...[s.C_a, s.C_n, s.N, s.T, s.E1, s.E2].map((p) => p.toBytes()),
    bbsCommitmentToBytes(proof.bbs),
    bbsResponsesToBytes(proof.bbsResponses),
    ...proof.sigmaCommitments.map((p) => p.toBytes()),
    ...proof.sigmaResponses.map(scalarToBytes),
    encodeRangeProof(proof.range),
  );
  if (out.length !== PAYMENT_BYTES) throw new Error(`encodePaymentProof: produced ${out.length} bytes, expected ${PAYMENT_BYTES}`);
  return out;
}

/** Decodes a payment; `context` is the payee's own context bytes. Throws CryptoDecodeError. */
export function decodePaymentProof(bytes: Uint8Array, context: Uint8Array): { statement: PaymentStatement; proof: PaymentProof } {
  if (bytes.length !== PAYMENT_BYTES) {
    throw new CryptoDecodeError('LENGTH', `payment must be ${PAYMENT_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== PAYMENT_ENCODING_VERSION) {
    throw new CryptoDecodeError('MALFORMED', `payment encoding version must be ${PAYMENT_ENCODING_VERSION}, got ${version}`);
  }
  let at = HEADER_BYTES;
  const take = (n: number): Uint8Array => {
    const part = bytes.subarray(at, at + n);
    at += n;
    return part;
  };
  const point = (allowIdentity: boolean, deferSubgroupCheck = false) =>
    G1Point.fromBytes(take(G1_BYTES), { allowIdentity, deferSubgroupCheck });
  const [C_a, C_n, N, T, E1, E2] = Array.from({ length: PUBLIC_POINTS }, () => point(false)) as [
    G1Point, G1Point, G1Point, G1Point, G1Point, G1Point,
  ];
  const bbs = bbsCommitmentFromBytes(take(BBS_COMMITMENT_BYTES));
  const bbsResponses = bbsResponsesFromBytes(take(bbsResponsesBytes(HIDDEN_MESSAGES)), HIDDEN_MESSAGES);
  // Public points are fully checked (N must have one encoding); commitments only enter MSMs.
  const sigmaCommitments = Array.from({ length: SIGMA_COMMITMENTS }, () => point(true, true));
  const sigmaResponses = Array.from({ length: SIGMA_RESPONSES }, () => scalarFromBytes(take(SCALAR_BYTES)));
  const range = decodeRangeProofAsCrypto(take(RANGE_PROOF_BYTES));
  const statement: PaymentStatement = {
    epoch: view.getBigUint64(1),
    tier: view.getUint8(9),
    deviceClass: view.getUint8(10),
    C_a, C_n, N, T, E1, E2,
    context,
  };
  return { statement, proof: { bbs, bbsResponses, sigmaCommitments, sigmaResponses, range } };
}

/** One error type for the whole payment: range-proof decode errors become CryptoDecodeError. */
function decodeRangeProofAsCrypto(bytes: Uint8Array): RangeProof {
  try {
    return decodeRangeProof(bytes, { m: RANGE_VALUES, bits: PAYMENT_RANGE_BITS });
  } catch (e) {
    if (e instanceof RangeProofError) {
      throw new CryptoDecodeError(e.code === 'SCALAR' ? 'SCALAR_NOT_CANONICAL' : 'MALFORMED', `range proof: ${e.message}`);
    }
    throw e;
  }
}
