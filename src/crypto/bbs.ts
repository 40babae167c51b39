// The BBS Signatures Interface of draft-irtf-cfrg-bbs-signatures (ciphersuite BLS12-381-SHA-256,
// api_id "BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_") over octet strings: KeyGen, SkToPk,
// Sign, Verify, ProofGen (deriveProof) and ProofVerify (verifyProof).
//
// Why this shape: callers deal in bytes only; every decode is strict (group.ts decoders), bad
// input to a signer/prover is a BbsError with a stable code, and the two verifiers answer false
// to anything malformed instead of throwing. The scalar-level work lives in bbs_core.ts and
// bbs_proof_core.ts, shared with the Tally credential.

import { CryptoDecodeError, G2Point, scalarFromBytes, scalarToBytes } from './group.ts';
import { type Rng, systemRng } from './rng.ts';
import {
  BBS_HEADER_BYTES_MAX,
  BBS_MESSAGES_MAX,
  KEYGEN_DST,
  calculateRandomScalars,
  coreSign,
  coreVerify,
  createGenerators,
  keyGenScalar,
  messagesToScalars,
} from './bbs_core.ts';
import { coreProofGen, coreProofVerify, undisclosedIndexes } from './bbs_proof_core.ts';
import {
  BBS_PROOF_BYTES_MIN,
  octetsToProof,
  octetsToPublicKey,
  octetsToSignature,
  proofToOctets,
  signatureToOctets,
} from './bbs_encoding.ts';

export type BbsErrorCode =
  | 'KEY_MATERIAL_TOO_SHORT'
  | 'KEY_INFO_TOO_LONG'
  | 'INVALID_SECRET_KEY'
  | 'INVALID_PUBLIC_KEY'
  | 'KEY_MISMATCH'
  | 'INVALID_SIGNATURE'
  | 'INVALID_INDEXES'
  | 'TOO_MANY_MESSAGES'
  | 'HEADER_TOO_LONG';

/** Bad input to a BBS signer or prover. */
export class BbsError extends Error {
  constructor(
    readonly code: BbsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BbsError';
  }
}

function decodeOr<T>(code: BbsErrorCode, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CryptoDecodeError) throw new BbsError(code, `Cannot use ${what}: ${e.message}`);
    throw e;
  }
}

function checkSizes(messageCount: number, ...headers: Uint8Array[]): void {
  if (messageCount > BBS_MESSAGES_MAX) {
    throw new BbsError('TOO_MANY_MESSAGES', `Cannot sign or prove ${messageCount} messages: the limit is ${BBS_MESSAGES_MAX}`);
  }
  for (const h of headers) {
    if (h.length > BBS_HEADER_BYTES_MAX) {
      throw new BbsError('HEADER_TOO_LONG', `Header of ${h.length} bytes exceeds ${BBS_HEADER_BYTES_MAX}`);
    }
  }
}

function sizesOk(messageCount: number, ...headers: Uint8Array[]): boolean {
  return messageCount <= BBS_MESSAGES_MAX && headers.every((h) => h.length <= BBS_HEADER_BYTES_MAX);
}

function decodeSecretKey(secretKey: Uint8Array): bigint {
  const sk = decodeOr('INVALID_SECRET_KEY', 'secret key', () => scalarFromBytes(secretKey));
  if (sk === 0n) throw new BbsError('INVALID_SECRET_KEY', 'Cannot use secret key: it is zero');
  return sk;
}

/** KeyGen(key_material, key_info, key_dst) → SK as 32 big-endian bytes. */
export function keyGen(args: { keyMaterial: Uint8Array; keyInfo?: Uint8Array; keyDst?: Uint8Array }): Uint8Array {
  const keyInfo = args.keyInfo ?? new Uint8Array(0);
  if (args.keyMaterial.length < 32) {
    throw new BbsError('KEY_MATERIAL_TOO_SHORT', `key_material must be at least 32 bytes, got ${args.keyMaterial.length}`);
  }
  if (keyInfo.length > 65535) {
    throw new BbsError('KEY_INFO_TOO_LONG', `key_info must be at most 65535 bytes, got ${keyInfo.length}`);
  }
  return scalarToBytes(keyGenScalar(args.keyMaterial, keyInfo, args.keyDst ?? KEYGEN_DST));
}

/** SkToPk: W = SK·BP2, compressed (96 bytes). */
export function skToPk(secretKey: Uint8Array): Uint8Array {
  return G2Point.BASE.mul(decodeSecretKey(secretKey)).toBytes();
}

