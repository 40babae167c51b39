// Migration 013: AML/CFT compliance at the FI (issue 12, src/ledger/fi/compliance.ts).
// compliance_events: what the FI saw of a customer (funding, defunding, deposits, withdrawals, and
// per sync batch its Σ received and receipt count — never single offline amounts, DESIGN §3.3),
// read back as the history the rules' windows sum. compliance_alerts: one row per rule, customer
// and UTC day (dedup_key UNIQUE), a repeat bumps count and last_seen_ms; a soft rule's override
// is recorded on its alert and used once. compliance_log: append-only and hash-chained like the
// admin log (book/hash_chain.ts), with a head row naming the newest entry.

import type { Migration } from './migrations.ts';

export const COMPLIANCE_MIGRATION: Migration = {
  version: 13,
  name: '013_compliance',
  sql: `
CREATE TABLE compliance_events (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('fund', 'defund', 'deposit', 'withdraw', 'sync')),
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  receipts BIGINT NOT NULL DEFAULT 0 CHECK (receipts >= 0),
  at_ms BIGINT NOT NULL,
  reference TEXT NOT NULL
);
CREATE INDEX compliance_events_by_customer ON compliance_events (customer_id, at_ms);
CREATE TABLE compliance_alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  rule_mode TEXT NOT NULL CHECK (rule_mode IN ('hard', 'soft', 'monitor')),
  customer_id TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  dedup_key TEXT NOT NULL UNIQUE,
  detail TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  hit_count BIGINT NOT NULL CHECK (hit_count >= 1),
  status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'resolved')),
  assignee TEXT,
  resolution_reason TEXT,
  override_reason TEXT,
  override_used BIGINT NOT NULL DEFAULT 0 CHECK (override_used IN (0, 1)),
  CHECK ((status = 'resolved') = (resolution_reason IS NOT NULL))
);
CREATE INDEX compliance_alerts_by_customer ON compliance_alerts (customer_id, status);
CREATE TABLE compliance_log (
  seq BIGINT PRIMARY KEY CHECK (seq >= 1),
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
  entry_hash BYTEA NOT NULL CHECK (length(entry_hash) = 32)
);
CREATE TABLE compliance_log_head (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  entry_hash BYTEA NOT NULL CHECK (length(entry_hash) = 32)
);
`,
};
