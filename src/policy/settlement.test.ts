// The settlement window: epoch end + grace + the sync deadline, in one function (issue 9, reclaim).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, Tier, limitsFor, type PolicyTable } from './limits.ts';
import { settlementWindowEndMs, syncDeadlineMs } from './settlement.ts';

const DAY = 86_400_000n;

test('settlementWindowEndMs() is the credential end (epoch end + grace) plus the sync deadline', () => {
  // Default table: basic epochs are 7 days with 3 of grace; the longest renewal span is the full
  // tier's 2 × 14 + 3 = 31 days.
  assert.equal(syncDeadlineMs(DEFAULT_POLICY), 31n * DAY);
  const basic = limitsFor(DEFAULT_POLICY, Tier.basic);
  assert.equal(settlementWindowEndMs(DEFAULT_POLICY, Tier.basic, 10n), 11n * basic.epochMs + 3n * DAY + 31n * DAY);
  assert.equal(settlementWindowEndMs(DEFAULT_POLICY, Tier.basic, 11n) - settlementWindowEndMs(DEFAULT_POLICY, Tier.basic, 10n), basic.epochMs);
});

test('settlementWindowEndMs() moves with each part the policy names', () => {
  const base = settlementWindowEndMs(DEFAULT_POLICY, Tier.iot, 5n);
  const withTier = (tier: Tier, f: (l: PolicyTable['tiers'][Tier]) => Partial<PolicyTable['tiers'][Tier]>): PolicyTable => ({
    ...DEFAULT_POLICY, tiers: { ...DEFAULT_POLICY.tiers, [tier]: { ...DEFAULT_POLICY.tiers[tier], ...f(DEFAULT_POLICY.tiers[tier]) } },
  });
  // The payer's own grace moves its credential's end.
  assert.equal(settlementWindowEndMs(withTier(Tier.iot, () => ({ graceMs: 2n * DAY + 1n })), Tier.iot, 5n), base + 1n);
  // A payee tier with a longer renewal span lengthens the sync deadline for every payer.
  assert.equal(settlementWindowEndMs(withTier(Tier.merchant, () => ({ epochMs: 20n * DAY })), Tier.iot, 5n), base + (43n - 31n) * DAY);
});
