// The settlement window of an offline payment (issue 9, reclaim): the time after which a payment
// its payee never settled may be reclaimed by its payer. One function, so the payer SE (which shows
// when a kept payment becomes reclaimable), the FI (which refuses an early claim) and the tests
// agree on the same instant.
//
// The policy's words for its parts: a payment made under a credential of epoch e of the payer's
// tier can be accepted until that credential's validity ends, `(e + 1)·epochMs + graceMs` (the
// payee SE checks the payer's epoch is live, src/se/payment_peer.ts epochLive). After that no payee
// can take it; a payee that took it must then upload it within the sync deadline. The policy has no
// field of that name, so it is derived from the renewal rule (src/ledger/fi/renewal_gate.ts): a payee
// holds credentials for at most its current and next epoch and gets another only after a sync, so
// a payee that keeps operating syncs within two of its epochs and a grace after receiving. The
// deadline is the longest such span over the table's tiers (the payee may be of any tier).

import { assert } from '../crypto/assert.ts';
import { TIERS, limitsFor, type PolicyTable } from './limits.ts';

/** Renewal epochs a payee may hold without syncing: the current and the next (RENEWAL_EPOCHS_AHEAD + 1). */
const EPOCHS_HELD_WITHOUT_SYNC = 2n;

/** The sync deadline: how long after the last moment a payment could be received its payee has to upload it. */
export function syncDeadlineMs(policy: PolicyTable): bigint {
  let longest = 0n;
  for (const tier of TIERS) {
    const l = limitsFor(policy, tier);
    const span = EPOCHS_HELD_WITHOUT_SYNC * l.epochMs + l.graceMs;
    if (span > longest) longest = span;
  }
  assert(longest > 0n, 'syncDeadlineMs: a policy has at least one tier with a positive epoch');
  return longest;
}

/**
 * The end of the settlement window of a payment made under a credential of `epoch` of `payerTier`:
 * the credential's end (epoch end + grace) plus the sync deadline. A reclaim is allowed at or after it.
 */
export function settlementWindowEndMs(policy: PolicyTable, payerTier: number, epoch: bigint): bigint {
  assert(epoch >= 0n, 'settlementWindowEndMs: epochs are non-negative');
  const l = limitsFor(policy, payerTier);
  const credentialEndMs = (epoch + 1n) * l.epochMs + l.graceMs;
  const end = credentialEndMs + syncDeadlineMs(policy);
  assert(end > credentialEndMs, 'settlementWindowEndMs: the window outlasts the credential');
  return end;
}
