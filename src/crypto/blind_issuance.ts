// Blind issuance of the device credential (DESIGN §3.1): the issuer BBS-signs the messages
// (k, e, t, c, s) at indexes 0..4 without learning the device secret k or the blinding s.
//
// Flow (notes/blind_issuance.md): the holder sends K = k·g_K, C = k·H_0 + s'·H_4 and a sigma proof
// that K and C hide the same k, bound to the issuer's nonce, the epoch's issuer key, the device id
// and the attributes (e, t, c) it asks for, so a proof made for one device, epoch or tier is
// worth nothing for another (DESIGN §3.1; the SE also signs the request). The issuer checks the proof, picks
// s'', and signs the commitment: B = P1 + Q_1·domain + C + H_1·e + H_2·t + H_3·c + H_4·s'',
// A = B·1/(SK + e_sig). The holder sets s = s' + s'' and checks CoreVerify on (k, e, t, c, s), so
// the result is an ordinary draft-conformant BBS signature over five scalar messages.
// Why s stays hidden forever: it is the blinding of C; showing it would let anyone who saw C at
// issuance recognise the credential's k·H_0 again.

import { assert } from './assert.ts';
import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  G2Point,
  R_ORDER,
  SCALAR_BYTES,
  concatBytes,
  hashToScalar,
  msmVartime,
  scalarAdd,
  scalarFromBytes,
  scalarInv,
  scalarToBytes,
} from './group.ts';
import { gK } from './generators.ts';
import { randomScalar, type Rng } from './rng.ts';
import type { Transcript } from './transcript.ts';
import { type LinearRelation, type SigmaProof, proveSigma, verifySigma } from './sigma.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT, CredentialIndex } from './credential.ts';
import { type BbsSignature, bbsP1, calculateDomain, coreVerify, createGenerators, i2osp8 } from './bbs_core.ts';

const utf8 = new TextEncoder();

/** Transcript label of the holder's proof that K and C hide the same k. */
export const BLIND_ISSUANCE_LABEL = 'TALLY-V1/blind-issuance';
/** DST of the issuer's deterministic e_sig (the draft's CoreSign derives e by hashing too). */
export const BLIND_E_DST = 'TALLY-V1/blind-issuance/e';
/** Issuer nonce bounds: 16 bytes keep replays at 2^-128; 64 caps what a hostile nonce can make us hash. */
export const ISSUER_NONCE_BYTES_MIN = 16;
export const ISSUER_NONCE_BYTES_MAX = 64;
/** Public attributes (epoch, tier, device class) are unsigned 64-bit integers used as scalars. */
export const ATTRIBUTE_MAX = (1n << 64n) - 1n;
/** Device ids bound into the proof: 1..64 bytes (the SE's are 16); the bound caps what we hash. */
export const ISSUANCE_DEVICE_ID_BYTES_MAX = 64;

/** K (48) || C (48) || T_K (48) || T_C (48) || z_k (32) || z_s (32). */
export const BLIND_REQUEST_BYTES = 4 * G1_BYTES + 2 * SCALAR_BYTES;
/** A (48) || e_sig (32) || s'' (32). */
export const BLIND_RESPONSE_BYTES = G1_BYTES + 2 * SCALAR_BYTES;

export interface BlindIssuanceRequest {
  readonly K: G1Point;
  readonly C: G1Point;
  readonly proof: SigmaProof;
}
export interface BlindIssuanceSecret {
  readonly k: bigint;
  readonly sPrime: bigint;
}
export interface BlindIssuanceResponse {
  readonly A: G1Point;
  readonly e: bigint;
  readonly sDoublePrime: bigint;
}
export interface DeviceCredential extends BbsSignature {
  /** (k, epoch, tier, deviceClass, s) */
  readonly messages: readonly [bigint, bigint, bigint, bigint, bigint];
}
export interface CredentialAttributes {
  epoch: bigint;
  tier: bigint;
  deviceClass: bigint;
}
/** What the request's proof is bound to besides the nonce: the issuance it is for. */
export interface IssuanceBinding extends CredentialAttributes {
  deviceId: Uint8Array;
  issuerPublicKey: G2Point;
}

export type IssueRefusal = 'NONCE_LENGTH' | 'DEVICE_ID_LENGTH' | 'ATTRIBUTE_OUT_OF_RANGE' | 'POINT_IS_IDENTITY' | 'PROOF_INVALID';
export type FinishRefusal = 'ATTRIBUTE_OUT_OF_RANGE' | 'RESPONSE_OUT_OF_RANGE' | 'SIGNATURE_INVALID';

/** Q_1, H_0..H_4 of the five-message credential (the draft's create_generators(6)). */
const credentialGenerators = () => createGenerators(CREDENTIAL_MESSAGE_COUNT + 1);
const H = (i: number): G1Point => credentialGenerators()[i + 1]!;

