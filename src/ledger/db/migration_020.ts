// Migration 020: running totals of each FI's moves into and out of offline circulation at the CB
// (book/circulation_totals.ts), so the CB's aggregate rules read one row per move instead of the
// FI's whole journal. The totals are backfilled from the journal here, in the migration's own
// transaction, so an upgraded CB reads exactly the figures the journal gives; from then on post()
// keeps them in the transaction of each leg. Every node database carries the table; only the CB's
// has FI reserves, so an FI's stays empty. The kinds are written out, not taken from
// CIRCULATION_KINDS: a migration is history and must not change when that list does. The indexes
// bound the rules' windowed reads: issuances and redemptions by (kind, created_ms), each joined to
// its entry on the FI's reserve by (account_id, transaction_id) — the journal's account index
// widened by one column, so it still serves every read by account and costs no extra write, but a
// lookup of one transaction's entry on one account no longer walks that account's whole history —
// and incidents naming an FI by (fi_id, created_ms) and (uploader_fi_id, created_ms). Rebuilding
// the account index reads the journal once, at the upgrade.

import { CIRCULATION_TOTAL_MAX_MINOR } from '../limits.ts';
import type { Migration } from './migrations.ts';

export const CIRCULATION_TOTALS_MIGRATION: Migration = {
  version: 20,
  name: '020_cb_fi_circulation_totals',
  sql: `
CREATE TABLE cb_fi_circulation_totals (
  fi_id TEXT PRIMARY KEY,
  funded_minor BIGINT NOT NULL CHECK (funded_minor >= 0 AND funded_minor <= ${CIRCULATION_TOTAL_MAX_MINOR}),
  returned_minor BIGINT NOT NULL CHECK (returned_minor >= 0 AND returned_minor <= ${CIRCULATION_TOTAL_MAX_MINOR})
);
INSERT INTO cb_fi_circulation_totals (fi_id, funded_minor, returned_minor)
SELECT a.owner,
  CAST(SUM(CASE WHEN e.amount_minor < 0 THEN -e.amount_minor ELSE 0 END) AS BIGINT),
  CAST(SUM(CASE WHEN e.amount_minor > 0 THEN e.amount_minor ELSE 0 END) AS BIGINT)
FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id JOIN accounts a ON a.id = e.account_id
WHERE a.kind = 'fi_reserve' AND t.kind IN ('cb.fundCirculation', 'cb.defundCirculation', 'cb.reclaim')
GROUP BY a.owner;
DROP INDEX journal_entries_account;
CREATE INDEX journal_entries_account ON journal_entries (account_id, transaction_id);
CREATE INDEX journal_transactions_kind_created ON journal_transactions (kind, created_ms);
CREATE INDEX incidents_fi_created ON incidents (fi_id, created_ms);
CREATE INDEX incidents_uploader_created ON incidents (uploader_fi_id, created_ms);
`,
};
