// Pure evaluation of one proposed event against the rule set and the customer's recent history
// (both passed in: the FI reads them from its tables, tests build them). No clock, no storage.
//
// Windows (docs/compliance.md): online.daily sums the UTC calendar day of the event (it resets
// at 00:00 UTC, as a customer reads a daily limit); online.monthly, funding.rapid_cycles and
// structuring use a rolling window of the rule's windowMs ending at the event (no edge to game
// at the turn of a month). "Online" moves are funding, defunding, deposits and withdrawals; the
// Σ received of a sync batch is offline value and counts only for sync.burst.

import type { Rule, RuleMode, RuleSet, Severity } from './rules.ts';

export const EVENT_KINDS = ['fund', 'defund', 'deposit', 'withdraw', 'sync'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
const ONLINE: ReadonlySet<EventKind> = new Set(['fund', 'defund', 'deposit', 'withdraw']);
export const DAY_MS = 86_400_000;

export interface PastEvent {
  kind: EventKind;
  amountMinor: bigint;
  atMs: number;
}

export interface ProposedEvent extends PastEvent {
  customerId: string;
  /** Receipts in the sync batch (sync events only). */
  receipts?: number;
}

export interface CustomerContext {
  /** The customer's earlier events, any order; events after the proposed one are ignored. */
  history: readonly PastEvent[];
  /** Σ of the customer's account balances and its devices' last reported balances, before the event. */
  holdingMinor: bigint;
  /** Soft rules an operator has overridden for this event. */
  overrides?: ReadonlySet<string>;
}

export interface RuleHit {
  ruleId: string;
  mode: RuleMode;
  severity: Severity;
  detail: string;
}

export type Decision = 'allow' | 'refuse' | 'override-needed';
export interface Evaluation {
  decision: Decision;
  hits: RuleHit[];
}

const sum = (events: readonly PastEvent[]): bigint => events.reduce((s, e) => s + e.amountMinor, 0n);
const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);

function inWindow(history: readonly PastEvent[], e: PastEvent, windowMs: bigint): PastEvent[] {
  const from = e.atMs - Number(windowMs);
  return history.filter((h) => h.atMs > from && h.atMs <= e.atMs);
}

/** The hit's detail when `rule` fires on `e`, or null. */
function check(rule: Rule, e: ProposedEvent, ctx: CustomerContext): string | null {
  const online = ONLINE.has(e.kind);
  const past = ctx.history.filter((h) => h.atMs <= e.atMs);
  switch (rule.kind) {
    case 'online.per_transaction':
      return online && e.amountMinor > rule.limitMinor ? `${e.kind} of ${e.amountMinor} is above the per-transaction limit ${rule.limitMinor}` : null;
    case 'online.daily': {
      if (!online) return null;
      const total = sum(past.filter((h) => ONLINE.has(h.kind) && utcDay(h.atMs) === utcDay(e.atMs))) + e.amountMinor;
      return total > rule.limitMinor ? `online total ${total} for UTC day ${utcDay(e.atMs)} is above the daily limit ${rule.limitMinor}` : null;
    }
    case 'online.monthly': {
      if (!online) return null;
      const total = sum(inWindow(past, e, rule.windowMs).filter((h) => ONLINE.has(h.kind))) + e.amountMinor;
      return total > rule.limitMinor ? `online total ${total} in ${rule.windowMs} ms is above the limit ${rule.limitMinor}` : null;
    }
    case 'holding.total': {
      if (e.kind !== 'fund' && e.kind !== 'deposit') return null;
      const total = ctx.holdingMinor + (e.kind === 'deposit' ? e.amountMinor : 0n);
      return total > rule.limitMinor ? `holding ${total} across accounts and devices is above the limit ${rule.limitMinor}` : null;
    }
    case 'funding.rapid_cycles': {
      if (e.kind !== 'fund' && e.kind !== 'defund') return null;
      const w = [...inWindow(past, e, rule.windowMs), e];
      const cycles = Math.min(w.filter((h) => h.kind === 'fund').length, w.filter((h) => h.kind === 'defund').length);
      return BigInt(cycles) >= rule.count ? `${cycles} fund/defund cycles in ${rule.windowMs} ms (threshold ${rule.count})` : null;
    }
    case 'structuring': {
      if (!online) return null;
      const floor = rule.limitMinor - (rule.limitMinor * rule.bandPercent) / 100n;
      const near = (h: PastEvent) => ONLINE.has(h.kind) && h.amountMinor >= floor && h.amountMinor < rule.limitMinor;
      if (!near(e)) return null;
      const n = inWindow(past, e, rule.windowMs).filter(near).length + 1;
      return BigInt(n) >= rule.count ? `${n} amounts in [${floor}, ${rule.limitMinor}) within ${rule.windowMs} ms (threshold ${rule.count})` : null;
    }
    case 'sync.burst': {
      const receipts = e.receipts ?? 0;
      return e.kind === 'sync' && BigInt(receipts) >= rule.count ? `${receipts} receipts in one sync batch (threshold ${rule.count})` : null;
    }
  }
}

/** Every rule that fires on the event, and what the FI must do about them. */
export function evaluate(rules: RuleSet, event: ProposedEvent, ctx: CustomerContext): Evaluation {
  const hits: RuleHit[] = [];
  for (const rule of rules.rules) {
    const detail = check(rule, event, ctx);
    if (detail !== null) hits.push({ ruleId: rule.id, mode: rule.mode, severity: rule.severity, detail });
  }
  const overridden = ctx.overrides ?? new Set<string>();
  const decision: Decision = hits.some((h) => h.mode === 'hard')
    ? 'refuse'
    : hits.some((h) => h.mode === 'soft' && !overridden.has(h.ruleId)) ? 'override-needed' : 'allow';
  return { decision, hits };
}
