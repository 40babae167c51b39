// Fixed-layout encoding of a payment's statement and proof (everything but the context, which the
// payee rebuilds from its own session and logs beside the payment for the ledger). Fixed layout
// because every field has a fixed size once the range width is known, and the width is the header's
// last byte: the decoder checks the width, then the total length, then decodes each point and
// scalar canonically (G1Point.fromBytes, scalarFromBytes) and refuses the identity for public
// points. Layout, big-endian:
//
//   version u8 | epoch u64 | tier u8 | deviceClass u8 | rangeBits u8 | C_a N T E1 E2 (5×48)
//   | credential presentation (5×48) and responses e^ r1^ r3^ m^_k m^_s (5×32)
//   | counter presentation (5×48) and responses e^ r1^ r3^ m^_n (4×32)
//   | sigma commitments (6×48) | sigma responses w v u (3×32) | amount range proof (2 × rangeBits)

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
import { decodeG1 } from './point_bytes.ts';
import { RangeProofError, decodeRangeProof, encodeRangeProof, rangeProofBytes, type RangeProof } from './range_proof.ts';
import {
  AMOUNT_RANGE_VALUES,
  PAYMENT_RANGE_WIDTHS,
  SIGMA_RELATION_COUNT,
  SIGMA_RESPONSE_COUNT,
  type PaymentProof,
  type PaymentStatement,
} from './payment.ts';

export const PAYMENT_ENCODING_VERSION = 2;
const PUBLIC_POINTS = 5;
const HIDDEN_MESSAGES = 2;
const COUNTER_HIDDEN = 1;
const HEADER_BYTES = 1 + 8 + 1 + 1 + 1;
/** Offset of the nullifier N in an encoded payment (after the header and C_a). */
export const PAYMENT_NULLIFIER_OFFSET = HEADER_BYTES + G1_BYTES;
/** Offset of C_a. */
export const PAYMENT_AMOUNT_COMMITMENT_OFFSET = HEADER_BYTES;
const FIXED_BYTES =
  HEADER_BYTES +
  PUBLIC_POINTS * G1_BYTES +
  2 * BBS_COMMITMENT_BYTES +
  bbsResponsesBytes(HIDDEN_MESSAGES) +
  bbsResponsesBytes(COUNTER_HIDDEN) +
  SIGMA_RELATION_COUNT * G1_BYTES +
  SIGMA_RESPONSE_COUNT * SCALAR_BYTES;

/** Encoded size of a payment whose amount range proof is `bits` wide. */
export function paymentBytes(bits: number): number {
  return FIXED_BYTES + rangeProofBytes(AMOUNT_RANGE_VALUES, bits);
}
/** Largest encoded payment (32-bit ranges; caps are below 2^32, policy_codec.ts). */
export const PAYMENT_BYTES_MAX = paymentBytes(32);
/** Size at the default table's width (16 bits), the figure DESIGN §8 budgets. */
export const PAYMENT_BYTES = paymentBytes(16);

/**
 * The length an encoded payment must have, read from its header's width byte, or null when the
 * bytes are too short or the width is not one a payment may use. Needs no curve work.
 */
export function expectedPaymentLength(bytes: Uint8Array): number | null {
  if (bytes.length < HEADER_BYTES) return null;
  const bits = bytes[HEADER_BYTES - 1]!;
  if (!(PAYMENT_RANGE_WIDTHS as readonly number[]).includes(bits) || bits > 32) return null;
  return paymentBytes(bits);
}

export function encodePaymentProof(statement: PaymentStatement, proof: PaymentProof): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint8(0, PAYMENT_ENCODING_VERSION);
  view.setBigUint64(1, statement.epoch);
  view.setUint8(9, statement.tier);
  view.setUint8(10, statement.deviceClass);
  view.setUint8(11, statement.rangeBits);
  const s = statement;
  const out = concatBytes(
    header,
    ...[s.C_a, s.N, s.T, s.E1, s.E2].map((p) => p.toBytes()),
    bbsCommitmentToBytes(proof.bbs),
    bbsResponsesToBytes(proof.bbsResponses),
    bbsCommitmentToBytes(proof.counter),
    bbsResponsesToBytes(proof.counterResponses),
    ...proof.sigmaCommitments.map((p) => p.toBytes()),
    ...proof.sigmaResponses.map(scalarToBytes),
    encodeRangeProof(proof.range),
  );
  const expected = paymentBytes(s.rangeBits);
  if (out.length !== expected) throw new Error(`encodePaymentProof: produced ${out.length} bytes, expected ${expected}`);
  return out;
}

/** Decodes a payment; `context` is the payee's own context bytes. Throws CryptoDecodeError. */
export function decodePaymentProof(bytes: Uint8Array, context: Uint8Array): { statement: PaymentStatement; proof: PaymentProof } {
  const expected = expectedPaymentLength(bytes);
  if (expected === null) throw new CryptoDecodeError('MALFORMED', `payment header is short or names an unsupported range width`);
  if (bytes.length !== expected) {
    throw new CryptoDecodeError('LENGTH', `payment must be ${expected} bytes, got ${bytes.length}`);
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
  const point = (allowIdentity: boolean, deferSubgroupCheck = false) => decodeG1(take(G1_BYTES), { allowIdentity, deferSubgroupCheck });
  const rangeBits = view.getUint8(11);
  const [C_a, N, T, E1, E2] = Array.from({ length: PUBLIC_POINTS }, () => point(false)) as [
    G1Point, G1Point, G1Point, G1Point, G1Point,
  ];
  const bbs = bbsCommitmentFromBytes(take(BBS_COMMITMENT_BYTES));
  const bbsResponses = bbsResponsesFromBytes(take(bbsResponsesBytes(HIDDEN_MESSAGES)), HIDDEN_MESSAGES);
  const counter = bbsCommitmentFromBytes(take(BBS_COMMITMENT_BYTES));
  const counterResponses = bbsResponsesFromBytes(take(bbsResponsesBytes(COUNTER_HIDDEN)), COUNTER_HIDDEN);
  // Public points are fully checked (N must have one encoding); commitments only enter MSMs.
  const sigmaCommitments = Array.from({ length: SIGMA_RELATION_COUNT }, () => point(true, true));
  const sigmaResponses = Array.from({ length: SIGMA_RESPONSE_COUNT }, () => scalarFromBytes(take(SCALAR_BYTES)));
  const range = decodeRangeProofAsCrypto(take(rangeProofBytes(AMOUNT_RANGE_VALUES, rangeBits)), rangeBits);
  const statement: PaymentStatement = {
    epoch: view.getBigUint64(1),
    tier: view.getUint8(9),
    deviceClass: view.getUint8(10),
    rangeBits,
    C_a, N, T, E1, E2,
    context,
  };
  return { statement, proof: { bbs, bbsResponses, counter, counterResponses, sigmaCommitments, sigmaResponses, range } };
}

/** One error type for the whole payment: range-proof decode errors become CryptoDecodeError. */
function decodeRangeProofAsCrypto(bytes: Uint8Array, bits: number): RangeProof {
  try {
    return decodeRangeProof(bytes, { m: AMOUNT_RANGE_VALUES, bits });
  } catch (e) {
    if (e instanceof RangeProofError) {
      throw new CryptoDecodeError(e.code === 'SCALAR' ? 'SCALAR_NOT_CANONICAL' : 'MALFORMED', `range proof: ${e.message}`);
    }
    throw e;
  }
}
