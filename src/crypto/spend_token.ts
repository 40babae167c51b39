// Byte layout of a spend token (payment.ts, SpendToken) as an SE keeps it in NVM between the idle
// precomputation and the tap. The token holds secrets — it never leaves the SE — so this is a storage
// format, not a wire format; the decoder is still strict (fixed length, canonical points and scalars)
// because a corrupted cell must fail loudly rather than produce a wrong proof. Layout, big-endian:
//
//   version u8 | epoch u64 | tier u8 | deviceClass u8 | counter u32 | L u32
//   | w u r_a (3×32) | sigma nonces k~ n~ w~ v~ u~ (5×32)
//   | credential presentation: e r1 r3 m_k m_s e~ r1~ r3~ m~_k m~_s (10×32)
//   | counter presentation: e r1 r3 m_n e~ r1~ r3~ m~_n (8×32)
//   | K N E1 E2 W_T R_a (6×48) | credential commitment (5×48) | counter commitment (5×48)
//   | sigma commitments (6×48)

import { BBS_COMMITMENT_BYTES, bbsCommitmentFromBytes, bbsCommitmentToBytes, type BbsPresentationState } from './bbs_presentation.ts';
import { CredentialIndex } from './credential.ts';
import { CryptoDecodeError, G1Point, G1_BYTES, SCALAR_BYTES, concatBytes, scalarFromBytes, scalarToBytes } from './group.ts';
import { SIGMA_RELATION_COUNT, type SpendToken } from './payment.ts';

export const SPEND_TOKEN_VERSION = 1;
const HEADER = 1 + 8 + 1 + 1 + 4 + 4;
const SCALARS = 3 + 5 + 10 + 8;
const POINTS = 6 + 5 + 5 + SIGMA_RELATION_COUNT;
export const SPEND_TOKEN_BYTES = HEADER + SCALARS * SCALAR_BYTES + POINTS * G1_BYTES;

const CREDENTIAL_HIDDEN = [CredentialIndex.k, CredentialIndex.sBlind];

function stateScalars(s: BbsPresentationState): bigint[] {
  return [s.witnesses.e, s.witnesses.r1, s.witnesses.r3, ...s.witnesses.m, s.tildes.eTilde, s.tildes.r1Tilde, s.tildes.r3Tilde, ...s.tildes.mTilde];
}

function stateOf(x: bigint[], undisclosed: number[]): BbsPresentationState {
  const h = undisclosed.length;
  return {
    undisclosed,
    witnesses: { e: x[0]!, r1: x[1]!, r3: x[2]!, m: x.slice(3, 3 + h) },
    tildes: { eTilde: x[3 + h]!, r1Tilde: x[4 + h]!, r3Tilde: x[5 + h]!, mTilde: x.slice(6 + h, 6 + 2 * h) },
    used: false,
  };
}

export function encodeSpendToken(t: SpendToken): Uint8Array {
  const header = new Uint8Array(HEADER);
  const v = new DataView(header.buffer);
  v.setUint8(0, SPEND_TOKEN_VERSION);
  v.setBigUint64(1, t.epoch);
  v.setUint8(9, t.tier);
  v.setUint8(10, t.deviceClass);
  v.setUint32(11, t.counter);
  v.setUint32(15, t.paymentsPerEpoch);
  const scalars = [t.w, t.u, t.r_a, ...t.sigmaTildes, ...stateScalars(t.bbs), ...stateScalars(t.counterBbs)];
  if (scalars.length !== SCALARS || t.bbs.used || t.counterBbs.used) throw new Error('encodeSpendToken: token is malformed or already used');
  return concatBytes(
    header,
    ...scalars.map(scalarToBytes),
    ...[t.K, t.N, t.E1, t.E2, t.W_T, t.R_a].map((p) => p.toBytes()),
    bbsCommitmentToBytes(t.bbsCommitment),
    bbsCommitmentToBytes(t.counterCommitment),
    ...t.sigmaCommitments.map((p) => p.toBytes()),
  );
}

/** Decodes a stored token; throws CryptoDecodeError on any malformed part. */
export function decodeSpendToken(bytes: Uint8Array): SpendToken {
  if (bytes.length !== SPEND_TOKEN_BYTES) throw new CryptoDecodeError('LENGTH', `spend token must be ${SPEND_TOKEN_BYTES} bytes, got ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint8(0) !== SPEND_TOKEN_VERSION) throw new CryptoDecodeError('MALFORMED', `spend token version ${v.getUint8(0)}`);
  let at = HEADER;
  const take = (n: number) => bytes.subarray(at, (at += n));
  const x = Array.from({ length: SCALARS }, () => scalarFromBytes(take(SCALAR_BYTES)));
  const pt = () => G1Point.fromBytes(take(G1_BYTES), { allowIdentity: true });
  const [K, N, E1, E2, W_T, R_a] = [pt(), pt(), pt(), pt(), pt(), pt()];
  const bbsCommitment = bbsCommitmentFromBytes(take(BBS_COMMITMENT_BYTES));
  const counterCommitment = bbsCommitmentFromBytes(take(BBS_COMMITMENT_BYTES));
  const sigmaCommitments = Array.from({ length: SIGMA_RELATION_COUNT }, pt);
  return {
    epoch: v.getBigUint64(1), tier: v.getUint8(9), deviceClass: v.getUint8(10), counter: v.getUint32(11), paymentsPerEpoch: v.getUint32(15),
    w: x[0]!, u: x[1]!, r_a: x[2]!, sigmaTildes: x.slice(3, 8),
    bbs: stateOf(x.slice(8, 18), CREDENTIAL_HIDDEN), counterBbs: stateOf(x.slice(18, 26), [0]),
    K, N, E1, E2, W_T, R_a, bbsCommitment, counterCommitment, sigmaCommitments,
  };
}