/** Witnesses (k, s'): K = k·g_K and C = k·H_0 + s'·H_4. */
function requestRelations(K: G1Point, C: G1Point): LinearRelation[] {
  return [
    { name: 'blind.K', image: K, terms: [[0, gK()]] },
    { name: 'blind.C', image: C, terms: [[0, H(CredentialIndex.k)], [1, H(CredentialIndex.sBlind)]] },
  ];
}

/** Everything the proof is bound to, absorbed before the sigma statement (notes: transcript order). */
const bindIssuance = (nonce: Uint8Array, b: IssuanceBinding) => (t: Transcript) => {
  t.appendBytes('issuer.nonce', nonce);
  t.appendG2('issuer.W', b.issuerPublicKey);
  t.appendBytes('device.id', b.deviceId);
  t.appendU64('attr.epoch', b.epoch);
  t.appendU64('attr.tier', b.tier);
  t.appendU64('attr.class', b.deviceClass);
};

const nonceOk = (n: Uint8Array) => n.length >= ISSUER_NONCE_BYTES_MIN && n.length <= ISSUER_NONCE_BYTES_MAX;
const attributesOk = (a: CredentialAttributes) => [a.epoch, a.tier, a.deviceClass].every((x) => x >= 0n && x <= ATTRIBUTE_MAX);
const deviceIdOk = (id: Uint8Array) => id.length >= 1 && id.length <= ISSUANCE_DEVICE_ID_BYTES_MAX;

/** Holder, first move: commit to k (fresh unless given) and a fresh blinding s', bound to `binding`. */
export function blindIssuanceRequest(args: { k?: bigint; rng: Rng; issuerNonce: Uint8Array; binding: IssuanceBinding }): {
  request: BlindIssuanceRequest;
  secret: BlindIssuanceSecret;
} {
  assert(nonceOk(args.issuerNonce), `blindIssuanceRequest: issuer nonce must be ${ISSUER_NONCE_BYTES_MIN}..${ISSUER_NONCE_BYTES_MAX} bytes`);
  assert(attributesOk(args.binding) && deviceIdOk(args.binding.deviceId), 'blindIssuanceRequest: binding out of range');
  const k = args.k ?? randomScalar(args.rng);
  assert(k > 0n && k < R_ORDER, 'blindIssuanceRequest: k must be a non-zero scalar');
  const sPrime = randomScalar(args.rng);
  const K = gK().mul(k);
  const C = msmVartime([H(CredentialIndex.k), H(CredentialIndex.sBlind)], [k, sPrime]);
  const proof = proveSigma(BLIND_ISSUANCE_LABEL, requestRelations(K, C), [k, sPrime], args.rng, bindIssuance(args.issuerNonce, args.binding));
  return { request: { K, C, proof }, secret: { k, sPrime } };
}

/**
 * Issuer: check the request's proof under its own nonce, key, the device id and the attributes it
 * is about to sign, then sign the commitment blindly.
 */
export function issueBlind(args: {
  secretKey: bigint;
  publicKey: G2Point;
  request: BlindIssuanceRequest;
  issuerNonce: Uint8Array;
  deviceId: Uint8Array;
  rng: Rng;
} & CredentialAttributes): { ok: true; response: BlindIssuanceResponse } | { ok: false; reason: IssueRefusal } {
  const { secretKey: sk, request } = args;
  assert(sk > 0n && sk < R_ORDER, 'issueBlind: secret key out of range');
  if (!nonceOk(args.issuerNonce)) return { ok: false, reason: 'NONCE_LENGTH' };
  if (!deviceIdOk(args.deviceId)) return { ok: false, reason: 'DEVICE_ID_LENGTH' };
  if (!attributesOk(args)) return { ok: false, reason: 'ATTRIBUTE_OUT_OF_RANGE' };
  if (request.K.isIdentity() || request.C.isIdentity()) return { ok: false, reason: 'POINT_IS_IDENTITY' };
  const relations = requestRelations(request.K, request.C);
  const binding: IssuanceBinding = { ...args, issuerPublicKey: args.publicKey };
  if (!verifySigma(BLIND_ISSUANCE_LABEL, relations, 2, request.proof, bindIssuance(args.issuerNonce, binding), args.rng)) {
    return { ok: false, reason: 'PROOF_INVALID' };
  }
  const sDoublePrime = randomScalar(args.rng);
  const gens = credentialGenerators();
  const domain = calculateDomain(args.publicKey, gens[0]!, gens.slice(1), CREDENTIAL_HEADER);
  const e = hashToScalar(
    concatBytes(
      scalarToBytes(sk),
      request.K.toBytes(),
      request.C.toBytes(),
      i2osp8(args.epoch),
      i2osp8(args.tier),
      i2osp8(args.deviceClass),
      scalarToBytes(sDoublePrime),
      scalarToBytes(domain),
    ),
    BLIND_E_DST,
  );
  const { epoch, tier, deviceClass, sBlind } = CredentialIndex;
  const B = msmVartime(
    [bbsP1(), gens[0]!, request.C, H(epoch), H(tier), H(deviceClass), H(sBlind)],
    [1n, domain, 1n, args.epoch, args.tier, args.deviceClass, sDoublePrime],
  );
  const denom = scalarAdd(sk, e);
  assert(e !== 0n && denom !== 0n, 'issueBlind: degenerate e_sig (probability 2^-255)');
  const A = B.mul(scalarInv(denom));
  assert(!A.isIdentity(), 'issueBlind: A is the identity');
  return { ok: true, response: { A, e, sDoublePrime } };
}

