// The CB's AML/CFT rule set (issue 12): a versioned list of rules, each a kind (what it measures),
// a mode (hard: refuse; soft: refuse unless an operator overrides; monitor: alert only), a
// severity and the thresholds its kind uses, in deterministic CBOR inside a P-256 signed envelope
// {body, sig} like the policy table (src/policy/policy_codec.ts).
//
// Why this shape: every rule carries the same four numbers (limitMinor, count, windowMs,
// bandPercent) so the codec is one flat map per rule; a kind declares which of them it uses and
// the decoder requires the others to be zero, so a field a kind ignores cannot silently carry a
// meaning a newer CB intended. Unknown kinds, modes, severities or keys are refused with a
// RulesCodecError code; verifyRules returns a reason and never throws on bad input.

import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { signCbEnvelope, verifyCbEnvelope } from '../policy/policy_codec.ts';

export const RULES_FORMAT_VERSION = 1;
export const RULES_TYPE = 'tally/rules';
/** Rules per set: evaluation is linear in it (each rule one pass over the customer's history). */
export const RULES_MAX = 64;
/** One rule's largest encoding: 8 keys (≤ 12 bytes each), a 64-byte id, the longest kind, 4 u64 values. */
const RULE_BYTES_MAX = 200;
/** A rule set's body: RULES_MAX rules at their largest, plus the header (≤ 64 bytes). */
export const RULES_BYTES_MAX = 16_384;
if (RULES_MAX * RULE_BYTES_MAX + 64 > RULES_BYTES_MAX) throw new Error('RULES_BYTES_MAX must hold RULES_MAX rules at their largest');
const U64_MAX = (1n << 64n) - 1n;
const RULE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const RULE_KINDS = [
  'online.per_transaction', 'online.daily', 'online.monthly', 'holding.total', 'funding.rapid_cycles', 'structuring', 'sync.burst',
  'receiving.total',
  'offline.edge',
  'device.new_activity',
  'velocity.devices',
  'watchlist.match',
  // Evaluated by the CB on its aggregates per FI (aggregate.ts), never by an FI.
  'fi.net_issuance',
  'fi.in_flight_share',
  'fi.incident_burst',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const RULE_MODES = ['hard', 'soft', 'monitor'] as const;
export type RuleMode = (typeof RULE_MODES)[number];
export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Rule {
  id: string;
  kind: RuleKind;
  mode: RuleMode;
  severity: Severity;
  /** An amount threshold in minor units (a limit, or the cap structuring stays under); 0 if unused. */
  limitMinor: bigint;
  /** A count threshold (cycles, structured amounts, receipts per sync); watchlist.match: the lowest risk level that hits (1 low, 2 medium, 3 high); 0 if unused. */
  count: bigint;
  /** A rolling window in milliseconds; 0 if unused. */
  windowMs: bigint;
  /**
   * A band in percent: structuring's amounts this far below limitMinor; offline.edge's nearness to
   * L or the offline-spend limit; fi.in_flight_share's share of all value in flight;
   * watchlist.match: the lowest name-match score that hits; 0 if unused.
   */
  bandPercent: bigint;
}

export interface RuleSet {
  version: bigint;
  rules: Rule[];
}

type Param = 'limitMinor' | 'count' | 'windowMs' | 'bandPercent';
const PARAMS: readonly Param[] = ['limitMinor', 'count', 'windowMs', 'bandPercent'];

/** Which thresholds each kind uses (all must be > 0); the others must be 0. */
export const KIND_PARAMS: Readonly<Record<RuleKind, readonly Param[]>> = {
  'online.per_transaction': ['limitMinor'],
  'online.daily': ['limitMinor'],
  'online.monthly': ['limitMinor', 'windowMs'],
  'holding.total': ['limitMinor'],
  'funding.rapid_cycles': ['count', 'windowMs'],
  structuring: ['limitMinor', 'count', 'windowMs', 'bandPercent'],
  'sync.burst': ['count'],
  'receiving.total': ['limitMinor', 'windowMs'],
  'offline.edge': ['bandPercent'],
  'device.new_activity': ['limitMinor', 'windowMs'],
  'velocity.devices': ['limitMinor', 'count', 'windowMs'],
  'fi.net_issuance': ['limitMinor', 'windowMs'],
  'fi.in_flight_share': ['limitMinor', 'bandPercent'],
  'fi.incident_burst': ['count', 'windowMs'],
  'watchlist.match': ['count', 'bandPercent'],
};

/** Watchlist risk levels, lowest first; a watchlist.match rule's `count` is the 1-based rank of the lowest that hits. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

const units = (n: bigint): bigint => n * 100n;
const DAY_MS = 86_400_000n;

/**
 * The rule set an FI runs when it was given none. Hard limits sit far above any one customer's
 * ordinary use (they refuse); the pattern rules only alert until the CB signs stricter ones.
 */
export const DEFAULT_RULES: RuleSet = {
  version: 1n,
  rules: [
    { id: 'online-tx-max', kind: 'online.per_transaction', mode: 'hard', severity: 'high', limitMinor: units(100_000n), count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'online-daily-max', kind: 'online.daily', mode: 'hard', severity: 'high', limitMinor: units(200_000n), count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'online-monthly-watch', kind: 'online.monthly', mode: 'monitor', severity: 'medium', limitMinor: units(1_000_000n), count: 0n, windowMs: 30n * DAY_MS, bandPercent: 0n },
    { id: 'holding-watch', kind: 'holding.total', mode: 'monitor', severity: 'medium', limitMinor: units(100_000n), count: 0n, windowMs: 0n, bandPercent: 0n },
    { id: 'rapid-cycles', kind: 'funding.rapid_cycles', mode: 'monitor', severity: 'medium', limitMinor: 0n, count: 5n, windowMs: DAY_MS, bandPercent: 0n },
    { id: 'structuring-under-tx-max', kind: 'structuring', mode: 'monitor', severity: 'high', limitMinor: units(100_000n), count: 3n, windowMs: 7n * DAY_MS, bandPercent: 10n },
    { id: 'sync-burst', kind: 'sync.burst', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 64n, windowMs: 0n, bandPercent: 0n },
    { id: 'receiving-watch', kind: 'receiving.total', mode: 'monitor', severity: 'medium', limitMinor: units(50_000n), count: 0n, windowMs: 30n * DAY_MS, bandPercent: 0n },
    { id: 'offline-edge', kind: 'offline.edge', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 10n },
    { id: 'new-device-activity', kind: 'device.new_activity', mode: 'monitor', severity: 'medium', limitMinor: units(1_000n), count: 0n, windowMs: 7n * DAY_MS, bandPercent: 0n },
    { id: 'device-velocity', kind: 'velocity.devices', mode: 'monitor', severity: 'medium', limitMinor: units(10_000n), count: 4n, windowMs: DAY_MS, bandPercent: 0n },
    { id: 'fi-net-issuance', kind: 'fi.net_issuance', mode: 'monitor', severity: 'medium', limitMinor: units(100_000_000n), count: 0n, windowMs: DAY_MS, bandPercent: 0n },
    { id: 'fi-in-flight-share', kind: 'fi.in_flight_share', mode: 'monitor', severity: 'low', limitMinor: units(10_000_000n), count: 0n, windowMs: 0n, bandPercent: 80n },
    { id: 'fi-incident-burst', kind: 'fi.incident_burst', mode: 'monitor', severity: 'high', limitMinor: 0n, count: 10n, windowMs: DAY_MS, bandPercent: 0n },
    // A name scoring 85 or more against an entry of any risk level needs an operator's override
    // (docs/compliance.md says why 85).
    { id: 'watchlist-match', kind: 'watchlist.match', mode: 'soft', severity: 'high', limitMinor: 0n, count: 1n, windowMs: 0n, bandPercent: 85n },
  ],
};

export type RulesCodecCode = 'LENGTH' | 'MALFORMED' | 'NOT_CANONICAL' | 'FIELD' | 'KIND' | 'PARAMS' | 'DUPLICATE';
export class RulesCodecError extends Error {
  constructor(
    readonly code: RulesCodecCode,
    message: string,
  ) {
    super(message);
    this.name = 'RulesCodecError';
  }
}

export type RulesVerifyReason = 'SIGNATURE' | RulesCodecCode;
export type VerifiedRules = { ok: true; value: RuleSet } | { ok: false; reason: RulesVerifyReason };

const cbor = (v: unknown): Uint8Array => encode(v, rfc8949EncodeOptions);

function decodeCanonical(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.length > maxBytes) throw new RulesCodecError('LENGTH', `${what}: expected at most ${maxBytes} bytes, got ${bytes.length}`);
  let value: unknown;
  try {
    value = decode(bytes, { strict: true, allowIndefinite: false, allowUndefined: false, allowNaN: false, allowInfinity: false, rejectDuplicateMapKeys: true, tags: [] });
  } catch (e) {
    throw new RulesCodecError('MALFORMED', `${what}: not CBOR (${(e as Error).message})`);
  }
  const again = cbor(value);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) throw new RulesCodecError('NOT_CANONICAL', `${what}: not in deterministic CBOR encoding`);
  return value;
}

