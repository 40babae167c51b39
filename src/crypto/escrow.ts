// Regulator escrow of the payer's device key (DESIGN §3.2 item 4, §7 disclosure): every payment
// carries an ElGamal encryption (E1, E2) of K = k·g_K under the regulator key Y_reg = y·G, and y is
// Shamir-shared among key holders (CB, regulator, court, …), so opening one payment needs a warrant
// and a quorum. Each holder answers a warrant with D_i = y_i·E1 and a Chaum–Pedersen proof that it
// used the same y_i as its published verification key VK_i = y_i·G; the combiner checks every proof
// before it trusts a share, so one dishonest holder cannot make the quorum name the wrong device.
// D_i itself opens every ciphertext with that E1, so the proof binds the warrant id AND the id of
// the one payment the warrant names, and the ledger side (ledger/cb/disclosure.ts) hands a holder only
// the stored record of that payment, never a ciphertext from the requester.
// Notation follows notes/escrow.md.

import { assert } from './assert.ts';
import {
  CryptoDecodeError,
  G1Point,
  G1_BYTES,
  R_ORDER,
  SCALAR_BYTES,
  concatBytes,
  msmVartime,
  scalarFromBytes,
  scalarNeg,
  scalarToBytes,
} from './group.ts';
import { gK, pedersenG } from './generators.ts';
import { randomScalar, type Rng } from './rng.ts';
import { SHAMIR_HOLDERS_MAX, ShamirError, checkShareIndexes, lagrangeCoefficientsAtZero, splitSecret } from './shamir.ts';
import { proveSigma, verifySigma, type LinearRelation, type SigmaProof } from './sigma.ts';
import type { Transcript } from './transcript.ts';

/** Transcript label of a holder's partial-decryption proof. */
export const PARTIAL_DECRYPTION_LABEL = 'TALLY-V1/escrow/partial-decryption';
/** Longest warrant id bound into a partial decryption (a hash or an audit-log entry id). */
export const WARRANT_ID_BYTES_MAX = 64;
/** A payment id is the payment hash, SHA-256 of the payment record (one hash everywhere, DESIGN §3.2). */
export const PAYMENT_ID_BYTES = 32;
/** E1 | E2, both compressed G1. */
export const ESCROW_CIPHERTEXT_BYTES = 2 * G1_BYTES;
/** index (1) | D_i | DLEQ commitments for D_i and VK_i | one response. */
export const PARTIAL_DECRYPTION_BYTES = 1 + G1_BYTES + 2 * G1_BYTES + SCALAR_BYTES;

export interface EscrowCiphertext {
  readonly E1: G1Point;
  readonly E2: G1Point;
}

export interface RegulatorKeyShare {
  readonly index: number;
  readonly secret: bigint;
  /** VK_i = y_i·G, public, so anyone can check a holder's partial decryption. */
  readonly verificationKey: G1Point;
}

export interface RegulatorKey {
  /** Y_reg = y·G. */
  readonly publicKey: G1Point;
  readonly threshold: number;
  /** One share per holder, holder i at shares[i−1]; hand each secret to its holder only. */
  readonly shares: RegulatorKeyShare[];
}

export interface PartialDecryption {
  readonly index: number;
  /** D_i = y_i·E1. */
  readonly D: G1Point;
  readonly proof: SigmaProof;
}

/** Where the payment proof keeps k and s in its witness vector. */
export interface EscrowWitnessIndex {
  readonly k: number;
  readonly s: number;
}

export type CombineFailure = 'TOO_FEW_PARTIALS' | 'DUPLICATE_INDEX' | 'UNKNOWN_INDEX' | 'BAD_PROOF';
export type CombineResult = { ok: true; K: G1Point } | { ok: false; reason: CombineFailure; index?: number };

/**
 * Trusted-dealer key generation: y random, Y_reg = y·G, y split k-of-n with Shamir.
 * Throws ShamirError('THRESHOLD_RANGE') unless 1 ≤ threshold ≤ holders ≤ 255.
 */
export function dealRegulatorKey(opts: { threshold: number; holders: number; rng: Rng }): RegulatorKey {
  const G = pedersenG();
  const y = randomScalar(opts.rng);
  const shares = splitSecret(y, opts.threshold, opts.holders, opts.rng).map((s) => ({
    index: s.index,
    secret: s.value,
    verificationKey: G.mul(s.value),
  }));
  const publicKey = G.mul(y);
  assert(!publicKey.isIdentity() && shares.length === opts.holders, 'dealRegulatorKey: bad dealing');
  return { publicKey, threshold: opts.threshold, shares };
}

/** E1 = s·G, E2 = K + s·Y_reg with fresh non-zero s (the payment proof's escrow randomness). */
export function encryptDeviceKey(K: G1Point, Y_reg: G1Point, s: bigint): EscrowCiphertext {
  assert(s > 0n && s < R_ORDER, 'encryptDeviceKey: s must be a non-zero reduced scalar');
  assert(!Y_reg.isIdentity(), 'encryptDeviceKey: regulator key is the identity');
  const E1 = pedersenG().mul(s);
  const E2 = K.add(Y_reg.mul(s));
  return { E1, E2 };
}

