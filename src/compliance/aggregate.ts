// Pure evaluation of the CB's rules on its aggregates per FI (DESIGN §3.3: the CB sees aggregate
// flows per FI, never a payment graph nor single offline amounts). The CB reads the facts from
// its book and incident registry (src/ledger/cb/aggregate_rules.ts); tests build them.
//
// fi.net_issuance sums what the CB issued to the FI minus what the FI redeemed in a rolling
// window; fi.in_flight_share compares the value the FI's devices carry (funded into circulation
// minus defunded out of it) with all value in flight, once that total reaches the rule's floor
// (below it a lone FI holds 100 % of little); fi.incident_burst counts double-spend incidents
// that name the FI (its customer identified as the double spender, or its device the uploader of
// a payment another device had uploaded first) in a rolling window.
// These rules only raise alerts at the CB: the aggregate is known after the move that made it.

import type { Rule, RuleKind, RuleSet } from './rules.ts';
import type { RuleHit } from './evaluate.ts';

export const AGGREGATE_KINDS: ReadonlySet<RuleKind> = new Set<RuleKind>(['fi.net_issuance', 'fi.in_flight_share', 'fi.incident_burst']);

export interface FiFacts {
  fiId: string;
  /** Issuance to the FI (+) and its redemptions (−), any order; entries outside a window are ignored. */
  issuance: readonly { amountMinor: bigint; atMs: number }[];
  /** When each incident naming the FI was recorded. */
  incidentsMs: readonly number[];
  /** Value funded into SEs by the FI minus value defunded to it (may be negative: its devices received more). */
  inFlightMinor: bigint;
  /** All value in flight at the CB (its circulation account). */
  totalInFlightMinor: bigint;
}

const within = (atMs: number, nowMs: number, windowMs: bigint): boolean => atMs > nowMs - Number(windowMs) && atMs <= nowMs;

function check(rule: Rule, f: FiFacts, nowMs: number): string | null {
  switch (rule.kind) {
    case 'fi.net_issuance': {
      const net = f.issuance.filter((e) => within(e.atMs, nowMs, rule.windowMs)).reduce((s, e) => s + e.amountMinor, 0n);
      return net > rule.limitMinor ? `FI ${f.fiId}: net issuance ${net} in ${rule.windowMs} ms is above the limit ${rule.limitMinor}` : null;
    }
    case 'fi.in_flight_share': {
      if (f.totalInFlightMinor < rule.limitMinor || f.inFlightMinor <= 0n) return null;
      const above = f.inFlightMinor * 100n > f.totalInFlightMinor * rule.bandPercent;
      return above ? `FI ${f.fiId}: ${f.inFlightMinor} of ${f.totalInFlightMinor} in flight is above ${rule.bandPercent} %` : null;
    }
    case 'fi.incident_burst': {
      const n = f.incidentsMs.filter((t) => within(t, nowMs, rule.windowMs)).length;
      return BigInt(n) >= rule.count ? `FI ${f.fiId}: ${n} double-spend incidents in ${rule.windowMs} ms (threshold ${rule.count})` : null;
    }
    default:
      return null;
  }
}

/** Every aggregate rule of the set that fires on the FI's facts at `nowMs`. */
export function evaluateFi(rules: RuleSet, facts: FiFacts, nowMs: number): RuleHit[] {
  const hits: RuleHit[] = [];
  for (const rule of rules.rules) {
    if (!AGGREGATE_KINDS.has(rule.kind)) continue;
    const detail = check(rule, facts, nowMs);
    if (detail !== null) hits.push({ ruleId: rule.id, mode: rule.mode, severity: rule.severity, detail });
  }
  return hits;
}

/** How far back the aggregate rules look (their longest window); 0 when the set has none. */
export function aggregateLookbackMs(rules: RuleSet): number {
  return rules.rules.filter((r) => AGGREGATE_KINDS.has(r.kind)).reduce((m, r) => Math.max(m, Number(r.windowMs)), 0);
}