/** Sign(SK, PK, header, messages). Refuses a PK that does not belong to SK. */
export function sign(args: {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  header?: Uint8Array;
  messages: readonly Uint8Array[];
}): Uint8Array {
  const header = args.header ?? new Uint8Array(0);
  checkSizes(args.messages.length, header);
  const sk = decodeSecretKey(args.secretKey);
  const W = decodeOr('INVALID_PUBLIC_KEY', 'public key', () => octetsToPublicKey(args.publicKey));
  if (!G2Point.BASE.mul(sk).equals(W)) throw new BbsError('KEY_MISMATCH', 'Cannot sign: public key is not SK·BP2');
  const generators = createGenerators(args.messages.length + 1);
  return signatureToOctets(coreSign(sk, W, generators, header, messagesToScalars(args.messages)));
}

/** Verify(PK, signature, header, messages): false on any malformed input. */
export function verify(args: {
  publicKey: Uint8Array;
  signature: Uint8Array;
  header?: Uint8Array;
  messages: readonly Uint8Array[];
}): boolean {
  const header = args.header ?? new Uint8Array(0);
  if (!sizesOk(args.messages.length, header)) return false;
  try {
    const W = octetsToPublicKey(args.publicKey);
    const sig = octetsToSignature(args.signature);
    const generators = createGenerators(args.messages.length + 1);
    return coreVerify(W, sig, generators, header, messagesToScalars(args.messages));
  } catch (e) {
    if (e instanceof CryptoDecodeError) return false;
    throw e;
  }
}

/**
 * ProofGen(PK, signature, header, ph, messages, disclosed_indexes). `rng` supplies
 * get_random: each random scalar is OS2IP(rng(48)) mod r, in the draft's order.
 */
export function deriveProof(args: {
  publicKey: Uint8Array;
  signature: Uint8Array;
  header?: Uint8Array;
  presentationHeader?: Uint8Array;
  messages: readonly Uint8Array[];
  disclosedMessageIndexes: readonly number[];
  rng?: Rng;
}): Uint8Array {
  const header = args.header ?? new Uint8Array(0);
  const ph = args.presentationHeader ?? new Uint8Array(0);
  checkSizes(args.messages.length, header, ph);
  const W = decodeOr('INVALID_PUBLIC_KEY', 'public key', () => octetsToPublicKey(args.publicKey));
  const sig = decodeOr('INVALID_SIGNATURE', 'signature', () => octetsToSignature(args.signature));
  const undisclosed = undisclosedIndexes(args.messages.length, args.disclosedMessageIndexes);
  if (undisclosed === undefined) {
    throw new BbsError('INVALID_INDEXES', `Disclosed indexes must be ascending, unique and below ${args.messages.length}`);
  }
  const generators = createGenerators(args.messages.length + 1);
  const random = calculateRandomScalars(5 + undisclosed.length, args.rng ?? systemRng);
  const messages = messagesToScalars(args.messages);
  const { proof } = coreProofGen(W, sig, generators, header, ph, messages, args.disclosedMessageIndexes, random);
  return proofToOctets(proof);
}

/** ProofVerify(PK, proof, header, ph, disclosed_messages, disclosed_indexes): false on bad input. */
export function verifyProof(args: {
  publicKey: Uint8Array;
  proof: Uint8Array;
  header?: Uint8Array;
  presentationHeader?: Uint8Array;
  disclosedMessages: readonly Uint8Array[];
  disclosedMessageIndexes: readonly number[];
}): boolean {
  const header = args.header ?? new Uint8Array(0);
  const ph = args.presentationHeader ?? new Uint8Array(0);
  if (args.proof.length < BBS_PROOF_BYTES_MIN || !sizesOk(0, header, ph)) return false;
  if (args.disclosedMessages.length !== args.disclosedMessageIndexes.length) return false;
  try {
    const W = octetsToPublicKey(args.publicKey);
    const proof = octetsToProof(args.proof);
    const L = proof.mHat.length + args.disclosedMessageIndexes.length;
    if (L > BBS_MESSAGES_MAX || undisclosedIndexes(L, args.disclosedMessageIndexes) === undefined) return false;
    const generators = createGenerators(L + 1);
    const disclosed = messagesToScalars(args.disclosedMessages);
    return coreProofVerify(W, proof, generators, header, ph, disclosed, args.disclosedMessageIndexes);
  } catch (e) {
    if (e instanceof CryptoDecodeError) return false;
    throw e;
  }
}
