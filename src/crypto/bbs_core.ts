// BBS signatures at the scalar level, as draft-irtf-cfrg-bbs-signatures defines them for the
// ciphersuite BLS12-381-SHA-256: constants, create_generators, messages_to_scalars,
// calculate_domain, CoreSign and CoreVerify. Messages are scalars here; the octet-string interface
// (bbs.ts) maps bytes to scalars first, the Tally credential signs scalars directly.
//
// Why this shape: every hash input is built exactly as the draft's `serialize` builds it (points
// compressed, scalars 32-byte big-endian, integers 8-byte big-endian), so the draft's fixtures pin
// the whole file byte for byte. Generators are expensive (one hash-to-curve each, ~1 ms), so they
// are computed once per api_id and extended on demand, keeping the draft's order.

import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import {
  G1Point,
  G2Point,
  R_ORDER,
  bytesToBigintBE,
  concatBytes,
  hashToScalar,
  mod,
  msmVartime,
  pairingProductIsOne,
  scalarAdd,
  scalarInv,
  scalarToBytes,
} from './group.ts';

const utf8 = new TextEncoder();

/** ciphersuite_id of BLS12-381-SHA-256. */
export const CIPHERSUITE_ID = 'BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_';
/** api_id of the draft's BBS Signatures Interface: ciphersuite_id || "H2G_HM2S_". */
export const API_ID_STRING = `${CIPHERSUITE_ID}H2G_HM2S_`;
export const API_ID: Uint8Array = utf8.encode(API_ID_STRING);
/** expand_len: ceil((ceil(log2(r)) + k) / 8) with k = 128. */
export const EXPAND_LEN = 48;
/**
 * Most messages one signature may carry. Each message costs one generator (a hash-to-curve,
 * ~1 ms, cached) and one MSM term per sign/verify; the credential uses 5.
 */
export const BBS_MESSAGES_MAX = 256;
/** Longest header or presentation header accepted (bytes are hashed once, ~1 µs per 64 bytes). */
export const BBS_HEADER_BYTES_MAX = 1 << 16;

