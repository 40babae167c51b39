// Pure evaluation of one proposed event against the rule set and the customer's recent history
// (both passed in: the FI reads them from its tables, tests build them). No clock, no storage.
//
// Windows (docs/compliance.md): online.daily sums the UTC calendar day of the event (it resets
// at 00:00 UTC, as a customer reads a daily limit); online.monthly, funding.rapid_cycles and
// structuring use a rolling window of the rule's windowMs ending at the event (no edge to game
// at the turn of a month). "Online" moves are funding, defunding, deposits and withdrawals; the
// Σ received of a sync batch is offline value: it counts for sync.burst, receiving.total,
// offline.edge, device.new_activity and velocity.devices, never for the online limits.
//
// Sync and defunding happen after the fact: the value left (or entered) the SE before the FI saw
// it, so refusing the sync or the unload record would strand value and not undo anything. There a
// hard or soft hit gives the decision 'hold': the event is recorded, its alert opened, and the
// customer gets no new loads or credentials until an operator resolves (hard) or overrides
// (soft) the alert (src/ledger/fi/compliance.ts checkHolds).

import type { Rule, RuleMode, RuleSet, Severity } from './rules.ts';
import { riskRank, type WatchlistMatch } from './watchlist_match.ts';
import { describeSecondary } from './watchlist_secondary.ts';

/** 'register' is KYC (a customer's registration): only watchlist.match looks at it, and it is never stored as history. */
export const EVENT_KINDS = ['fund', 'defund', 'deposit', 'withdraw', 'sync', 'register'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
const ONLINE: ReadonlySet<EventKind> = new Set(['fund', 'defund', 'deposit', 'withdraw']);
/** Events the FI learns of after the value moved: a hit holds the customer instead of refusing. */
export const AFTER_THE_FACT: ReadonlySet<EventKind> = new Set(['sync', 'defund']);
/** Events of one device (they carry its id): what new-device and velocity rules count. */
const DEVICE_EVENTS: ReadonlySet<EventKind> = new Set(['fund', 'defund', 'sync']);
export const DAY_MS = 86_400_000;
/** Where the customer's name is screened against the watchlist: KYC and every online move (not sync: no name changes there). */
const WATCHLIST_SCREENED: ReadonlySet<EventKind> = new Set(['register', 'fund', 'defund', 'deposit', 'withdraw']);

export interface PastEvent {
  kind: EventKind;
  amountMinor: bigint;
  atMs: number;
  /** The device of a fund, defund or sync (hex id). */
  deviceId?: string;
  /** A sync's spent-since-last-sync as the balance report states it (an aggregate, DESIGN §3.3). */
  spentMinor?: bigint;
}

export interface ProposedEvent extends PastEvent {
  customerId: string;
  /** Receipts in the sync batch (sync events only). */
  receipts?: number;
  /** Sync only, from the balance report: spending counters used this epoch, and the SE's new balance. */
  paymentCounter?: bigint;
  deviceBalanceMinor?: bigint;
  /** Sync only, from the policy of the device's tier: `L` and the offline-spend-before-sync limit. */
  paymentsPerEpoch?: bigint;
  offlineSpendLimitMinor?: bigint;
}

export interface DeviceFacts {
  deviceId: string;
  createdMs: number;
  reportedBalanceMinor: bigint;
}

export interface CustomerContext {
  /** The customer's earlier events, any order; events after the proposed one are ignored. */
  history: readonly PastEvent[];
  /** Σ of the customer's account balances and its devices' last reported balances, before the event. */
  holdingMinor: bigint;
  /** Soft rules an operator has overridden for this event. */
  overrides?: ReadonlySet<string>;
  /** The customer's devices (all of them, at every FI account of this customer). */
  devices?: readonly DeviceFacts[];
  /** The customer's name, date of birth and country against the FI's watchlist entries in force (watchlist_secondary.ts), best first. */
  watchlist?: readonly WatchlistMatch[];
}

export interface RuleHit {
  ruleId: string;
  mode: RuleMode;
  severity: Severity;
  detail: string;
}

export type Decision = 'allow' | 'refuse' | 'override-needed' | 'hold';
export interface Evaluation {
  decision: Decision;
  hits: RuleHit[];
}

const sum = (events: readonly PastEvent[]): bigint => events.reduce((s, e) => s + e.amountMinor, 0n);
/** Value a device event moved: funded, defunded, or received plus spent offline (a sync). */
const activity = (events: readonly PastEvent[]): bigint => events.reduce((s, e) => s + e.amountMinor + (e.spentMinor ?? 0n), 0n);
/** n ≥ band% of the way to limit, i.e. n·100 ≥ limit·(100 − band). */
const nearEdge = (n: bigint, limit: bigint, band: bigint): boolean => limit > 0n && n * 100n >= limit * (100n - band);
const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);