/**
 * The escrow relations of DESIGN §3.2 item 4, over the caller's witness indexes:
 *   escrow-E1:  E1 = s·G
 *   escrow-E2:  E2 = k·g_K + s·Y_reg
 * k is the credential's hidden message, so sharing its index ties the escrow to the credential.
 */
export function escrowRelations(pub: EscrowCiphertext & { Y_reg: G1Point }, idx: EscrowWitnessIndex): LinearRelation[] {
  assert(idx.k !== idx.s && Number.isSafeInteger(idx.k) && Number.isSafeInteger(idx.s), 'escrowRelations: bad indexes');
  return [
    { name: 'escrow-E1', image: pub.E1, terms: [[idx.s, pedersenG()]] },
    {
      name: 'escrow-E2',
      image: pub.E2,
      terms: [
        [idx.k, gK()],
        [idx.s, pub.Y_reg],
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Threshold decryption

/** Chaum–Pedersen DLEQ as two relations sharing witness 0 (y_i): D_i = y_i·E1, VK_i = y_i·G. */
function partialRelations(D: G1Point, verificationKey: G1Point, E1: G1Point): LinearRelation[] {
  return [
    { name: 'partial-decryption', image: D, terms: [[0, E1]] },
    { name: 'verification-key', image: verificationKey, terms: [[0, pedersenG()]] },
  ];
}

/**
 * The proof answers one warrant for one named payment by one holder: warrant id, payment id,
 * holder index and E2 are absorbed here; E1, D_i and VK_i enter as relation data.
 */
function partialBinding(index: number, E2: G1Point, warrantId: Uint8Array, paymentId: Uint8Array): (t: Transcript) => void {
  return (t) => {
    t.appendBytes('warrant-id', warrantId);
    t.appendBytes('payment-id', paymentId);
    t.appendU64('holder-index', index);
    t.appendPoint('E2', E2, { allowIdentity: true });
  };
}

/** What a partial decryption answers: the warrant, the payment it names, and that payment's escrow. */
export interface PartialDecryptionRequest {
  readonly E1: G1Point;
  readonly E2: G1Point;
  readonly warrantId: Uint8Array;
  /** The payment hash of the record (E1, E2) was read from. */
  readonly paymentId: Uint8Array;
}

/**
 * Holder i's answer to a warrant: D_i = y_i·E1 with a DLEQ proof against VK_i. The caller must
 * take (E1, E2) from the stored record whose hash is paymentId (ledger/cb/disclosure.ts answerWarrant).
 */
export function partialDecrypt(opts: PartialDecryptionRequest & { share: RegulatorKeyShare; rng: Rng }): PartialDecryption {
  const { share, E1, E2, warrantId, paymentId } = opts;
  assert(warrantId.length <= WARRANT_ID_BYTES_MAX, `partialDecrypt: warrant id longer than ${WARRANT_ID_BYTES_MAX} bytes`);
  assert(paymentId.length === PAYMENT_ID_BYTES, `partialDecrypt: payment id must be ${PAYMENT_ID_BYTES} bytes`);
  assert(!E1.isIdentity(), 'partialDecrypt: E1 is the identity');
  const D = E1.mul(share.secret);
  const relations = partialRelations(D, share.verificationKey, E1);
  const bind = partialBinding(share.index, E2, warrantId, paymentId);
  const proof = proveSigma(PARTIAL_DECRYPTION_LABEL, relations, [share.secret], opts.rng, bind);
  return { index: share.index, D, proof };
}

/** True iff `partial` is holder partial.index's honest answer for this payment's ciphertext and warrant. Never throws. */
export function verifyPartialDecryption(opts: PartialDecryptionRequest & { partial: PartialDecryption; verificationKey: G1Point }): boolean {
  const { partial, verificationKey, E1, E2, warrantId, paymentId } = opts;
  if (warrantId.length > WARRANT_ID_BYTES_MAX || paymentId.length !== PAYMENT_ID_BYTES) return false;
  if (!Number.isSafeInteger(partial.index) || partial.index < 1 || partial.index > SHAMIR_HOLDERS_MAX) return false;
  // verifySigma checks the proof's shape; a response ≥ r would still verify mod r, so refuse it
  // here to keep proofs non-malleable.
  if (partial.proof.responses.some((z) => z < 0n || z >= R_ORDER)) return false;
  const relations = partialRelations(partial.D, verificationKey, E1);
  return verifySigma(PARTIAL_DECRYPTION_LABEL, relations, 1, partial.proof, partialBinding(partial.index, E2, warrantId, paymentId));
}

/**
 * K = E2 − Σ λ_i·D_i over the given partials (Lagrange in the exponent). Refuses fewer than
 * `threshold` partials, a repeated index, an index without a verification key, and any partial
 * whose proof does not verify. verificationKeys[i−1] is holder i's VK_i.
 */
export function combine(
  opts: PartialDecryptionRequest & { partials: readonly PartialDecryption[]; threshold: number; verificationKeys: readonly G1Point[] },
): CombineResult {
  const { partials, threshold, verificationKeys } = opts;
  assert(Number.isSafeInteger(threshold) && threshold >= 1, 'combine: threshold must be a positive integer');
  if (partials.length < threshold) return { ok: false, reason: 'TOO_FEW_PARTIALS' };
  const indexes = partials.map((p) => p.index);
  try {
    checkShareIndexes(indexes);
  } catch (e) {
    if (!(e instanceof ShamirError)) throw e;
    return { ok: false, reason: e.code === 'INDEX_DUPLICATE' ? 'DUPLICATE_INDEX' : 'UNKNOWN_INDEX' };
  }
  for (const partial of partials) {
    const verificationKey = verificationKeys[partial.index - 1];
    if (verificationKey === undefined) return { ok: false, reason: 'UNKNOWN_INDEX', index: partial.index };
    const request = { E1: opts.E1, E2: opts.E2, warrantId: opts.warrantId, paymentId: opts.paymentId };
    if (!verifyPartialDecryption({ ...request, partial, verificationKey })) {
      return { ok: false, reason: 'BAD_PROOF', index: partial.index };
    }
  }
  const lambdas = lagrangeCoefficientsAtZero(indexes);
  const K = msmVartime([opts.E2, ...partials.map((p) => p.D)], [1n, ...lambdas.map(scalarNeg)]);
  return { ok: true, K };
}

// ---------------------------------------------------------------------------------------------
// Byte encodings (strict: exact length, canonical non-identity points, canonical scalars)

/** Runs a group-layer decoder, keeping its error code and saying which field failed. */
function decodeField<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof CryptoDecodeError) throw new CryptoDecodeError(e.code, `Cannot decode ${what}: ${e.message}`);
    throw e;
  }
}

const decodePoint = (bytes: Uint8Array, what: string): G1Point => decodeField(what, () => G1Point.fromBytes(bytes));

function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    throw new CryptoDecodeError('LENGTH', `Cannot decode ${what}: expected ${expected} bytes, got ${bytes?.length}`);
  }
}

