// Migration 016: watchlist screening and compliance cases (AML/CFT, docs/compliance.md).
// watchlist_entries: the FI's imported list (src/compliance/watchlist_parse.ts), one row per
// entry, aliases as a JSON list; expires_ms is the end of the entry's expiry day (UTC), and an
// entry at or past it never matches. compliance_cases groups alerts of one customer
// (compliance_case_alerts: an alert belongs to at most one case) with operators' notes
// (compliance_case_notes, append-only); every change is also an entry of the chained
// compliance_log (migration 013); log_seq is that entry's sequence number, the order rows are
// read in (clock readings can tie).

import type { Migration } from './migrations.ts';

export const WATCHLIST_MIGRATION: Migration = {
  version: 16,
  name: '016_watchlist_cases',
  sql: `
CREATE TABLE watchlist_entries (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  aliases_json TEXT NOT NULL,
  date_of_birth TEXT,
  country TEXT,
  risk_level TEXT NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
  list_source TEXT NOT NULL,
  expiry_date TEXT NOT NULL,
  expires_ms BIGINT NOT NULL,
  import_id TEXT NOT NULL,
  imported_ms BIGINT NOT NULL,
  line_no BIGINT NOT NULL CHECK (line_no >= 1)
);
CREATE INDEX watchlist_entries_by_expiry ON watchlist_entries (expires_ms);
CREATE TABLE compliance_cases (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  opened_ms BIGINT NOT NULL,
  opened_by TEXT NOT NULL,
  log_seq BIGINT NOT NULL UNIQUE,
  closed_ms BIGINT,
  close_reason TEXT,
  CHECK ((status = 'closed') = (close_reason IS NOT NULL))
);
CREATE INDEX compliance_cases_by_customer ON compliance_cases (customer_id, status);
CREATE TABLE compliance_case_alerts (
  case_id TEXT NOT NULL REFERENCES compliance_cases (id),
  alert_id TEXT NOT NULL UNIQUE REFERENCES compliance_alerts (id),
  added_ms BIGINT NOT NULL,
  log_seq BIGINT NOT NULL UNIQUE,
  PRIMARY KEY (case_id, alert_id)
);
CREATE TABLE compliance_case_notes (
  id TEXT PRIMARY KEY,
  case_id TEXT NOT NULL REFERENCES compliance_cases (id),
  at_ms BIGINT NOT NULL,
  author TEXT NOT NULL,
  text TEXT NOT NULL,
  log_seq BIGINT NOT NULL UNIQUE
);
CREATE INDEX compliance_case_notes_by_case ON compliance_case_notes (case_id, log_seq);
`,
};