function mapWithKeys(v: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new RulesCodecError('FIELD', `${what}: expected a map`);
  const got = Object.keys(v).sort().join(',');
  const want = [...keys].sort().join(',');
  if (got !== want) throw new RulesCodecError('FIELD', `${what}: expected keys [${want}], got [${got}]`);
  return v as Record<string, unknown>;
}

function uint(m: Record<string, unknown>, key: string, what: string, max = U64_MAX): bigint {
  const v = m[key];
  const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : null;
  if (b === null || b < 0n || b > max) throw new RulesCodecError('FIELD', `${what}.${key}: expected an unsigned integer ≤ ${max}`);
  return b;
}

function oneOf<T extends string>(m: Record<string, unknown>, key: string, allowed: readonly T[], what: string, code: RulesCodecCode): T {
  const v = m[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RulesCodecError(code, `${what}.${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Why a rule's thresholds do not fit its kind, or null. */
export function ruleProblem(r: Rule): string | null {
  if (!RULE_ID.test(r.id)) return `rule id ${JSON.stringify(r.id)} is not 1–64 of [a-z0-9._-]`;
  const used = KIND_PARAMS[r.kind];
  for (const p of PARAMS) {
    if (used.includes(p) && r[p] === 0n) return `rule ${r.id} (${r.kind}): ${p} must be above 0`;
    if (!used.includes(p) && r[p] !== 0n) return `rule ${r.id} (${r.kind}) does not use ${p}: it must be 0, got ${r[p]}`;
  }
  if (r.bandPercent >= 100n) return `rule ${r.id}: bandPercent ${r.bandPercent} must be below 100`;
  // The CB can refuse only before a move, on facts it has then: the issuance it is asked for. A
  // share of the value in flight and a count of incidents exist only after the move that makes
  // them (a funding, a sync), so those kinds can alert and nothing more.
  if ((r.kind === 'fi.in_flight_share' || r.kind === 'fi.incident_burst') && r.mode !== 'monitor') {
    return `rule ${r.id} (${r.kind}) must be monitor, not ${r.mode}: what it measures exists only after the move, so the CB can alert on it but not refuse`;
  }
  if (r.kind === 'watchlist.match' && r.count > BigInt(RISK_LEVELS.length)) return `rule ${r.id} (watchlist.match): count is a risk level 1..${RISK_LEVELS.length}, got ${r.count}`;
  return null;
}

export function encodeRules(set: RuleSet): Uint8Array {
  const rules = set.rules.map((r) => ({ id: r.id, kind: r.kind, mode: r.mode, severity: r.severity, limitMinor: r.limitMinor, count: r.count, windowMs: r.windowMs, bandPercent: r.bandPercent }));
  return cbor({ type: RULES_TYPE, v: RULES_FORMAT_VERSION, version: set.version, rules });
}

function decodeRule(entry: unknown, what: string): Rule {
  const m = mapWithKeys(entry, ['id', 'kind', 'mode', 'severity', ...PARAMS], what);
  if (typeof m.id !== 'string') throw new RulesCodecError('FIELD', `${what}.id: expected a string`);
  const rule: Rule = {
    id: m.id,
    kind: oneOf(m, 'kind', RULE_KINDS, what, 'KIND'),
    mode: oneOf(m, 'mode', RULE_MODES, what, 'FIELD'),
    severity: oneOf(m, 'severity', SEVERITIES, what, 'FIELD'),
    limitMinor: uint(m, 'limitMinor', what),
    count: uint(m, 'count', what, 0xffff_ffffn),
    windowMs: uint(m, 'windowMs', what),
    bandPercent: uint(m, 'bandPercent', what, 255n),
  };
  const problem = ruleProblem(rule);
  if (problem) throw new RulesCodecError('PARAMS', `${what}: ${problem}`);
  return rule;
}

export function decodeRules(bytes: Uint8Array): RuleSet {
  const m = mapWithKeys(decodeCanonical(bytes, RULES_BYTES_MAX, RULES_TYPE), ['type', 'v', 'version', 'rules'], RULES_TYPE);
  if (m.type !== RULES_TYPE) throw new RulesCodecError('FIELD', `${RULES_TYPE}: wrong type tag ${JSON.stringify(m.type)}`);
  if (uint(m, 'v', RULES_TYPE, 255n) !== BigInt(RULES_FORMAT_VERSION)) throw new RulesCodecError('FIELD', `${RULES_TYPE}.v: expected ${RULES_FORMAT_VERSION}`);
  if (!Array.isArray(m.rules) || m.rules.length > RULES_MAX) throw new RulesCodecError('FIELD', `${RULES_TYPE}.rules: expected at most ${RULES_MAX} rules`);
  const rules = m.rules.map((r: unknown, i: number) => decodeRule(r, `${RULES_TYPE}.rules[${i}]`));
  const ids = new Set(rules.map((r) => r.id));
  if (ids.size !== rules.length) throw new RulesCodecError('DUPLICATE', `${RULES_TYPE}.rules: two rules share an id`);
  return { version: uint(m, 'version', RULES_TYPE), rules };
}

/** Checks an in-process rule set as the decoder would (an FI given an unsigned one calls this). */
export function checkRules(set: RuleSet): RuleSet {
  return decodeRules(encodeRules(set));
}

export function signRules(set: RuleSet, cbSecretKey: Uint8Array): Uint8Array {
  return signCbEnvelope(encodeRules(checkRules(set)), cbSecretKey);
}

/** The rule set inside a CB-signed envelope (the policy's, policy_codec.ts), or why not (never throws on bad bytes). */
export function verifyRules(signed: Uint8Array, cbPublicKey: Uint8Array): VerifiedRules {
  return verifyCbEnvelope(signed, cbPublicKey, RULES_BYTES_MAX, decodeRules, (e) => (e instanceof RulesCodecError ? e.code : undefined));
}
