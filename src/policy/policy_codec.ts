// Wire codec of the two documents the CB signs for every device (DESIGN §7): the policy table and
// the revocation list, in deterministic CBOR (RFC 8949 §4.2) inside a P-256 signed envelope
// {body, sig}.
//
// Why this shape: devices install these offline from an untrusted host, so the decoder checks
// length first, then the exact CBOR form (strict decode, then re-encode and compare bytes), then
// every field's type and bound, then meaning (the policy's limits relate as limits.ts requires;
// nullifiers are canonical G1 points and revoked device keys compressed P-256 points, each list in
// strictly ascending byte order). Failures are
// PolicyCodecError with a stable code; verify* return a reason and never throw on bad input.
// This file keeps its own small CBOR/envelope helpers because src/se depends on src/policy, not
// the other way round.

import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { p256 } from '@noble/curves/nist.js';
import { CryptoDecodeError, G1Point, G1_BYTES } from '../crypto/group.ts';
import { verifyP256Signature } from '../crypto/p256_verify.ts';
import { COUNTER_SET_SIZE_MAX } from '../crypto/counter_set.ts';
import { RANGE_PROOF_BITS, TIERS, type PolicyTable, type TierLimits } from './limits.ts';

export const POLICY_FORMAT_VERSION = 1;
/**
 * Revocation lists are version 2: v1 plus a `devices` section, the attestation keys of devices
 * whose customer is frozen (an SE naming itself there stops paying). v1 lists (no devices) still
 * decode, as an empty section, so an SE keeps installing lists from a CB not yet upgraded.
 */
export const REVOCATION_LIST_FORMAT_VERSION = 2;
/** A policy table is 4 tiers × 8 integers: 1 KiB is ample and bounds a hostile one. */
export const POLICY_BYTES_MAX = 1024;
/** Nullifiers per revocation list: 1024 × 48 B ≈ 49 KiB, one extended APDU; verifying costs ~1024 subgroup checks. */
export const REVOCATION_NULLIFIERS_MAX = 1024;
export const NULLIFIER_BYTES = G1_BYTES;
/** Device keys per revocation list: 256 × 33 B ≈ 8.4 KiB; each costs the SE one byte comparison, the decoder one point check. */
export const REVOCATION_DEVICES_MAX = 256;
/** A revoked device's key: its compressed P-256 attestation key (what the SE holds of itself). */
export const DEVICE_KEY_BYTES = 33;
/** Header fields take at most 86 bytes (keys, type tag, two u64, two list headers); each entry 2 + 48, each device 2 + 33. */
export const REVOCATION_LIST_BYTES_MAX = 128 + REVOCATION_NULLIFIERS_MAX * (NULLIFIER_BYTES + 2) + REVOCATION_DEVICES_MAX * (DEVICE_KEY_BYTES + 2);
const SIGNATURE_BYTES = 64;
const PUBLIC_KEY_BYTES = 33;
/** {body, sig}: map 1 + 'body' 5 + byte-string header ≤ 5 + 'sig' 4 + header 2 + signature 64 = 81. */
const ENVELOPE_OVERHEAD_BYTES = 96;
const U64_MAX = (1n << 64n) - 1n;

export const POLICY_TYPE = 'tally/policy';
export const REVOCATION_LIST_TYPE = 'tally/revocation-list';

export interface RevocationList {
  version: bigint;
  epoch: bigint;
  /** Compressed G1 nullifiers (48 bytes each), strictly ascending byte order. */
  nullifiers: Uint8Array[];
  /** Compressed P-256 attestation keys of revoked devices (33 bytes each); absent on encode = none; v1 decodes as none. */
  devices?: Uint8Array[];
}

export type PolicyCodecCode = 'LENGTH' | 'MALFORMED' | 'NOT_CANONICAL' | 'FIELD' | 'LIMITS' | 'POINT' | 'ORDER';
export class PolicyCodecError extends Error {
  constructor(
    readonly code: PolicyCodecCode,
    message: string,
  ) {
    super(message);
    this.name = 'PolicyCodecError';
  }
}

export type VerifyReason = 'MALFORMED' | 'SIGNATURE' | PolicyCodecCode;
export type Verified<T> = { ok: true; value: T } | { ok: false; reason: VerifyReason };