/** Holder, last move: unblind s = s' + s'' and accept only a signature that verifies. */
export function finishBlindIssuance(args: {
  publicKey: G2Point;
  secret: BlindIssuanceSecret;
  response: BlindIssuanceResponse;
} & CredentialAttributes): { ok: true; credential: DeviceCredential } | { ok: false; reason: FinishRefusal } {
  const { response: r, secret } = args;
  if (!attributesOk(args)) return { ok: false, reason: 'ATTRIBUTE_OUT_OF_RANGE' };
  if (r.e <= 0n || r.e >= R_ORDER || r.sDoublePrime < 0n || r.sDoublePrime >= R_ORDER) {
    return { ok: false, reason: 'RESPONSE_OUT_OF_RANGE' };
  }
  const s = scalarAdd(secret.sPrime, r.sDoublePrime);
  const messages = [secret.k, args.epoch, args.tier, args.deviceClass, s] as const;
  const signature = { A: r.A, e: r.e };
  if (!coreVerify(args.publicKey, signature, credentialGenerators(), CREDENTIAL_HEADER, messages)) {
    return { ok: false, reason: 'SIGNATURE_INVALID' };
  }
  return { ok: true, credential: { ...signature, messages } };
}

// ---------------------------------------------------------------------------------------------
// Wire encodings: fixed length, strict decode (CryptoDecodeError with a stable code)

export function encodeBlindIssuanceRequest(req: BlindIssuanceRequest): Uint8Array {
  assert(req.proof.commitments.length === 2 && req.proof.responses.length === 2, 'encodeBlindIssuanceRequest: proof shape');
  return concatBytes(
    req.K.toBytes(),
    req.C.toBytes(),
    ...req.proof.commitments.map((T) => T.toBytes()),
    ...req.proof.responses.map(scalarToBytes),
  );
}

export function decodeBlindIssuanceRequest(bytes: Uint8Array): BlindIssuanceRequest {
  if (bytes.length !== BLIND_REQUEST_BYTES) {
    throw new CryptoDecodeError('LENGTH', `Blind issuance request must be ${BLIND_REQUEST_BYTES} bytes, got ${bytes.length}`);
  }
  const point = (n: number, allowIdentity: boolean) =>
    G1Point.fromBytes(bytes.subarray(n * G1_BYTES, (n + 1) * G1_BYTES), { allowIdentity });
  const scalar = (n: number) => scalarFromBytes(bytes.subarray(4 * G1_BYTES + n * SCALAR_BYTES, 4 * G1_BYTES + (n + 1) * SCALAR_BYTES));
  return {
    K: point(0, false),
    C: point(1, false),
    proof: { commitments: [point(2, true), point(3, true)], responses: [scalar(0), scalar(1)] },
  };
}

export function encodeBlindIssuanceResponse(res: BlindIssuanceResponse): Uint8Array {
  return concatBytes(res.A.toBytes(), scalarToBytes(res.e), scalarToBytes(res.sDoublePrime));
}

export function decodeBlindIssuanceResponse(bytes: Uint8Array): BlindIssuanceResponse {
  if (bytes.length !== BLIND_RESPONSE_BYTES) {
    throw new CryptoDecodeError('LENGTH', `Blind issuance response must be ${BLIND_RESPONSE_BYTES} bytes, got ${bytes.length}`);
  }
  const A = G1Point.fromBytes(bytes.subarray(0, G1_BYTES));
  const e = scalarFromBytes(bytes.subarray(G1_BYTES, G1_BYTES + SCALAR_BYTES));
  if (e === 0n) throw new CryptoDecodeError('MALFORMED', 'Blind issuance response: e_sig must not be zero');
  const sDoublePrime = scalarFromBytes(bytes.subarray(G1_BYTES + SCALAR_BYTES));
  return { A, e, sDoublePrime };
}
