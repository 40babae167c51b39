// Migration 017: the remaining AML/CFT rule kinds (issue 12, src/compliance/evaluate.ts).
// compliance_events gains the device of a fund, defund or sync (device.new_activity and
// velocity.devices count per device) and a sync's spent-since-last-sync from its balance report
// (an aggregate the report states, DESIGN §3.3). compliance_alerts gains `holds`: a hard or soft
// hit at sync or defunding (after the fact: the value already left the SE) holds the customer's
// loads and credential renewals until the alert is resolved or overridden. cb_compliance_alerts:
// the CB's alerts on per-FI aggregates (cb.fi_* rules), deduplicated like the FI's per rule, FI
// and UTC day.

import type { Migration } from './migrations.ts';

export const RULE_KINDS_MIGRATION: Migration = {
  version: 17,
  name: '017_rule_kinds',
  sql: `
ALTER TABLE compliance_events ADD COLUMN device_id TEXT;
ALTER TABLE compliance_events ADD COLUMN spent_minor BIGINT NOT NULL DEFAULT 0 CHECK (spent_minor >= 0);
ALTER TABLE compliance_alerts ADD COLUMN holds BIGINT NOT NULL DEFAULT 0 CHECK (holds IN (0, 1));
CREATE TABLE cb_compliance_alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  rule_mode TEXT NOT NULL CHECK (rule_mode IN ('hard', 'soft', 'monitor')),
  fi_id TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  dedup_key TEXT NOT NULL UNIQUE,
  detail TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  hit_count BIGINT NOT NULL CHECK (hit_count >= 1),
  status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
  resolution_reason TEXT,
  CHECK ((status = 'resolved') = (resolution_reason IS NOT NULL))
);
CREATE INDEX cb_compliance_alerts_by_fi ON cb_compliance_alerts (fi_id, status);
`,
};
