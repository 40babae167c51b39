// Watchlist screening at KYC (a customer's registration, docs/compliance.md). The name, date of
// birth and country of the identity record are matched before the registration's idempotency key
// is taken, like a move's screen (compliance.ts): a hard watchlist.match hit refuses naming the
// rule, a soft one refuses until an operator overrides its alert, a monitor hit registers and
// alerts. A malformed date of birth or country was refused before (customers.ts checkKyc).
//
// Why an applicant id: a refused registration has no customer yet, so its alert is filed under
// `applicant:<idempotency key>`. The retry under the same key finds the override there, and the
// registration, in its own transaction, moves the applicant's alerts and cases to the new
// customer id (each move an `alert.link` entry of the chained log), so the customer's case shows
// what was found before the customer existed.

import { evaluate, type RuleHit } from '../../compliance/index.ts';
import { rowString, type Tx } from '../db/adapter.ts';
import { grantedOverrides, keyTaken, recordHit, recordScreened, refusal, type ComplianceDeps, type Screened } from './compliance.ts';
import { appendComplianceLog } from './compliance_log.ts';
import { identityOf, screenIdentity } from './watchlist.ts';

/** The customer id a registration's alerts carry until it registers. */
export const applicantId = (idempotencyKey: string): string => `applicant:${idempotencyKey}`;

/** Screens a registration's identity: throws RULE_REFUSED / RULE_OVERRIDE_REQUIRED (alerts written), or returns what to record; null when not screened. */
export async function screenRegistration(d: ComplianceDeps, idempotencyKey: string, identity: unknown): Promise<Screened | null> {
  if (await keyTaken(d.db, idempotencyKey)) return null;
  const watchlist = await screenIdentity(d.db, d.rules, identityOf(identity), d.nowMs);
  const event = { kind: 'register' as const, customerId: applicantId(idempotencyKey), amountMinor: 0n, atMs: d.nowMs };
  const overrides = await grantedOverrides(d.db, event.customerId);
  const result = evaluate(d.rules, event, { history: [], holdingMinor: 0n, overrides, watchlist });
  if (result.decision === 'allow') return { event, hits: result.hits, overrides, decision: result.decision };
  const alertIds = await d.db.transaction(async (tx) => {
    const ids: string[] = [];
    for (const h of result.hits) ids.push(await recordHit(tx, d, event.customerId, h));
    return ids;
  });
  throw refusal(result, event, overrides, alertIds);
}

/** Inside the registration's transaction: the applicant's alerts and cases become the customer's, then its hits are recorded. */
export async function recordRegistration(tx: Tx, d: ComplianceDeps, s: Screened, customerId: string): Promise<RuleHit[]> {
  const applicant = s.event.customerId;
  const linked = await tx.query('SELECT id FROM compliance_alerts WHERE customer_id = $1 ORDER BY first_seen_ms, id', [applicant]);
  for (const r of linked) {
    await tx.run('UPDATE compliance_alerts SET customer_id = $1 WHERE id = $2', [customerId, rowString(r, 'id')]);
    await appendComplianceLog(tx, { atMs: d.nowMs, actor: 'fi', action: 'alert.link', alertId: rowString(r, 'id'), detail: { from: applicant, to: customerId } });
  }
  await tx.run('UPDATE compliance_cases SET customer_id = $1 WHERE customer_id = $2', [customerId, applicant]);
  await recordScreened(tx, d, { ...s, event: { ...s.event, customerId } }, `register ${customerId}`);
  return s.hits;
}