// ---------------------------------------------------------------------------------------------
// Strict canonical CBOR

const cbor = (v: unknown): Uint8Array => encode(v, rfc8949EncodeOptions);

function decodeCanonical(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.length > maxBytes) throw new PolicyCodecError('LENGTH', `${what}: expected at most ${maxBytes} bytes, got ${bytes.length}`);
  let value: unknown;
  try {
    value = decode(bytes, { strict: true, allowIndefinite: false, allowUndefined: false, allowNaN: false, allowInfinity: false, rejectDuplicateMapKeys: true, tags: [] });
  } catch (e) {
    throw new PolicyCodecError('MALFORMED', `${what}: not CBOR (${(e as Error).message})`);
  }
  const again = cbor(value);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    throw new PolicyCodecError('NOT_CANONICAL', `${what}: not in deterministic CBOR encoding`);
  }
  return value;
}

function mapWithKeys(v: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new PolicyCodecError('FIELD', `${what}: expected a map`);
  }
  const got = Object.keys(v).sort().join(',');
  const want = [...keys].sort().join(',');
  if (got !== want) throw new PolicyCodecError('FIELD', `${what}: expected keys [${want}], got [${got}]`);
  return v as Record<string, unknown>;
}

function uint(m: Record<string, unknown>, key: string, what: string, max = U64_MAX): bigint {
  const v = m[key];
  const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : null;
  if (b === null || b < 0n || b > max) throw new PolicyCodecError('FIELD', `${what}.${key}: expected an unsigned integer ≤ ${max}`);
  return b;
}

function header(m: Record<string, unknown>, type: string, versions: readonly number[] = [POLICY_FORMAT_VERSION]): number {
  if (m.type !== type) throw new PolicyCodecError('FIELD', `${type}: wrong type tag ${JSON.stringify(m.type)}`);
  const v = Number(uint(m, 'v', type, 255n));
  if (!versions.includes(v)) throw new PolicyCodecError('FIELD', `${type}.v: expected ${versions.join(' or ')}, got ${v}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Policy table

const LIMIT_KEYS = [
  'capMinor', 'holdingLimitMinor', 'paymentsPerEpoch', 'offlineSpendBeforeSyncMinor', 'epochMs', 'graceMs',
  'dailyOnlineLimitMinor', 'monthlyOnlineLimitMinor',
] as const;

export function encodePolicy(policy: PolicyTable): Uint8Array {
  const tiers = TIERS.map((t) => {
    const l = policy.tiers[t];
    return { tier: t, ...Object.fromEntries(LIMIT_KEYS.map((k) => [k, BigInt(l[k])])) };
  });
  return cbor({ type: POLICY_TYPE, v: POLICY_FORMAT_VERSION, version: policy.version, tiers });
}

/** Reason the limits do not relate as limits.ts requires, or null (a non-throwing checkPolicy). */
function limitsProblem(tier: number, l: TierLimits): string | null {
  const rangeMax = 1n << BigInt(RANGE_PROOF_BITS);
  if (l.capMinor >= rangeMax) return `tier ${tier}: cap ${l.capMinor} does not fit the ${RANGE_PROOF_BITS}-bit range proof`;
  if (l.paymentsPerEpoch > COUNTER_SET_SIZE_MAX) return `tier ${tier}: L ${l.paymentsPerEpoch} above the counter set's ${COUNTER_SET_SIZE_MAX}`;
  if (l.capMinor > l.holdingLimitMinor) return `tier ${tier}: cap ${l.capMinor} above holding limit ${l.holdingLimitMinor}`;
  if (l.epochMs === 0n) return `tier ${tier}: epoch length is zero`;
  return null;
}

export function decodePolicy(bytes: Uint8Array): PolicyTable {
  const m = mapWithKeys(decodeCanonical(bytes, POLICY_BYTES_MAX, POLICY_TYPE), ['type', 'v', 'version', 'tiers'], POLICY_TYPE);
  header(m, POLICY_TYPE);
  const list = m.tiers;
  if (!Array.isArray(list) || list.length !== TIERS.length) {
    throw new PolicyCodecError('FIELD', `${POLICY_TYPE}.tiers: expected ${TIERS.length} tiers`);
  }
  const tiers = {} as Record<number, TierLimits>;
  list.forEach((entry: unknown, i: number) => {
    const what = `${POLICY_TYPE}.tiers[${i}]`;
    const t = mapWithKeys(entry, ['tier', ...LIMIT_KEYS], what);
    if (uint(t, 'tier', what, 255n) !== BigInt(TIERS[i]!)) throw new PolicyCodecError('FIELD', `${what}.tier: expected ${TIERS[i]}`);
    const limits: TierLimits = {
      capMinor: uint(t, 'capMinor', what),
      holdingLimitMinor: uint(t, 'holdingLimitMinor', what),
      paymentsPerEpoch: Number(uint(t, 'paymentsPerEpoch', what, 0xffff_ffffn)),
      offlineSpendBeforeSyncMinor: uint(t, 'offlineSpendBeforeSyncMinor', what),
      epochMs: uint(t, 'epochMs', what),
      graceMs: uint(t, 'graceMs', what),
      dailyOnlineLimitMinor: uint(t, 'dailyOnlineLimitMinor', what),
      monthlyOnlineLimitMinor: uint(t, 'monthlyOnlineLimitMinor', what),
    };
    const problem = limitsProblem(TIERS[i]!, limits);
    if (problem) throw new PolicyCodecError('LIMITS', `${POLICY_TYPE}: ${problem}`);
    tiers[TIERS[i]!] = limits;
  });
  return { version: uint(m, 'version', POLICY_TYPE), tiers: tiers as PolicyTable['tiers'] };
}

// ---------------------------------------------------------------------------------------------
// Revocation list

const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
};

