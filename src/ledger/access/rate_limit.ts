// Per-caller budgets for the expensive routes (gate.ts): audits walk a whole book, syncs verify
// proofs, issuance runs blind signatures. Each (class, caller) pair has a token bucket: `burst`
// calls at once, refilled at `perSecond`; an empty bucket answers 429 RATE_LIMITED naming the wait.
// Buckets live in the node's memory (a restart refills them) and idle ones are dropped.

import { LedgerError, LedgerErrorCode } from '../errors.ts';

export type RateClass = 'audit' | 'sync' | 'issuance';

export interface Budget {
  burst: number;
  perSecond: number;
}

export type RateLimits = Record<RateClass, Budget>;

/** Generous for an honest caller (a device syncs a few times a day), tight for a flood. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  audit: { burst: 10, perSecond: 1 },
  sync: { burst: 20, perSecond: 2 },
  issuance: { burst: 20, perSecond: 2 },
};

const BUCKETS_MAX = 100_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly limits: RateLimits;
  private readonly buckets = new Map<string, Bucket>();
  constructor(limits: Partial<RateLimits> = {}, private readonly nowMs: () => number = Date.now) {
    this.limits = { ...DEFAULT_RATE_LIMITS, ...limits };
    for (const [k, b] of Object.entries(this.limits)) {
      if (!(b.burst >= 1 && b.perSecond > 0)) throw new Error(`rate limit ${k}: burst must be ≥ 1 and perSecond > 0`);
    }
  }

  /** Spends one call of `key`'s budget for `cls`, or throws RATE_LIMITED. */
  take(cls: RateClass, key: string): void {
    const budget = this.limits[cls];
    const id = `${cls}|${key}`;
    const now = this.nowMs();
    const b = this.buckets.get(id) ?? { tokens: budget.burst, atMs: now };
    b.tokens = Math.min(budget.burst, b.tokens + ((now - b.atMs) / 1000) * budget.perSecond);
    b.atMs = now;
    if (b.tokens < 1) {
      const waitMs = Math.ceil(((1 - b.tokens) / budget.perSecond) * 1000);
      this.buckets.set(id, b);
      throw new LedgerError(LedgerErrorCode.rateLimited, `Too many ${cls} calls: retry in ${waitMs} ms`);
    }
    b.tokens -= 1;
    this.buckets.delete(id);
    this.buckets.set(id, b); // most recently used last
    if (this.buckets.size > BUCKETS_MAX) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