function inWindow(history: readonly PastEvent[], e: PastEvent, windowMs: bigint): PastEvent[] {
  const from = e.atMs - Number(windowMs);
  return history.filter((h) => h.atMs > from && h.atMs <= e.atMs);
}

/** The hit's detail when `rule` fires on `e`, or null. */
function check(rule: Rule, e: ProposedEvent, ctx: CustomerContext): string | null {
  if (e.kind === 'register' && rule.kind !== 'watchlist.match') return null;
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
      if (e.kind === 'withdraw') return null;
      let total = ctx.holdingMinor + (e.kind === 'deposit' ? e.amountMinor : 0n);
      if (e.kind === 'sync' && e.deviceBalanceMinor !== undefined) {
        const was = ctx.devices?.find((d) => d.deviceId === e.deviceId)?.reportedBalanceMinor ?? 0n;
        total += e.deviceBalanceMinor - was;
      }
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
    case 'receiving.total': {
      if (e.kind !== 'sync' && e.kind !== 'deposit') return null;
      const total = sum(inWindow(past, e, rule.windowMs).filter((h) => h.kind === 'sync' || h.kind === 'deposit')) + e.amountMinor;
      return total > rule.limitMinor ? `received ${total} (Σ per sync batch and deposits, all devices and accounts) in ${rule.windowMs} ms is above the limit ${rule.limitMinor}` : null;
    }
    case 'offline.edge': {
      if (e.kind !== 'sync') return null;
      const edges: string[] = [];
      if (e.paymentCounter !== undefined && e.paymentsPerEpoch !== undefined && nearEdge(e.paymentCounter, e.paymentsPerEpoch, rule.bandPercent)) {
        edges.push(`${e.paymentCounter} of L = ${e.paymentsPerEpoch} spending counters used`);
      }
      if (e.spentMinor !== undefined && e.offlineSpendLimitMinor !== undefined && nearEdge(e.spentMinor, e.offlineSpendLimitMinor, rule.bandPercent)) {
        edges.push(`${e.spentMinor} spent offline since the last sync of the ${e.offlineSpendLimitMinor} allowed`);
      }
      return edges.length > 0 ? `${edges.join('; ')} (within ${rule.bandPercent} % of the edge)` : null;
    }
    case 'device.new_activity': {
      if (!DEVICE_EVENTS.has(e.kind) || e.deviceId === undefined) return null;
      const device = ctx.devices?.find((d) => d.deviceId === e.deviceId);
      if (device === undefined || e.atMs - device.createdMs >= Number(rule.windowMs)) return null;
      const total = activity([...inWindow(past, e, rule.windowMs).filter((h) => h.deviceId === e.deviceId), e]);
      return total > rule.limitMinor ? `device ${e.deviceId} enrolled ${e.atMs - device.createdMs} ms ago moved ${total}, above ${rule.limitMinor}` : null;
    }
    case 'velocity.devices': {
      if (!DEVICE_EVENTS.has(e.kind) || e.deviceId === undefined) return null;
      const w = [...inWindow(past, e, rule.windowMs).filter((h) => DEVICE_EVENTS.has(h.kind) && h.deviceId !== undefined), e];
      const devices = new Set(w.map((h) => h.deviceId)).size;
      const total = activity(w);
      if (BigInt(devices) >= rule.count) return `${devices} devices active in ${rule.windowMs} ms (threshold ${rule.count})`;
      return devices >= 2 && total > rule.limitMinor ? `${devices} devices moved ${total} in ${rule.windowMs} ms, above ${rule.limitMinor}` : null;
    }
    // The CB's rules on its aggregates per FI (aggregate.ts): no customer event triggers them.
    case 'fi.net_issuance':
    case 'fi.in_flight_share':
    case 'fi.incident_burst':
      return null;
    case 'watchlist.match': {
      if (!WATCHLIST_SCREENED.has(e.kind)) return null;
      const m = (ctx.watchlist ?? []).find((w) => BigInt(w.score) >= rule.bandPercent && BigInt(riskRank(w.riskLevel)) >= rule.count);
      return m === undefined ? null
        : `name matches watchlist entry ${m.entryId} ${JSON.stringify(m.entryName)} (as ${JSON.stringify(m.matched)}; list ${m.listSource}, risk ${m.riskLevel}) with score ${m.score} (threshold ${rule.bandPercent}; ${describeSecondary(m)})`;
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
  const blocking = hits.some((h) => h.mode === 'hard') ? 'refuse' : hits.some((h) => h.mode === 'soft' && !overridden.has(h.ruleId)) ? 'override-needed' : 'allow';
  const decision: Decision = blocking !== 'allow' && AFTER_THE_FACT.has(event.kind) ? 'hold' : blocking;
  return { decision, hits };
}