export function escrowCiphertextToBytes(c: EscrowCiphertext): Uint8Array {
  const out = concatBytes(c.E1.toBytes(), c.E2.toBytes());
  assert(out.length === ESCROW_CIPHERTEXT_BYTES, 'escrowCiphertextToBytes: wrong length');
  return out;
}

/** Throws CryptoDecodeError with a stable code on anything but E1 | E2, both valid non-identity points. */
export function escrowCiphertextFromBytes(bytes: Uint8Array): EscrowCiphertext {
  checkLength(bytes, ESCROW_CIPHERTEXT_BYTES, 'escrow ciphertext');
  return {
    E1: decodePoint(bytes.subarray(0, G1_BYTES), 'escrow E1'),
    E2: decodePoint(bytes.subarray(G1_BYTES), 'escrow E2'),
  };
}

export function partialDecryptionToBytes(p: PartialDecryption): Uint8Array {
  assert(p.index >= 1 && p.index <= SHAMIR_HOLDERS_MAX, 'partialDecryptionToBytes: index out of range');
  assert(p.proof.commitments.length === 2 && p.proof.responses.length === 1, 'partialDecryptionToBytes: bad proof shape');
  const out = concatBytes(
    Uint8Array.of(p.index),
    p.D.toBytes(),
    ...p.proof.commitments.map((c) => c.toBytes()),
    scalarToBytes(p.proof.responses[0]!),
  );
  assert(out.length === PARTIAL_DECRYPTION_BYTES, 'partialDecryptionToBytes: wrong length');
  return out;
}

/** Throws CryptoDecodeError: LENGTH, MALFORMED (index 0), or the point/scalar code at fault. */
export function partialDecryptionFromBytes(bytes: Uint8Array): PartialDecryption {
  checkLength(bytes, PARTIAL_DECRYPTION_BYTES, 'partial decryption');
  const index = bytes[0]!;
  if (index === 0) {
    throw new CryptoDecodeError('MALFORMED', 'Cannot decode partial decryption: holder index is 0, expected 1..255');
  }
  let o = 1;
  const next = (n: number): Uint8Array => bytes.subarray(o, (o += n));
  const D = decodePoint(next(G1_BYTES), 'partial decryption D_i');
  const commitments = [decodePoint(next(G1_BYTES), 'DLEQ commitment 0'), decodePoint(next(G1_BYTES), 'DLEQ commitment 1')];
  const response = decodeField('DLEQ response', () => scalarFromBytes(next(SCALAR_BYTES)));
  assert(o === PARTIAL_DECRYPTION_BYTES, 'partialDecryptionFromBytes: did not consume every byte');
  return { index, D, proof: { commitments, responses: [response] } };
}