export function encodeRevocationList(list: RevocationList): Uint8Array {
  const nullifiers = [...list.nullifiers].sort(compareBytes);
  const devices = [...(list.devices ?? [])].sort(compareBytes);
  return cbor({ type: REVOCATION_LIST_TYPE, v: REVOCATION_LIST_FORMAT_VERSION, version: list.version, epoch: list.epoch, nullifiers, devices });
}

/** Entries of exactly `bytes` bytes, at most `max`, in strictly ascending byte order; `point` checks each. */
function sortedEntries(raw: unknown, a: { what: string; max: number; bytes: number; point: (b: Uint8Array) => string | null }): Uint8Array[] {
  if (!Array.isArray(raw) || raw.length > a.max) throw new PolicyCodecError('FIELD', `${a.what}: expected at most ${a.max} entries`);
  const entries = raw.map((n: unknown, i: number) => {
    if (!(n instanceof Uint8Array) || n.length !== a.bytes) throw new PolicyCodecError('FIELD', `${a.what}[${i}]: expected ${a.bytes} bytes`);
    return n;
  });
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1]!, entries[i]!) >= 0) {
      throw new PolicyCodecError('ORDER', `${a.what}[${i}]: not strictly ascending (duplicate or unsorted)`);
    }
  }
  for (const [i, n] of entries.entries()) {
    const problem = a.point(n);
    if (problem !== null) throw new PolicyCodecError('POINT', `${a.what}[${i}]: ${problem}`);
  }
  return entries;
}

function g1Problem(n: Uint8Array): string | null {
  try {
    G1Point.fromBytes(n);
    return null;
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    return e.message;
  }
}

function p256Problem(key: Uint8Array): string | null {
  try {
    p256.Point.fromBytes(key).assertValidity();
    return null;
  } catch {
    return `not a compressed P-256 point (prefix 0x${(key[0] ?? 0).toString(16).padStart(2, '0')})`;
  }
}

export function decodeRevocationList(bytes: Uint8Array): RevocationList {
  const what = REVOCATION_LIST_TYPE;
  const value = decodeCanonical(bytes, REVOCATION_LIST_BYTES_MAX, what);
  const v1Keys = ['type', 'v', 'version', 'epoch', 'nullifiers'];
  const hasDevices = typeof value === 'object' && value !== null && 'devices' in value;
  const m = mapWithKeys(value, hasDevices ? [...v1Keys, 'devices'] : v1Keys, what);
  const v = header(m, what, [POLICY_FORMAT_VERSION, REVOCATION_LIST_FORMAT_VERSION]);
  if ((v === REVOCATION_LIST_FORMAT_VERSION) !== hasDevices) {
    throw new PolicyCodecError('FIELD', `${what}: a v${v} list ${hasDevices ? 'has no' : 'needs a'} devices section`);
  }
  const nullifiers = sortedEntries(m.nullifiers, { what: `${what}.nullifiers`, max: REVOCATION_NULLIFIERS_MAX, bytes: NULLIFIER_BYTES, point: g1Problem });
  const devices = hasDevices
    ? sortedEntries(m.devices, { what: `${what}.devices`, max: REVOCATION_DEVICES_MAX, bytes: DEVICE_KEY_BYTES, point: p256Problem })
    : [];
  return { version: uint(m, 'version', what), epoch: uint(m, 'epoch', what), nullifiers, devices };
}