/** A BBS signature (A, e) with A ≠ identity and 0 < e < r. */
export interface BbsSignature {
  readonly A: G1Point;
  readonly e: bigint;
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers (the draft's `serialize` and I2OSP)

/** I2OSP(n, 8): the draft's encoding of a non-negative integer below 2^64. */
export function i2osp8(n: number | bigint): Uint8Array {
  const v = BigInt(n);
  assert(v >= 0n && v < 1n << 64n, `i2osp8: ${v} is not a 64-bit unsigned integer`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

function i2osp2(n: number): Uint8Array {
  assert(Number.isInteger(n) && n >= 0 && n < 65536, `i2osp2: ${n} does not fit in 2 bytes`);
  return Uint8Array.of(n >> 8, n & 0xff);
}

function withSuffix(apiId: Uint8Array, suffix: string): Uint8Array {
  return concatBytes(apiId, utf8.encode(suffix));
}

/** api_id || "H2S_": the DST of every hash_to_scalar inside the core operations. */
export const h2sDst = (apiId: Uint8Array = API_ID): Uint8Array => withSuffix(apiId, 'H2S_');

// ---------------------------------------------------------------------------------------------
// Key generation

/** KeyGen: SK = hash_to_scalar(key_material || I2OSP(len(key_info), 2) || key_info, key_dst). */
export function keyGenScalar(keyMaterial: Uint8Array, keyInfo: Uint8Array, keyDst: Uint8Array): bigint {
  assert(keyMaterial.length >= 32, 'keyGen: key_material must be at least 32 bytes');
  assert(keyInfo.length <= 65535, 'keyGen: key_info must be at most 65535 bytes');
  const sk = hashToScalar(concatBytes(keyMaterial, i2osp2(keyInfo.length), keyInfo), keyDst);
  assert(sk !== 0n, 'keyGen: derived a zero secret key');
  return sk;
}

/** Default key_dst: ciphersuite_id || "KEYGEN_DST_". */
export const KEYGEN_DST: Uint8Array = utf8.encode(`${API_ID_STRING}KEYGEN_DST_`);

// ---------------------------------------------------------------------------------------------
// Generators

interface GeneratorStream {
  v: Uint8Array;
  points: G1Point[];
}

function startStream(seed: Uint8Array, seedDst: Uint8Array): GeneratorStream {
  return { v: expand_message_xmd(seed, seedDst, EXPAND_LEN, sha256), points: [] };
}

/** Extends a stream to `count` points: v = expand(v || I2OSP(i, 8)); P_i = hash_to_curve(v). */
function extendStream(s: GeneratorStream, count: number, seedDst: Uint8Array, genDst: Uint8Array): void {
  while (s.points.length < count) {
    const i = s.points.length + 1;
    s.v = expand_message_xmd(concatBytes(s.v, i2osp8(i)), seedDst, EXPAND_LEN, sha256);
    s.points.push(G1Point.hashToCurve(s.v, genDst).useFixedTable());
  }
}

const streams = new Map<string, GeneratorStream>();

/**
 * create_generators(count, api_id): (Q_1, H_1, ..., H_{count-1}). Cached per api_id and extended
 * on demand, so every count reads the same prefix of one stream.
 */
export function createGenerators(count: number, apiId: Uint8Array = API_ID): readonly G1Point[] {
  assert(Number.isInteger(count) && count >= 1 && count <= BBS_MESSAGES_MAX + 1, `createGenerators: bad count ${count}`);
  const key = Buffer.from(apiId).toString('hex');
  const seedDst = withSuffix(apiId, 'SIG_GENERATOR_SEED_');
  let s = streams.get(key);
  if (s === undefined) {
    s = startStream(withSuffix(apiId, 'MESSAGE_GENERATOR_SEED'), seedDst);
    streams.set(key, s);
  }
  extendStream(s, count, seedDst, withSuffix(apiId, 'SIG_GENERATOR_DST_'));
  const out = s.points.slice(0, count);
  assert(out.length === count, 'createGenerators: stream shorter than requested');
  return out;
}

let p1Cache: G1Point | undefined;

/** The ciphersuite's fixed point P1 (create_generators with the ciphersuite's BP seed, count 1). */
export function bbsP1(): G1Point {
  if (p1Cache === undefined) {
    const prefix = `${CIPHERSUITE_ID}H2G_HM2S_`;
    const seedDst = utf8.encode(`${prefix}SIG_GENERATOR_SEED_`);
    const s = startStream(utf8.encode(`${prefix}BP_MESSAGE_GENERATOR_SEED`), seedDst);
    extendStream(s, 1, seedDst, utf8.encode(`${prefix}SIG_GENERATOR_DST_`));
    p1Cache = s.points[0]!.useFixedTable();
  }
  return p1Cache;
}

// ---------------------------------------------------------------------------------------------
// Messages, domain, B

/** messages_to_scalars: hash_to_scalar(msg, api_id || "MAP_MSG_TO_SCALAR_AS_HASH_") each. */
export function messagesToScalars(messages: readonly Uint8Array[], apiId: Uint8Array = API_ID): bigint[] {
  const dst = withSuffix(apiId, 'MAP_MSG_TO_SCALAR_AS_HASH_');
  return messages.map((m) => hashToScalar(m, dst));
}

/**
 * calculate_domain: hash_to_scalar(PK || serialize((L, Q_1, H_1..H_L)) || api_id ||
 * I2OSP(len(header), 8) || header, api_id || "H2S_").
 */
export function calculateDomain(
  publicKey: G2Point | Uint8Array,
  Q1: G1Point,
  H: readonly G1Point[],
  header: Uint8Array,
  apiId: Uint8Array = API_ID,
): bigint {
  const pk = publicKey instanceof Uint8Array ? publicKey : publicKey.toBytes();
  const domOcts = concatBytes(i2osp8(H.length), Q1.toBytes(), ...H.map((h) => h.toBytes()), apiId);
  return hashToScalar(concatBytes(pk, domOcts, i2osp8(header.length), header), h2sDst(apiId));
}

/** B = P1 + Q_1·domain + Σ H_i·msg_i over the given (index, scalar) pairs. */
export function computeB(generators: readonly G1Point[], domain: bigint, terms: ReadonlyArray<readonly [number, bigint]>): G1Point {
  const points = [bbsP1(), generators[0]!];
  const scalars = [1n, domain];
  for (const [i, m] of terms) {
    const H = generators[i + 1];
    assert(H !== undefined, `computeB: no generator for message index ${i}`);
    points.push(H);
    scalars.push(m);
  }
  return msmVartime(points, scalars);
}

const indexed = (messages: readonly bigint[]): Array<readonly [number, bigint]> => messages.map((m, i) => [i, m] as const);

// ---------------------------------------------------------------------------------------------
// CoreSign / CoreVerify

/** CoreSign: e = hash_to_scalar(serialize((SK, msg_1..msg_L, domain))), A = B·1/(SK + e). */
export function coreSign(
  sk: bigint,
  pk: G2Point,
  generators: readonly G1Point[],
  header: Uint8Array,
  messages: readonly bigint[],
  apiId: Uint8Array = API_ID,
): BbsSignature {
  assert(sk > 0n && sk < R_ORDER, 'coreSign: secret key out of range');
  assert(generators.length === messages.length + 1, `coreSign: ${generators.length} generators for ${messages.length} messages`);
  assert(messages.every((m) => m >= 0n && m < R_ORDER), 'coreSign: message scalar out of range');
  const domain = calculateDomain(pk, generators[0]!, generators.slice(1), header, apiId);
  const eInput = concatBytes(scalarToBytes(sk), ...messages.map(scalarToBytes), scalarToBytes(domain));
  const e = hashToScalar(eInput, h2sDst(apiId));
  const B = computeB(generators, domain, indexed(messages));
  const denom = scalarAdd(sk, e);
  assert(denom !== 0n, 'coreSign: SK + e = 0 (probability 2^-255)');
  const A = B.mul(scalarInv(denom));
  assert(!A.isIdentity(), 'coreSign: A is the identity');
  return { A, e };
}

/** CoreVerify: e(A, W)·e(A·e − B, BP2) = 1. False on any out-of-range part, never throws. */
export function coreVerify(
  pk: G2Point,
  signature: BbsSignature,
  generators: readonly G1Point[],
  header: Uint8Array,
  messages: readonly bigint[],
  apiId: Uint8Array = API_ID,
): boolean {
  const { A, e } = signature;
  if (pk.isIdentity() || A.isIdentity()) return false;
  if (e <= 0n || e >= R_ORDER) return false;
  if (generators.length !== messages.length + 1) return false;
  if (!messages.every((m) => m >= 0n && m < R_ORDER)) return false;
  const domain = calculateDomain(pk, generators[0]!, generators.slice(1), header, apiId);
  const B = computeB(generators, domain, indexed(messages));
  return pairingProductIsOne([
    [A, pk],
    [A.mul(e).sub(B), G2Point.BASE],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Random scalars

/** calculate_random_scalars: r_i = OS2IP(get_random(expand_len)) mod r, as the draft says. */
export function calculateRandomScalars(count: number, rng: (n: number) => Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = rng(EXPAND_LEN);
    assert(bytes.length === EXPAND_LEN, `calculateRandomScalars: rng returned ${bytes.length} bytes`);
    out.push(mod(bytesToBigintBE(bytes)));
  }
  return out;
}

/** The draft's test-vector mock: seeded_random_scalars(SEED, DST, count). */
export function seededRandomScalars(seed: Uint8Array, dst: Uint8Array, count: number): bigint[] {
  assert(count * EXPAND_LEN <= 65535, 'seededRandomScalars: too many scalars');
  const v = expand_message_xmd(seed, dst, EXPAND_LEN * count, sha256);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(mod(bytesToBigintBE(v.subarray(i * EXPAND_LEN, (i + 1) * EXPAND_LEN))));
  return out;
}