// ---------------------------------------------------------------------------------------------
// CB signatures: envelope {body, sig}, ECDSA P-256 over the body bytes (verified with lowS: false)

/** A body in the CB's signed envelope (the policy table, the revocation list, the AML/CFT rules). */
export function signCbEnvelope(body: Uint8Array, cbSecretKey: Uint8Array): Uint8Array {
  return cbor({ body, sig: p256.sign(body, cbSecretKey) });
}

/**
 * The body of a CB-signed envelope of at most `maxBody` bytes, decoded by `decodeBody`, or why not:
 * MALFORMED envelope, SIGNATURE, or the code `bodyError` names for what decodeBody threw (anything
 * it names no code for is rethrown). Never throws on bad bytes.
 */
export function verifyCbEnvelope<T, C extends string>(
  signed: Uint8Array, cbPublicKey: Uint8Array, maxBody: number, decodeBody: (b: Uint8Array) => T, bodyError: (e: unknown) => C | undefined,
): { ok: true; value: T } | { ok: false; reason: 'MALFORMED' | 'SIGNATURE' | C } {
  let body: Uint8Array;
  let sig: Uint8Array;
  try {
    const m = mapWithKeys(decodeCanonical(signed, maxBody + ENVELOPE_OVERHEAD_BYTES, 'signed envelope'), ['body', 'sig'], 'signed envelope');
    if (!(m.body instanceof Uint8Array) || !(m.sig instanceof Uint8Array) || m.sig.length !== SIGNATURE_BYTES) {
      return { ok: false, reason: 'MALFORMED' };
    }
    [body, sig] = [m.body, m.sig];
  } catch (e) {
    if (e instanceof PolicyCodecError) return { ok: false, reason: 'MALFORMED' };
    throw e;
  }
  if (cbPublicKey.length !== PUBLIC_KEY_BYTES || !verifyP256Signature(sig, body, cbPublicKey)) return { ok: false, reason: 'SIGNATURE' };
  try {
    return { ok: true, value: decodeBody(body) };
  } catch (e) {
    const code = bodyError(e);
    if (code !== undefined) return { ok: false, reason: code };
    throw e;
  }
}

const sign = signCbEnvelope;
const policyError = (e: unknown) => (e instanceof PolicyCodecError ? e.code : undefined);
const verify = <T>(signed: Uint8Array, cbPublicKey: Uint8Array, maxBody: number, decodeBody: (b: Uint8Array) => T): Verified<T> =>
  verifyCbEnvelope(signed, cbPublicKey, maxBody, decodeBody, policyError);

export const signPolicy = (policy: PolicyTable, cbSecretKey: Uint8Array): Uint8Array => sign(encodePolicy(policy), cbSecretKey);
export const verifyPolicy = (signed: Uint8Array, cbPublicKey: Uint8Array): Verified<PolicyTable> =>
  verify(signed, cbPublicKey, POLICY_BYTES_MAX, decodePolicy);
export const signRevocationList = (list: RevocationList, cbSecretKey: Uint8Array): Uint8Array =>
  sign(encodeRevocationList(list), cbSecretKey);
export const verifyRevocationList = (signed: Uint8Array, cbPublicKey: Uint8Array): Verified<RevocationList> =>
  verify(signed, cbPublicKey, REVOCATION_LIST_BYTES_MAX, decodeRevocationList);
/** Largest signed envelopes, for transport limits (APDU command table). */
export const SIGNED_POLICY_BYTES_MAX = POLICY_BYTES_MAX + ENVELOPE_OVERHEAD_BYTES;
export const SIGNED_REVOCATION_LIST_BYTES_MAX = REVOCATION_LIST_BYTES_MAX + ENVELOPE_OVERHEAD_BYTES;
